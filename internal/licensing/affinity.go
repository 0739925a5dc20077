package licensing

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// NotOnVMRequirement keeps a Pod off the nodes labelled as virtual machines
// (VirtualMachineLabel=true, see IsVirtualMachineNode): nodes without the
// label, or with another value, qualify.
var NotOnVMRequirement = corev1.NodeSelectorRequirement{
	Key:      licensingv1alpha1.VirtualMachineLabel,
	Operator: corev1.NodeSelectorOpNotIn,
	Values:   []string{"true"},
}

// PreventsVM says whether the licence's effective policy has preventVM: its
// Pods must not run on virtual machines.
func PreventsVM(l *licensingv1alpha1.SoftwareLicense) bool {
	p := l.Status.EffectivePolicy
	return p != nil && p.PreventVM != nil && *p.PreventVM
}

// WithoutVMNodes returns a copy of affinity (nil is no affinity) whose
// required node affinity keeps the Pod off virtual-machine nodes:
// NotOnVMRequirement is added to every nodeSelectorTerm (the terms are ORed,
// so a term without it would still let the Pod onto a VM node), never as a
// term of its own; with no term, one term holding only it is added. A term
// that has it already is left alone, so applying it twice changes nothing.
// The preferred node affinity and the Pod (anti-)affinity are untouched.
func WithoutVMNodes(affinity *corev1.Affinity) *corev1.Affinity {
	out := affinity.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.NodeAffinity == nil {
		out.NodeAffinity = &corev1.NodeAffinity{}
	}
	req := out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if req == nil {
		req = &corev1.NodeSelector{}
		out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = req
	}
	if len(req.NodeSelectorTerms) == 0 {
		req.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range req.NodeSelectorTerms {
		t := &req.NodeSelectorTerms[i]
		if slices.ContainsFunc(t.MatchExpressions, isNotOnVM) {
			continue
		}
		t.MatchExpressions = append(t.MatchExpressions, *NotOnVMRequirement.DeepCopy())
	}
	return out
}

func isNotOnVM(r corev1.NodeSelectorRequirement) bool {
	return r.Key == NotOnVMRequirement.Key && r.Operator == NotOnVMRequirement.Operator && slices.Equal(r.Values, NotOnVMRequirement.Values)
}
