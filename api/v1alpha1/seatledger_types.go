package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SeatLedger is internal: the operator's record of the Pods that hold the
// Concurrent seats of one LicenseAssignment. It lives in the assignment's
// namespace, is owned by the assignment (garbage collection and namespace
// deletion remove it) and only the operator's ServiceAccount may write it (the
// ValidatingAdmissionPolicy of config/policy). No role this project ships, and
// none aggregated into admin, edit or view, grants access to it; it is not in
// the licensing category. The operator recounts it from live Pods: entries of
// Pods that are gone are dropped, live Pods missing from it are added back,
// and each repair is reported with a SeatLedgerRepaired event on the
// assignment.

// SeatLedgerEntry is one Pod that holds a seat.
type SeatLedgerEntry struct {
	// pod is the name of the Pod in the ledger's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`

	// uid of the Pod. It is known at admission, before the Pod is stored.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid"`

	// admitted is when the seat was taken (at admission, or when a recount
	// added a live Pod that was missing).
	// +required
	Admitted metav1.Time `json:"admitted"`
}

// SeatLedgerSpec lists the seat holders of one assignment.
type SeatLedgerSpec struct {
	// assignment is the name of the LicenseAssignment of this namespace the
	// ledger counts the seats of.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.assignment is immutable"
	Assignment string `json:"assignment"`

	// entries are the Pods holding a seat, one per Pod name. At most 10000:
	// etcd stores objects up to 1.5 MiB, about 10000 entries of Pods with
	// names of average length; an assignment whose Pods hold more seats needs
	// splitting into several assignments.
	// +optional
	// +listType=map
	// +listMapKey=pod
	// +kubebuilder:validation:MaxItems=10000
	Entries []SeatLedgerEntry `json:"entries,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Assignment",type=string,JSONPath=`.spec.assignment`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SeatLedger is the operator's internal record of the Pods holding the
// Concurrent seats of a LicenseAssignment. Only the operator writes it.
type SeatLedger struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the entries.
	// +required
	Spec SeatLedgerSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// SeatLedgerList contains a list of SeatLedger.
type SeatLedgerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeatLedger `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SeatLedger{}, &SeatLedgerList{})
}
