package samples

import (
	"maps"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// policyPrefixes are where the policy fields (PolicySettings) are written:
// a policy field counts as shown when any one of these places uses it.
var policyPrefixes = []string{"spec.policies[].", "spec.policyDefaults.", "spec.overrides."}

// policyFields names the policy fields wherever they are written.
const policyFields = "policy field "

// fieldKey is how a field is named in coverage: "<Kind> <path>", or
// "policy field <path>" for a field of the policy settings.
func fieldKey(kind, path string) string {
	for _, p := range policyPrefixes {
		if rest, ok := strings.CutPrefix(path, p); ok {
			return policyFields + rest
		}
	}
	return kind + " " + path
}

// SpecFields lists the fields under spec of a kind's schema, as fieldKeys:
// every property, objects and lists included, a list's items written with
// [] (spec.policies[].consumption.resetPeriod). A property the schema does
// not describe further (a label selector's innards are Kubernetes', an
// int-or-string is one value) ends the walk.
func SpecFields(kind string, schema *apiextensionsv1.JSONSchemaProps) []string {
	spec, ok := schema.Properties["spec"]
	if !ok {
		return nil
	}
	out := map[string]bool{}
	walkSchema(kind, "spec", &spec, func(key string) { out[key] = true })
	return slices.Sorted(maps.Keys(out))
}

func walkSchema(kind, path string, s *apiextensionsv1.JSONSchemaProps, visit func(string)) {
	if s.Items != nil && s.Items.Schema != nil {
		walkSchema(kind, path+"[]", s.Items.Schema, visit)
		return
	}
	if isLabelSelector(s) {
		return
	}
	for name, child := range s.Properties {
		p := path + "." + name
		visit(fieldKey(kind, p))
		walkSchema(kind, p, &child, visit)
	}
}

// isLabelSelector says whether s is a metav1.LabelSelector: one field for
// coverage, whichever of its own fields a sample uses.
func isLabelSelector(s *apiextensionsv1.JSONSchemaProps) bool {
	_, labels := s.Properties["matchLabels"]
	_, exprs := s.Properties["matchExpressions"]
	return labels && exprs
}

// UsedFields lists the fields of schema that the spec of obj (a decoded
// object) sets, as SpecFields names them.
func UsedFields(kind string, schema *apiextensionsv1.JSONSchemaProps, obj map[string]any) []string {
	spec, ok := schema.Properties["spec"]
	if !ok {
		return nil
	}
	out := map[string]bool{}
	walkValue(kind, "spec", &spec, obj["spec"], func(key string) { out[key] = true })
	return slices.Sorted(maps.Keys(out))
}

func walkValue(kind, path string, s *apiextensionsv1.JSONSchemaProps, v any, visit func(string)) {
	if s.Items != nil && s.Items.Schema != nil {
		list, _ := v.([]any)
		for _, item := range list {
			walkValue(kind, path+"[]", s.Items.Schema, item, visit)
		}
		return
	}
	m, ok := v.(map[string]any)
	if !ok || isLabelSelector(s) {
		return
	}
	for name, child := range s.Properties {
		value, set := m[name]
		if !set {
			continue
		}
		p := path + "." + name
		visit(fieldKey(kind, p))
		walkValue(kind, p, &child, value, visit)
	}
}
