package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestWithoutVMNodes(t *testing.T) {
	notVM := NotOnVMRequirement
	zone := corev1.NodeSelectorRequirement{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}
	gpu := corev1.NodeSelectorRequirement{Key: "gpu", Operator: corev1.NodeSelectorOpExists}
	name := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}
	preferred := []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}}}
	required := func(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	podAff := &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "zone"}}}
	cases := map[string]struct {
		in, want *corev1.Affinity
	}{
		"no affinity at all: one term with the requirement": {
			in:   nil,
			want: required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{notVM}}),
		},
		"node affinity without required terms": {
			in:   &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}},
			want: required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{notVM}}),
		},
		"every existing term gets it, none is added": {
			in: required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{zone}},
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{gpu}}),
			want: required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{zone, notVM}},
				corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{gpu, notVM}}),
		},
		"a matchFields-only term keeps its fields and gets the expression": {
			in:   required(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{name}}),
			want: required(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{name}, MatchExpressions: []corev1.NodeSelectorRequirement{notVM}}),
		},
		"preferred node affinity and pod affinity are untouched": {
			in: &corev1.Affinity{PodAffinity: podAff, NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: preferred}},
			want: &corev1.Affinity{PodAffinity: podAff, NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: preferred,
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{notVM}}}},
			}},
		},
		"a term that has it already is left alone": {
			in:   required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{notVM, zone}}),
			want: required(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{notVM, zone}}),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := tc.in.DeepCopy()
			got := WithoutVMNodes(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WithoutVMNodes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.in); diff != "" {
				t.Errorf("the input was changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(got, WithoutVMNodes(got)); diff != "" {
				t.Errorf("a second application changed it (-once +twice):\n%s", diff)
			}
		})
	}
}
