package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// PodCreatePatch is the one place a Pod changes at CREATE: nothing when
// there is nothing to change, else the generated name, the user stamp and
// the preventVM affinity, on a copy.
func TestPodCreatePatch(t *testing.T) {
	sent := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-", Annotations: map[string]string{licensing.UserAnnotation: "forged@example.com"}}}
	if got := PodCreatePatch(sent, podMutation{}); got != nil {
		t.Errorf("nothing to change, patched %+v", got)
	}
	got := PodCreatePatch(sent, podMutation{Name: "job-abcde", Stamp: licensing.Stamp{Set: true, User: "ann@example.com"}, PreventVM: true})
	want := sent.DeepCopy()
	want.Name = "job-abcde"
	want.Annotations[licensing.UserAnnotation] = "ann@example.com"
	want.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: licensingv1alpha1.VirtualMachineLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}}}}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PodCreatePatch (-want +got):\n%s", diff)
	}
	if sent.Name != "" || sent.Annotations[licensing.UserAnnotation] != "forged@example.com" || sent.Spec.Affinity != nil {
		t.Errorf("the sent Pod was changed: %+v", sent)
	}
	removed := PodCreatePatch(sent, podMutation{Stamp: licensing.Stamp{Set: true}})
	if _, ok := removed.Annotations[licensing.UserAnnotation]; ok {
		t.Errorf("an empty stamp keeps the written user: %v", removed.Annotations)
	}
	if n := generateName("a-very-long-prefix-that-goes-on-and-on-and-on-beyond-the-limit-"); len(n) != 63 {
		t.Errorf("generated name %q has %d characters, want 63", n, len(n))
	}
}
