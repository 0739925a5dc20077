package licensing

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

func TestRequestedFeatures(t *testing.T) {
	cases := map[string]struct {
		ann  map[string]string
		want []string
	}{
		"none":                        {ann: nil, want: nil},
		"empty":                       {ann: map[string]string{FeaturesAnnotation: ""}, want: nil},
		"trimmed, sorted, no repeats": {ann: map[string]string{FeaturesAnnotation: " render, export,,render "}, want: []string{"export", "render"}},
	}
	for name, c := range cases {
		if diff := cmp.Diff(c.want, RequestedFeatures(c.ann)); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", name, diff)
		}
	}
}

func featureLicence(features ...licensingv1alpha1.PolicyFeature) *licensingv1alpha1.SoftwareLicense {
	l := utiltesting.MakeLicense("l", "team").Obj()
	l.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{Features: features}}
	return l
}

func TestMissingAndCountedFeatures(t *testing.T) {
	l := featureLicence(licensingv1alpha1.PolicyFeature{Code: "render"}, licensingv1alpha1.PolicyFeature{Code: "export", MaxConsumption: ptr.To[int64](3)})
	if diff := cmp.Diff([]string{"simulate"}, MissingFeatures(l, []string{"export", "render", "simulate"})); diff != "" {
		t.Errorf("MissingFeatures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"export"}, CountedFeatures(l, []string{"export", "render", "simulate"})); diff != "" {
		t.Errorf("CountedFeatures (-want +got):\n%s", diff)
	}
	why := featuresMismatch(l, []string{"simulate"})
	for _, part := range []string{"feature simulate", FeaturesAnnotation, "status.effectivePolicy.features", "grants only render, export"} {
		if !strings.Contains(why, part) {
			t.Errorf("featuresMismatch %q does not say %q", why, part)
		}
	}
	if why := featuresMismatch(featureLicence(), []string{"a", "b"}); !strings.Contains(why, "features a, b") || !strings.Contains(why, "grants no feature") {
		t.Errorf("featuresMismatch without features: %q", why)
	}
	if why := featuresMismatch(l, nil); why != "" {
		t.Errorf("a workload asking for nothing is refused: %q", why)
	}
}

func TestFreeToUseCostsNothing(t *testing.T) {
	p := utiltesting.MakeProduct("viewer").Pricing("120.00", "EUR", "1y").Obj()
	p.Spec.Pricing.FreeToUse = true
	l := utiltesting.MakeLicense("l", "team").Product("viewer").Seats(10).Obj()
	got, err := ComputeCost(l, p, SeatUsage{Used: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := &licensingv1alpha1.CostStatus{UnitPrice: "0.00", Total: "0.00", Currency: "EUR", Period: "1y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ComputeCost of a freeToUse product (-want +got):\n%s", diff)
	}
	if !FreeToUse(p) || FreeToUse(nil) || FreeToUse(utiltesting.MakeProduct("cad").Obj()) {
		t.Error("FreeToUse")
	}
}
