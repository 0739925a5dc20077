package samples

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// coverageSchema is a kind's schema as controller-gen writes it, cut down:
// scalars, a nested object, a list of objects holding policy fields, policy
// defaults, and a label selector.
const coverageSchema = `
type: object
properties:
  status:
    type: object
    properties:
      state: {type: string}
  spec:
    type: object
    properties:
      seats: {type: integer}
      pricing:
        type: object
        properties:
          listPrice: {x-kubernetes-int-or-string: true}
          currency: {type: string}
      tags:
        type: array
        items: {type: string}
      policies:
        type: array
        items:
          type: object
          properties:
            code: {type: string}
            trial: {type: boolean}
            consumption:
              type: object
              properties:
                resetPeriod: {type: string}
      policyDefaults:
        type: object
        properties:
          trial: {type: boolean}
          consumption:
            type: object
            properties:
              resetPeriod: {type: string}
      sharing:
        type: object
        properties:
          namespaceSelector:
            type: object
            properties:
              matchLabels: {type: object, additionalProperties: {type: string}}
              matchExpressions: {type: array, items: {type: object, properties: {key: {type: string}}}}
`

func testSchema(t *testing.T) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	s := &apiextensionsv1.JSONSchemaProps{}
	if err := yaml.Unmarshal([]byte(coverageSchema), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecFields(t *testing.T) {
	want := []string{
		"Kind spec.policies",
		"Kind spec.policyDefaults",
		"Kind spec.pricing",
		"Kind spec.pricing.currency",
		"Kind spec.pricing.listPrice",
		"Kind spec.seats",
		"Kind spec.sharing",
		"Kind spec.sharing.namespaceSelector",
		"Kind spec.tags",
		"policy field code",
		"policy field consumption",
		"policy field consumption.resetPeriod",
		"policy field trial",
	}
	if diff := cmp.Diff(want, SpecFields("Kind", testSchema(t))); diff != "" {
		t.Errorf("SpecFields (-want +got):\n%s", diff)
	}
}

func TestUsedFields(t *testing.T) {
	cases := []struct {
		name string
		obj  string
		want []string
	}{
		{name: "no spec", obj: `{status: {state: Active}}`, want: nil},
		{name: "scalars, a list of scalars and an int-or-string", obj: `{spec: {seats: 3, tags: [a], pricing: {listPrice: 100}}}`,
			want: []string{"Kind spec.pricing", "Kind spec.pricing.listPrice", "Kind spec.seats", "Kind spec.tags"}},
		{name: "a field of one policy counts for every place policy fields are written", obj: `
spec:
  policies:
  - {code: a}
  - {code: b, consumption: {resetPeriod: 1m}}
  policyDefaults: {trial: true}`,
			want: []string{"Kind spec.policies", "Kind spec.policyDefaults", "policy field code", "policy field consumption",
				"policy field consumption.resetPeriod", "policy field trial"}},
		{name: "a label selector is one field", obj: `{spec: {sharing: {namespaceSelector: {matchLabels: {team: a}}}}}`,
			want: []string{"Kind spec.sharing", "Kind spec.sharing.namespaceSelector"}},
		{name: "a field the schema does not have is not a field", obj: `{spec: {seatz: 3}}`, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.obj), &obj); err != nil {
				t.Fatal(err)
			}
			got := UsedFields("Kind", testSchema(t), obj)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("UsedFields (-want +got):\n%s", diff)
			}
		})
	}
}
