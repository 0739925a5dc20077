package workload

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The kustomize patches carry the static form of the conditions the syncer
// writes; they must agree, or a restart would flap the configuration. Both
// configurations together scope every workload webhook, validating and
// stamping.
func TestScopePatchMatchesSyncer(t *testing.T) {
	read := func(name string, into any) {
		raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "webhook", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	read("scope_patch.yaml", vwc)
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	read("scope_mutating_patch.yaml", mwc)
	seen := 0
	check := func(name string, got []admissionregistrationv1.MatchCondition) {
		if _, ok := templatePaths[name]; !ok {
			return
		}
		seen++
		want := []admissionregistrationv1.MatchCondition{{Name: licensing.NotTheOperatorCondition, Expression: licensing.NotTheOperatorExpression(licensing.DefaultOperatorUsername)}}
		if name == PodUpdateWebhookName || name == StampPodUpdateWebhookName {
			want = append(want, ChangesWhatItRunsCondition)
		}
		want = append(want, admissionregistrationv1.MatchCondition{Name: MatchConditionName, Expression: MatchConditionExpression(name, "")})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("webhook %s: matchConditions (-want +got):\n%s", name, diff)
		}
	}
	for _, w := range vwc.Webhooks {
		check(w.Name, w.MatchConditions)
		if SetMatchConditions(&admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{w}}, "") {
			t.Errorf("webhook %s: the syncer would rewrite the shipped condition", w.Name)
		}
	}
	for _, w := range mwc.Webhooks {
		check(w.Name, w.MatchConditions)
		if SetMutatingMatchConditions(&admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{w}}, "") {
			t.Errorf("webhook %s: the syncer would rewrite the shipped condition", w.Name)
		}
	}
	if seen != len(templatePaths) {
		t.Errorf("the scope patches scope %d workload webhooks, want %d", seen, len(templatePaths))
	}
}

// The syncer keeps the stamp's scope that of the checks, and more: an image
// pattern added to a product sends its Pods to both, and whatever carries a
// user annotation reaches the stamp, licensed or not.
func TestSyncerScopesTheStamp(t *testing.T) {
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{
		{Name: PodWebhookName}, {Name: "someone-elses.example.com"},
	}}
	re := `^(?:r\.io/cad:.*)$`
	if !SetMutatingMatchConditions(mwc, re) {
		t.Fatal("no change")
	}
	want := MatchConditionExpression(PodUpdateWebhookName, re) + " || (has(object.metadata.annotations) && '" + licensing.UserAnnotation + "' in object.metadata.annotations)"
	if got := mwc.Webhooks[0].MatchConditions; len(got) != 1 || !sameTerms(got[0].Expression, want) {
		t.Errorf("stamp conditions %+v, want the terms of %s", got, want)
	}
	if len(mwc.Webhooks[1].MatchConditions) != 0 {
		t.Errorf("another webhook was changed: %+v", mwc.Webhooks[1])
	}
	if SetMutatingMatchConditions(mwc, re) {
		t.Error("a second sync changed it again")
	}
}

func TestImagesRegexp(t *testing.T) {
	if got := ImagesRegexp(nil); got != "" {
		t.Errorf("ImagesRegexp(nil) = %q", got)
	}
	p := utiltesting.MakeProduct("cad").Images("r.io/acme/cad:*", "*/cad-cli").Obj()
	want := `^(?:.*/cad-cli|r\.io/acme/cad:.*)$`
	if got := ImagesRegexp([]licensingv1alpha1.LicenseProduct{*p}); got != want {
		t.Errorf("ImagesRegexp = %q, want %q", got, want)
	}
	if got := MatchConditionExpression(PodWebhookName, want); got == MatchConditionExpression(PodWebhookName, "") {
		t.Errorf("the expression ignores images: %s", got)
	}
}

// sameTerms says whether two CEL disjunctions have the same terms, in any order.
func sameTerms(a, b string) bool {
	ta, tb := strings.Split(a, " || "), strings.Split(b, " || ")
	slices.Sort(ta)
	slices.Sort(tb)
	return slices.Equal(ta, tb)
}
