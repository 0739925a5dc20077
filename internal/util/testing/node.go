package testing

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// NodeWrapper builds a Node.
type NodeWrapper struct {
	corev1.Node
}

// MakeNode returns a Node with no status (no Ready condition, no nodeInfo).
func MakeNode(name string) *NodeWrapper {
	return &NodeWrapper{corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}}
}

// Obj returns the node.
func (w *NodeWrapper) Obj() *corev1.Node { return &w.Node }

// SystemUUID sets status.nodeInfo.systemUUID.
func (w *NodeWrapper) SystemUUID(id string) *NodeWrapper { w.Status.NodeInfo.SystemUUID = id; return w }

// MachineID sets status.nodeInfo.machineID.
func (w *NodeWrapper) MachineID(id string) *NodeWrapper { w.Status.NodeInfo.MachineID = id; return w }

// Ready sets the Ready condition to status, changed at since.
func (w *NodeWrapper) Ready(status corev1.ConditionStatus, since time.Time) *NodeWrapper {
	c := corev1.NodeCondition{Type: corev1.NodeReady, Status: status, Reason: "Test",
		LastHeartbeatTime: metav1.NewTime(since), LastTransitionTime: metav1.NewTime(since)}
	for i := range w.Status.Conditions {
		if w.Status.Conditions[i].Type == corev1.NodeReady {
			w.Status.Conditions[i] = c
			return w
		}
	}
	w.Status.Conditions = append(w.Status.Conditions, c)
	return w
}

// VirtualMachine labels the node licensingv1alpha1.VirtualMachineLabel=true.
func (w *NodeWrapper) VirtualMachine() *NodeWrapper {
	return w.Label(licensingv1alpha1.VirtualMachineLabel, "true")
}

// Label sets a label.
func (w *NodeWrapper) Label(k, v string) *NodeWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[k] = v
	return w
}

// ProviderID sets spec.providerID.
func (w *NodeWrapper) ProviderID(id string) *NodeWrapper { w.Spec.ProviderID = id; return w }

// entitlement is spec.entitlement, created with the fields its CEL rule requires.
func (w *LicenseWrapper) entitlement() *licensingv1alpha1.Entitlement {
	if w.Spec.Entitlement == nil {
		w.Spec.Entitlement = &licensingv1alpha1.Entitlement{Issuer: "other", EntitlementID: "ent-" + w.Name}
	}
	return w.Spec.Entitlement
}

// MachineFingerprints sets spec.entitlement.machineFingerprints.
func (w *LicenseWrapper) MachineFingerprints(f ...string) *LicenseWrapper {
	e := w.entitlement()
	e.MachineFingerprints = nil
	for _, s := range f {
		e.MachineFingerprints = append(e.MachineFingerprints, licensingv1alpha1.MachineFingerprint(s))
	}
	return w
}

// OfflineGracePeriod sets spec.entitlement.offlineGracePeriod.
func (w *LicenseWrapper) OfflineGracePeriod(d licensingv1alpha1.CalendarDuration) *LicenseWrapper {
	w.entitlement().OfflineGracePeriod = &d
	return w
}

// PreventVM sets spec.overrides.preventVM.
func (w *LicenseWrapper) PreventVM() *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.PreventVM = ptr.To(true)
	return w
}

// BoundAssigneeNode sets status.boundAssignee to the node.
func (w *AssignmentWrapper) BoundAssigneeNode(name string) *AssignmentWrapper {
	w.Status.BoundAssignee = &licensingv1alpha1.Assignee{Node: &licensingv1alpha1.NodeAssignee{Name: name}}
	return w
}

// Clone returns a copy of the builder, to build variants of one node.
func (w *NodeWrapper) Clone() *NodeWrapper { return &NodeWrapper{*w.DeepCopy()} }
