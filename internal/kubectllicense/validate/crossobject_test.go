package validate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
)

const (
	cadProduct = `apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseProduct
metadata:
  name: cad
spec:
  authorization: User
  defaultPolicy: named
  policies:
  - code: named
    type: Perpetual
    seatModel: NamedUser
  allowAssignmentsFrom:
    from: Selector
    namespaceSelector:
      matchLabels:
        licensing: "true"
`
	cadLicence = `apiVersion: licensing.license-operator.dev/v1alpha1
kind: SoftwareLicense
metadata:
  name: cad-2026
  namespace: eng
spec:
  productRef:
    name: cad
  seats: 5
  users:
  - email: ada@example.com
`
	engNamespace = `apiVersion: v1
kind: Namespace
metadata:
  name: eng
  labels:
    licensing: "true"
`
)

func crossCheck(t *testing.T, manifests ...string) *validate.Report {
	t.Helper()
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	docs := validate.SplitDocuments("repo.yaml", []byte(strings.Join(manifests, "---\n")))
	r := schemas.Validate(context.Background(), docs, validate.Options{})
	if len(r.Errors) > 0 {
		t.Fatalf("the schema step refused the test's manifests: %v", r.Errors)
	}
	return r
}

// findings is each cross-object finding as "object field: severity: message",
// cut to the length of the wanted one (the start of a message is enough to
// say which rule spoke).
func findings(r *validate.Report, want []string) []string {
	var out []string
	for i, f := range r.CrossObject {
		s := f.Object + " " + f.Field + ": " + f.Severity + ": " + f.Message
		if i < len(want) && len(s) > len(want[i]) {
			s = s[:len(want[i])]
		}
		out = append(out, s)
	}
	return out
}

func TestCrossObjectRules(t *testing.T) {
	cases := map[string]struct {
		manifests      []string
		wantFindings   []string
		wantNotChecked []string
	}{
		"a licence, its product and its namespace in the files": {
			manifests: []string{cadProduct, cadLicence, engNamespace},
		},
		"a policy the product does not have": {
			manifests: []string{cadProduct, engNamespace, strings.Replace(cadLicence, "  seats: 5\n", "  seats: 5\n  policyCode: floating\n", 1)},
			wantFindings: []string{
				`SoftwareLicense/eng/cad-2026 spec.policyCode: error: Not found: "floating (LicenseProduct cad has \"named\")"`,
			},
		},
		"a user-based product's licence without users": {
			manifests: []string{cadProduct, engNamespace, strings.Replace(cadLicence, "  users:\n  - email: ada@example.com\n", "", 1)},
			wantFindings: []string{
				`SoftwareLicense/eng/cad-2026 spec.users: error: Required value: LicenseProduct cad authorizes by User: a licen`,
			},
		},
		"a namespace the product does not accept": {
			manifests: []string{cadProduct, cadLicence, strings.Replace(engNamespace, `licensing: "true"`, `licensing: "false"`, 1)},
			wantFindings: []string{
				`SoftwareLicense/eng/cad-2026 spec.productRef: error: Forbidden: LicenseProduct cad does not accept licences and assi`,
			},
		},
		"the namespace's labels are not in the files": {
			manifests:      []string{cadProduct, cadLicence},
			wantNotChecked: []string{"spec.allowAssignmentsFrom of LicenseProduct cad for licences whose Namespace is not in the files"},
		},
		"a product that is not in the files": {
			manifests: []string{strings.Replace(cadProduct, "name: cad\n", "name: cam\n", 1), cadLicence},
			wantFindings: []string{
				`SoftwareLicense/eng/cad-2026 : warning: spec.productRef: LicenseProduct "cad" is not in the files; the`,
			},
		},
		"no product in the files at all": {
			manifests:      []string{cadLicence},
			wantNotChecked: []string{"SoftwareLicense spec.productRef, spec.policyCode and the product's rules: no LicenseProduct in the files"},
		},
		"an assignment whose assignee does not fit the seat model": {
			manifests: []string{cadProduct, cadLicence, engNamespace, `apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseAssignment
metadata:
  name: ci
  namespace: eng
spec:
  licenseRef:
    name: cad-2026
  assignee:
    serviceAccount:
      name: ci
`},
			wantFindings: []string{
				`LicenseAssignment/eng/ci spec.assignee: error: Invalid value: "": licence eng/cad-2026 has NamedUser seats: the assi`,
			},
		},
		"an assignment of a licence that is not in the files": {
			manifests: []string{cadLicence, `apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseAssignment
metadata:
  name: ada
  namespace: eng
spec:
  licenseRef:
    name: cad-2025
  assignee:
    user:
      email: ada@example.com
`},
			wantFindings: []string{
				`LicenseAssignment/eng/ada : warning: spec.licenseRef: SoftwareLicense/eng/cad-2025 is not in the files; th`,
			},
			wantNotChecked: []string{"SoftwareLicense spec.productRef, spec.policyCode and the product's rules: no LicenseProduct in the files"},
		},
		"an assignment with no licence in the files at all": {
			manifests: []string{`apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseAssignment
metadata:
  name: ada
spec:
  licenseRef:
    name: cad-2025
  assignee:
    user:
      email: ada@example.com
`},
			wantNotChecked: []string{"LicenseAssignment spec.licenseRef and the licence's sharing and seat model: no SoftwareLicense in the files"},
		},
		"an object defined twice": {
			manifests: []string{cadProduct, cadProduct},
			wantFindings: []string{
				`LicenseProduct/cad : error: defined twice: also in repo.yaml (document 1); applying both keeps`,
			},
		},
		"an image pattern that matches every Pod (a webhook rule on the object alone)": {
			manifests: []string{`apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseProduct
metadata:
  name: everything
spec:
  workloads:
    images: ["**"]
`},
			wantFindings: []string{
				`LicenseProduct/everything spec.workloads.images[0]: error: Invalid value: "**": a pattern of only '*' would make every `,
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := crossCheck(t, c.manifests...)
			if diff := cmp.Diff(c.wantFindings, findings(r, c.wantFindings)); diff != "" {
				t.Errorf("cross-object findings (-want +got):\n%s", diff)
			}
			want := c.wantNotChecked
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, r.NotChecked); diff != "" {
				t.Errorf("not checked (-want +got):\n%s", diff)
			}
		})
	}
}
