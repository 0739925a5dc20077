package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SeatLedger is internal: the operator's record of the Pods that hold the
// Concurrent seats of one LicenseAssignment, or (spec.license) of the uses a
// licence's Pods made in its current consumption period. It lives in the assignment's
// namespace, is owned by the assignment (garbage collection and namespace
// deletion remove it) and only the operator's ServiceAccount may write it (the
// ValidatingAdmissionPolicy of config/policy). No role this project ships, and
// none aggregated into admin, edit or view, grants access to it; it is not in
// the licensing category. The operator recounts it from live Pods: entries of
// Pods that are gone are dropped, live Pods missing from it are added back,
// and each repair is reported with a SeatLedgerRepaired event on the
// assignment.
//
// The ledger of an assignment is several objects: its main ledger, named
// seat-ledger-<assignment>, holds spec.blocked; each held seat is a seat
// object of its own, named seat-ledger-<assignment>-<index> and labelled
// SeatLedgerLabel and SeatIndexLabel, whose spec holds one entry (a Pod's
// seat) or one reservation of count 1 (a seat a Kueue Workload reserved,
// with at most one ride); each Pod in line is a waiter object,
// seat-ledger-<assignment>-w-<pod>, labelled SeatLedgerLabel and
// SeatWaiterLabel, whose spec.waiting holds it. A seat taken or a place in
// line costs one small write whatever the holders and the line. The ledger
// as read is the main ledger with the entries, reservations and waiters of
// its other objects (licensing.MergeSeatLedgers; a reservation's count is
// its seat objects). A main ledger written by an earlier version may still
// list entries, reservations and waiters itself: they count the same, and
// the seat recount moves them into objects of their own.

// Labels of the seat objects of an assignment's ledger.
const (
	// SeatLedgerLabel on a seat object names the assignment ledger it belongs
	// to: the ledger's name (LedgerName), or a hash of it when the name is
	// longer than a label value may be.
	SeatLedgerLabel = LabelPrefix + "seat-ledger"
	// SeatIndexLabel on a seat object is its seat's index, also the end of
	// its name: taking a seat is creating the object of a free index, and a
	// second create of the same index is refused (AlreadyExists), the
	// compare-and-swap that keeps a seat from being taken twice.
	SeatIndexLabel = LabelPrefix + "seat-index"
	// SeatWaiterLabel on a waiter object (value "true") marks it as one Pod's
	// place in the line of the ledger SeatLedgerLabel names: joining the line
	// creates it, leaving it deletes it.
	SeatWaiterLabel = LabelPrefix + "seat-waiter"
	// LedgerSerialAnnotation on an assignment's main ledger changes with every
	// write that takes seats while the assignment holds more than its seats
	// (seats lowered, or Pods recounted beyond them): the write of the main
	// ledger then orders the takers (compare-and-swap), which the seat
	// indices alone do not.
	LedgerSerialAnnotation = LabelPrefix + "serial"
	// SeatClaimAnnotation on a seat object changes when a write other than
	// the one that created it finishes the grant it was created for: the
	// creator, should the rest of its own write fail, then leaves it.
	SeatClaimAnnotation = LabelPrefix + "claim"
)

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

// SeatLedgerWaiter is one Pod waiting in line for a seat.
type SeatLedgerWaiter struct {
	// pod is the name of the Pod in the ledger's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`

	// uid of the Pod (an admission UID until the Pod is stored).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid"`

	// priority of the Pod (spec.priority, set by the API server from its
	// PriorityClass): a higher priority is served first.
	// +optional
	Priority int32 `json:"priority,omitempty"`

	// queued is when the Pod joined the line: among equal priorities the
	// earlier is served first. It keeps microseconds (a metav1.Time keeps
	// whole seconds, and the Pods that joined within one second would be
	// served by name instead of in admission order).
	// +required
	Queued metav1.MicroTime `json:"queued"`

	// gang is the name of the Pod's gang (licensing.license-operator.dev/gang).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Gang string `json:"gang,omitempty"`

	// gangSize is the number of Pods of the gang that start together.
	// +optional
	// +kubebuilder:validation:Minimum=0
	GangSize int32 `json:"gangSize,omitempty"`

	// namespace of the Pod, in the line of a licence's uses (spec.license):
	// a shared licence admits Pods of other namespaces. Empty means the
	// ledger's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// features the Pod asks for, in the line of a licence's uses: each takes
	// one use of that feature when the Pod's use is taken.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	Features []string `json:"features,omitempty"`
}

// SeatLedgerReservation is the seats a Kueue Workload reserved for one of
// its pod sets on the ledger's assignment, through the operator's
// AdmissionCheck (controllerName licensing.license-operator.dev/seats): count
// seats held together, whether its Pods run yet or not. The Pods of the
// Workload that the admission webhook admitted on it ride it (rides): they
// take no seat of their own. At most count Pods ride it; a Pod beyond them
// takes a seat as any Pod does. The recount of the ledger from live Pods never
// removes a reservation (it drops the rides of Pods that are gone); the
// AdmissionCheck controller removes it once the Workload has finished, was
// evicted or deleted, and no Pod rides it any more.
// +kubebuilder:validation:XValidation:rule="!has(self.rides) || size(self.rides) <= self.count",message="at most count Pods ride a reservation"
type SeatLedgerReservation struct {
	// workload is the name of the Kueue Workload in the ledger's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Workload string `json:"workload"`

	// uid of the Workload: a Workload deleted and created again under the
	// same name holds nothing of its predecessor.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid"`

	// podSet is the name of the Workload's pod set
	// (spec.podSets[].name) whose seats these are.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	PodSet string `json:"podSet"`

	// count is the number of seats held: the pod set's count in the
	// Workload's admission (status.admission.podSetAssignments[].count).
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Count int32 `json:"count"`

	// rides are the Pods of the Workload admitted on this reservation,
	// one per Pod name, at most count.
	// +optional
	// +listType=map
	// +listMapKey=pod
	// +kubebuilder:validation:MaxItems=10000
	Rides []SeatLedgerEntry `json:"rides,omitempty"`

	// since is when the seats were reserved.
	// +required
	Since metav1.Time `json:"since"`
}

