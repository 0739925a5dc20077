package validate_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/config/crd"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The duration syntax is checked by the CRDs' pattern on every calendar
// duration field; validate needs no check of its own as long as that
// pattern is the one licensing.ParseDuration parses. These tests hold that.

// durationPatterns walks a schema and collects the path of every string
// field whose pattern is a calendar duration's (it names the unit min).
func durationPatterns(path string, s *apiextensionsv1.JSONSchemaProps, out map[string]string) {
	if s.Pattern != "" && strings.Contains(s.Pattern, "min)") {
		out[path] = s.Pattern
	}
	if s.Items != nil && s.Items.Schema != nil {
		durationPatterns(path+"[]", s.Items.Schema, out)
	}
	for name, child := range s.Properties {
		durationPatterns(path+"."+name, &child, out)
	}
}

func TestEveryDurationFieldHasTheParsersPattern(t *testing.T) {
	files, err := fs.Glob(crd.Bases, "bases/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range files {
		data, err := fs.ReadFile(crd.Bases, f)
		if err != nil {
			t.Fatal(err)
		}
		def := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, def); err != nil {
			t.Fatal(err)
		}
		for _, v := range def.Spec.Versions {
			durationPatterns(def.Spec.Names.Kind, v.Schema.OpenAPIV3Schema, found)
		}
	}
	for _, want := range []string{
		"LicenseProduct.spec.pricing.period",
		"LicenseProduct.spec.policies[].validDuration",
		"LicenseProduct.spec.policyDefaults.consumption.resetPeriod",
		"SoftwareLicense.spec.entitlement.offlineGracePeriod",
		"SoftwareLicense.spec.overrides.expiringSoonWindow",
	} {
		if _, ok := found[want]; !ok {
			t.Errorf("%s has no calendar duration pattern", want)
		}
	}
	for path, p := range found {
		if p != licensing.DurationPattern {
			t.Errorf("%s: pattern %q, want licensing.DurationPattern %q", path, p, licensing.DurationPattern)
		}
	}
}

func TestValidateRefusesWhatParseDurationRefuses(t *testing.T) {
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"90d", "1y", "2m", "3w", "4h", "5min", "0d", "999999min",
		"1000000d", "90", "d", "1.5d", "1 d", "1Y", "1mo", "1yr", "-1d", "1d2h", "P1D", ""} {
		manifest := fmt.Sprintf(`apiVersion: licensing.license-operator.dev/v1alpha1
kind: SoftwareLicense
metadata:
  name: l
spec:
  overrides:
    gracePeriod: %q
`, s)
		r := schemas.Validate(context.Background(), validate.SplitDocuments("d.yaml", []byte(manifest)), validate.Options{})
		_, parseErr := licensing.ParseDuration(s)
		if accepted := len(r.Errors) == 0; accepted != (parseErr == nil) {
			t.Errorf("%q: validate accepts %v, ParseDuration error %v; %v", s, accepted, parseErr, r.Errors)
		}
	}
}
