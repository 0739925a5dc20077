package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AssignmentState is the state of a seat grant.
// +kubebuilder:validation:Enum=Pending;Bound;Released;Rejected
type AssignmentState string

const (
	// AssignmentStatePending waits for a seat; status.message says why and what would fix it.
	AssignmentStatePending AssignmentState = "Pending"
	// AssignmentStateBound holds its seats on status.license.
	AssignmentStateBound AssignmentState = "Bound"
	// AssignmentStateReleased gave its seats back (the assignment is being deleted).
	AssignmentStateReleased AssignmentState = "Released"
	// AssignmentStateRejected can never bind as written (for example a transfer beyond maxTransfers).
	AssignmentStateRejected AssignmentState = "Rejected"
)

// LicenseReference names a SoftwareLicense, in this namespace or in a namespace that shares it.
type LicenseReference struct {
	// name of the SoftwareLicense.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// namespace of the SoftwareLicense; the assignment's own namespace when absent. The
	// licence's spec.sharing must allow the assignment's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// UserAssignee is a named user.
type UserAssignee struct {
	// email of the user; for a user-based product it must be one of the licence's users.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Email string `json:"email"`
}

// ServiceAccountAssignee is a ServiceAccount of the assignment's namespace; Pods running as it hold the seats.
type ServiceAccountAssignee struct {
	// name of the ServiceAccount.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// NodeAssignee is a node, for node-locked licences.
type NodeAssignee struct {
	// name of the Node.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// WorkloadAssignee is a set of Pods of the assignment's namespace.
type WorkloadAssignee struct {
	// selector over the labels of Pods in the assignment's namespace.
	// +required
	Selector metav1.LabelSelector `json:"selector"`
}

// Assignee is who holds the seats: exactly one of user, serviceAccount, node or workload.
// +kubebuilder:validation:XValidation:rule="[has(self.user), has(self.serviceAccount), has(self.node), has(self.workload)].filter(x, x).size() == 1",message="assignee must set exactly one of user, serviceAccount, node or workload"
type Assignee struct {
	// user is a named user (NamedUser seats).
	// +optional
	User *UserAssignee `json:"user,omitempty"`

	// serviceAccount is a ServiceAccount of this namespace (Concurrent seats).
	// +optional
	ServiceAccount *ServiceAccountAssignee `json:"serviceAccount,omitempty"`

	// node is a Node (NodeLocked seats).
	// +optional
	Node *NodeAssignee `json:"node,omitempty"`

	// workload is a Pod selector of this namespace (Concurrent seats).
	// +optional
	Workload *WorkloadAssignee `json:"workload,omitempty"`
}

// LicenseAssignmentSpec requests seats of a licence.
// +kubebuilder:validation:XValidation:rule="has(self.licenseRef) != has(self.productRef)",message="set exactly one of spec.licenseRef or spec.productRef"
// +kubebuilder:validation:XValidation:rule="has(self.licenseRef) == has(oldSelf.licenseRef) && (!has(self.licenseRef) || self.licenseRef == oldSelf.licenseRef)",message="spec.licenseRef is immutable: delete and recreate the assignment to draw seats from another licence"
// +kubebuilder:validation:XValidation:rule="has(self.productRef) == has(oldSelf.productRef) && (!has(self.productRef) || self.productRef.name == oldSelf.productRef.name)",message="spec.productRef is immutable: delete and recreate the assignment to draw seats of another product"
type LicenseAssignmentSpec struct {
	// licenseRef binds to one licence. Exactly one of licenseRef or productRef.
	// +optional
	LicenseRef *LicenseReference `json:"licenseRef,omitempty"`

	// productRef binds to any licence of the product this namespace may draw from: among
	// the usable licences (Active, ExpiringSoon or InGracePeriod, sharing allows this
	// namespace, enough free seats) the operator picks the one that needs the fewest new
	// seats (a NamedUser licence where the user holds a seat already needs none), then the
	// most free seats, then the latest validUntil (perpetual last-forever first), then
	// namespace/name.
	// +optional
	ProductRef *ProductReference `json:"productRef,omitempty"`

	// seats requested. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	Seats int32 `json:"seats,omitempty"`

	// assignee holds the seats.
	// +required
	Assignee Assignee `json:"assignee"`

	// consumption is the usage reported so far for a Consumption licence. It only grows.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="spec.consumption only grows: report the running total"
	Consumption *int64 `json:"consumption,omitempty"`
}

// AssignmentConsumption is the usage of an assignment in its licence's current period.
type AssignmentConsumption struct {
	// periodStart is when the licence's current period began.
	// +optional
	PeriodStart *metav1.Time `json:"periodStart,omitempty"`
	// baseline is spec.consumption at periodStart.
	// +optional
	Baseline int64 `json:"baseline"`
	// used is the usage counted in the current period.
	// +optional
	Used int64 `json:"used"`
}

// LicenseAssignmentStatus is written by the operator.
type LicenseAssignmentStatus struct {
	// observedGeneration is the generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Bound (it holds its seats), Ready (the same for kubectl
	// wait: it holds its seats), Reconciling (it waits for seats, a usable
	// licence or its node: kstatus InProgress) and Stalled (it cannot bind
	// until someone changes it or creates what it names: kstatus Failed).
	// docs/health.md.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// state is Pending, Bound, Released or Rejected.
	// +optional
	State AssignmentState `json:"state,omitempty"`

	// assignee is spec.assignee as one string for the printer column:
	// user/<email>, sa/<name>, node/<name> or workload/<label selector>.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Assignee string `json:"assignee,omitempty"`

	// license is the licence bound to, as namespace/name.
	// +optional
	License string `json:"license,omitempty"`

	// seats bound.
	// +optional
	Seats int32 `json:"seats,omitempty"`

	// boundTime is when the seats were granted.
	// +optional
	BoundTime *metav1.Time `json:"boundTime,omitempty"`

	// expiryTime is when the bound licence stops admitting (its grace end, else its end).
	// +optional
	ExpiryTime *metav1.Time `json:"expiryTime,omitempty"`

	// waitingPods is the number of Pods waiting in line for one of this
	// assignment's seats (gated with licensing.license-operator.dev/seat).
	// It is not queuePosition, which is this assignment's own wait for
	// seats of the licence.
	// +optional
	WaitingPods int32 `json:"waitingPods,omitempty"`

	// reservedByWorkloads is the number of this assignment's seats that
	// Kueue Workloads hold through the AdmissionCheck
	// licensing.license-operator.dev/seats (docs/kueue.md), whether their
	// Pods run yet or not.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ReservedByWorkloads int32 `json:"reservedByWorkloads,omitempty"`

	// queuePosition is the place in the licence's queue while Pending, from 1.
	// +optional
	QueuePosition *int32 `json:"queuePosition,omitempty"`

	// message tells a person why the assignment is not bound and what would fix it.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// boundAssignee is the assignee the seats were granted to; a different spec.assignee counts a transfer.
	// +optional
	BoundAssignee *Assignee `json:"boundAssignee,omitempty"`

	// transfers counts the assignee changes of this assignment.
	// +optional
	Transfers int32 `json:"transfers,omitempty"`

	// consumption is the usage counted in the licence's current period.
	// +optional
	Consumption *AssignmentConsumption `json:"consumption,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lasg,categories=licensing
// +kubebuilder:printcolumn:name="License",type=string,JSONPath=`.status.license`
// +kubebuilder:printcolumn:name="Assignee",type=string,JSONPath=`.status.assignee`
// +kubebuilder:printcolumn:name="Seats",type=integer,JSONPath=`.status.seats`,description="Seats held (status.seats); Requested is spec.seats"
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.waitingPods`
// +kubebuilder:printcolumn:name="Reserved",type=integer,JSONPath=`.status.reservedByWorkloads`,priority=1,description="Seats Kueue Workloads hold (status.reservedByWorkloads)"
// +kubebuilder:printcolumn:name="Requested",type=integer,JSONPath=`.spec.seats`,priority=1
// +kubebuilder:printcolumn:name="Queue",type=integer,JSONPath=`.status.queuePosition`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// LicenseAssignment requests seats of a licence for a user, a service account, a node or a set of Pods.
type LicenseAssignment struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the request.
	// +required
	Spec LicenseAssignmentSpec `json:"spec"`

	// status is computed by the operator.
	// +optional
	Status LicenseAssignmentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LicenseAssignmentList contains a list of LicenseAssignment.
type LicenseAssignmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LicenseAssignment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LicenseAssignment{}, &LicenseAssignmentList{})
}