// SeatLedgerSpec lists the seat holders of one assignment, or the uses of one licence.
// +kubebuilder:validation:XValidation:rule="has(self.assignment) != has(self.license)",message="a SeatLedger counts either the seats of spec.assignment or the uses of spec.license"
// +kubebuilder:validation:XValidation:rule="!has(self.uses) || has(self.license)",message="spec.uses needs spec.license"
// +kubebuilder:validation:XValidation:rule="!has(self.reservations) || has(self.assignment)",message="spec.reservations needs spec.assignment"
type SeatLedgerSpec struct {
	// assignment is the name of the LicenseAssignment of this namespace the
	// ledger counts the seats of.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.assignment is immutable"
	Assignment string `json:"assignment,omitempty"`

	// license is the name of the SoftwareLicense of this namespace whose
	// uses (one per admitted Pod, and per feature the Pod asks for) the
	// ledger counts in the current consumption period.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.license is immutable"
	License string `json:"license,omitempty"`

	// uses are the licence's uses in its current period (with spec.license).
	// +optional
	Uses *LicenseUses `json:"uses,omitempty"`

	// entries are the Pods holding a seat, one per Pod name: the one Pod of
	// a seat object (SeatIndexLabel). A main ledger written by an earlier
	// version may list many, until the seat recount moves them into seat
	// objects; at most 10000 (etcd stores objects up to 1.5 MiB).
	// +optional
	// +listType=map
	// +listMapKey=pod
	// +kubebuilder:validation:MaxItems=10000
	Entries []SeatLedgerEntry `json:"entries,omitempty"`

	// waiting are the Pods waiting in line for a seat (spec.assignment: the
	// one Pod of a waiter object, SeatWaiterLabel; a main ledger of an
	// earlier version may list many), or for a use of the licence in its
	// next consumption period (spec.license), in no particular order: the
	// line's order is licensing.LineOrder (priority, then queued, then name).
	// Pods in it hold no seat and took no use.
	// +optional
	// +listType=map
	// +listMapKey=pod
	// +kubebuilder:validation:MaxItems=10000
	Waiting []SeatLedgerWaiter `json:"waiting,omitempty"`

	// reservations are the seats Kueue Workloads reserved on the assignment
	// (spec.assignment), each held whole: a seat of a reservation is held
	// whether a Pod rides it or not. A seat object holds one seat of one
	// reservation (count 1, at most one ride); the reservation of a pod set
	// is all its seat objects. The seats held on the assignment are the
	// entries plus the counts of the reservations.
	// +optional
	// +listType=map
	// +listMapKey=uid
	// +listMapKey=podSet
	// +kubebuilder:validation:MaxItems=1000
	Reservations []SeatLedgerReservation `json:"reservations,omitempty"`

	// blocked says why the line does not move although seats may be free
	// (the licence is expired, suspended or revoked, or the assignment is
	// not Bound); empty when it moves.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Blocked string `json:"blocked,omitempty"`
}

// LicenseUses counts the uses of a licence in one consumption period: the
// uses of Pods that are known to have been stored (confirmed), plus one
// pending entry per Pod admitted recently whose storage the recount has not
// confirmed yet. The recount confirms a pending entry when its Pod exists
// and drops it when the Pod was never stored (a later admission step refused
// it), so the list stays short: it never holds more than the Pods admitted
// in the last moments.
type LicenseUses struct {
	// periodStart is the start of the period counted. When the clock passes
	// into the next period the counts start again from zero.
	// +required
	PeriodStart metav1.Time `json:"periodStart"`

	// confirmed is the number of uses of Pods known to have been stored in this period.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Confirmed int64 `json:"confirmed,omitempty"`

	// features are the confirmed uses of each feature in this period.
	// +optional
	// +listType=map
	// +listMapKey=code
	// +kubebuilder:validation:MaxItems=64
	Features []FeatureUses `json:"features,omitempty"`

	// pending are the uses of Pods admitted and not confirmed yet, one per Pod UID.
	// +optional
	// +listType=map
	// +listMapKey=uid
	// +kubebuilder:validation:MaxItems=10000
	Pending []PendingUse `json:"pending,omitempty"`
}

// FeatureUses is the confirmed uses of one feature.
type FeatureUses struct {
	// code of the feature (status.effectivePolicy.features[].code).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Code string `json:"code"`

	// used is the number of confirmed uses of the feature in the period.
	// +required
	// +kubebuilder:validation:Minimum=0
	Used int64 `json:"used"`
}

// PendingUse is the use of one Pod admitted and not confirmed yet.
type PendingUse struct {
	// uid of the Pod, known at admission before it is stored: a second
	// admission of the same Pod (a reinvocation, a retry) takes no second use.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid"`

	// namespace of the Pod (a shared licence admits Pods of other namespaces).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`

	// pod is the name of the Pod.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`

	// features the Pod asked for (each counts one use of that feature).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	Features []string `json:"features,omitempty"`

	// admitted is when the use was taken.
	// +required
	Admitted metav1.Time `json:"admitted"`
}

// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="License",type=string,JSONPath=`.spec.license`
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
