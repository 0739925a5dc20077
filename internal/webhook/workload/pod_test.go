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

// A Pod admitted for a product is labelled; one that waits in line gets the
// seat gate, next to its own gates; a seat gate the Pod was sent with is
// removed when it does not wait (the gate is the operator's to set).
func TestPodCreatePatchGateAndLabel(t *testing.T) {
	own := corev1.PodSchedulingGate{Name: "example.com/own"}
	seat := corev1.PodSchedulingGate{Name: licensingv1alpha1.SeatGate}
	sent := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{own}}}
	got := PodCreatePatch(sent, podMutation{Gated: true, Licensed: true})
	if diff := cmp.Diff([]corev1.PodSchedulingGate{own, seat}, got.Spec.SchedulingGates); diff != "" {
		t.Errorf("gates of a waiting Pod (-want +got):\n%s", diff)
	}
	if got.Labels[licensingv1alpha1.LicensedLabel] != "true" {
		t.Errorf("labels %v lack %s=true", got.Labels, licensingv1alpha1.LicensedLabel)
	}
	if len(sent.Spec.SchedulingGates) != 1 || sent.Labels != nil {
		t.Errorf("the sent Pod was changed: %+v", sent)
	}
	if again := PodCreatePatch(got, podMutation{Gated: true, Licensed: true}); again != nil {
		t.Errorf("a Pod already gated and labelled is patched again: %+v", again)
	}
	ungated := PodCreatePatch(got, podMutation{Licensed: true})
	if diff := cmp.Diff([]corev1.PodSchedulingGate{own}, ungated.Spec.SchedulingGates); diff != "" {
		t.Errorf("a Pod that holds its seat keeps a seat gate it was sent with (-want +got):\n%s", diff)
	}
	if plain := PodCreatePatch(&corev1.Pod{}, podMutation{}); plain != nil {
		t.Errorf("a Pod that needs no product is patched: %+v", plain)
	}
}
