package validate_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/license-operator/license-operator/internal/kubectllicense/clitest"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
)

// run runs the command as a user would.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	return clitest.Run(t, validate.NewValidateCmd, stdin, args...)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const shortFormProduct = `apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseProduct
metadata:
  name: cad
spec:
  policies:
  - code: std
    features: [export, render]
`

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "products", "cad.yaml"), cadProduct)
	writeFile(t, filepath.Join(dir, "tenants", "eng", "namespace.yaml"), engNamespace)
	writeFile(t, filepath.Join(dir, "tenants", "eng", "licences", "cad-2026.yaml"), cadLicence)
	writeFile(t, filepath.Join(dir, "tenants", "eng", "kustomization.yaml"), "resources: [namespace.yaml]\n")
	writeFile(t, filepath.Join(dir, "README.md"), "not a manifest\n")

	t.Run("a clean repository passes", func(t *testing.T) {
		out, errOut, err := run(t, "", dir)
		if err != nil {
			t.Fatalf("error %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
		if out != "" {
			t.Errorf("stdout = %q, want nothing", out)
		}
		if !strings.Contains(errOut, "2 licensing object(s) checked, 1 other object(s) skipped, 0 refused") {
			t.Errorf("stderr = %q", errOut)
		}
	})

	bad := filepath.Join(dir, "tenants", "eng", "licences", "broken.json")
	writeFile(t, bad, `{"apiVersion":"licensing.license-operator.dev/v1alpha1","kind":"SoftwareLicense",
"metadata":{"name":"broken","namespace":"eng"},"spec":{"seats":-2,"policyCode":"floating","productRef":{"name":"cad"}}}`)

	t.Run("a refused object fails, one line per error", func(t *testing.T) {
		out, _, err := run(t, "", dir)
		if !errors.Is(err, validate.ErrRefused) {
			t.Fatalf("error %v, want ErrRefused", err)
		}
		want := bad + ":SoftwareLicense/eng/broken:spec.seats: Invalid value: -2: spec.seats in body should be greater than or equal to 0\n"
		if !strings.HasPrefix(out, want) {
			t.Errorf("stdout starts %q, want %q", out, want)
		}
		if !strings.Contains(out, "\nCross-object rules (the operator's admission webhooks, judged with the objects in the files):\n"+
			bad+`:SoftwareLicense/eng/broken:spec.policyCode: error: Not found: "floating`) {
			t.Errorf("stdout has no cross-object section naming the policy:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		out, _, err := run(t, "", "-o", "json", bad)
		if !errors.Is(err, validate.ErrRefused) {
			t.Fatalf("error %v, want ErrRefused", err)
		}
		var r validate.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Objects != 1 || r.Refused != 1 || len(r.Errors) != 1 || r.Errors[0].Field != "spec.seats" || r.Verdicts[0].Accepted {
			t.Errorf("report = %+v", r)
		}
	})

	t.Run("cross-object errors fail only with --strict", func(t *testing.T) {
		licence := strings.Replace(cadLicence, "  seats: 5\n", "  seats: 5\n  policyCode: floating\n", 1)
		if _, _, err := run(t, cadProduct+"---\n"+licence, "-"); err != nil {
			t.Errorf("without --strict: %v", err)
		}
		if _, _, err := run(t, cadProduct+"---\n"+licence, "--strict", "-"); !errors.Is(err, validate.ErrRefused) {
			t.Errorf("with --strict: %v, want ErrRefused", err)
		}
	})

	t.Run("the features short form is what the operator's webhook accepts", func(t *testing.T) {
		out, _, err := run(t, shortFormProduct, "-")
		if err != nil {
			t.Errorf("error %v\n%s", err, out)
		}
		if !strings.Contains(out, "warning: <stdin>:LicenseProduct/cad:spec.policies[0].features: a feature written as its code alone") {
			t.Errorf("stdout = %q", out)
		}
		out, _, err = run(t, shortFormProduct, "--without-webhooks", "-")
		if !errors.Is(err, validate.ErrRefused) || !strings.Contains(out, "spec.policies[0].features[0]: Invalid value: \"string\"") {
			t.Errorf("--without-webhooks: error %v, stdout %q", err, out)
		}
	})

	t.Run("a List is expanded", func(t *testing.T) {
		list := `{"apiVersion":"v1","kind":"List","items":[` +
			`{"apiVersion":"licensing.license-operator.dev/v1alpha1","kind":"LicenseProduct","metadata":{"name":"a"},"spec":{}},` +
			`{"apiVersion":"licensing.license-operator.dev/v1alpha1","kind":"LicenseProduct","metadata":{"name":"b"},"spec":{"authorization":"Token"}}]}`
		out, errOut, err := run(t, list, "-")
		if !errors.Is(err, validate.ErrRefused) || !strings.Contains(out, "<stdin>:LicenseProduct/b:spec.authorization: Unsupported value: \"Token\"") ||
			!strings.Contains(errOut, "2 licensing object(s) checked") {
			t.Errorf("error %v\nstdout %s\nstderr %s", err, out, errOut)
		}
	})

	t.Run("a path that does not exist", func(t *testing.T) {
		if _, _, err := run(t, "", filepath.Join(dir, "nope")); err == nil || errors.Is(err, validate.ErrRefused) {
			t.Errorf("error %v, want a read error", err)
		}
	})
}
