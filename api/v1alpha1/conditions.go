package v1alpha1

// Condition types every kind sets, read by kubectl wait, kstatus (Flux,
// kpt, cli-utils) and the Argo CD health checks of docs/health.md. Each
// condition of every kind carries the generation it was computed from
// (observedGeneration), as does status.observedGeneration.
const (
	// ConditionReady is True when the operator computed the status of the
	// object's current generation and the object is configured correctly:
	//   - LicenseProduct: its default policy and its bundle members exist.
	//   - SoftwareLicense: its product, policy and key resolved. Whether it
	//     grants seats now is status.state (an Expired, Suspended or
	//     not-yet-valid licence is Ready: it is a state of the licence, shown
	//     by status.state and the Expired condition, not a broken object).
	//   - LicenseAssignment: it holds its seats (state Bound).
	ConditionReady = "Ready"
	// ConditionStalled (kstatus) is True when the object cannot progress
	// until someone changes it or creates what it names: a product, policy,
	// bundle member, key, licence or node that is missing, a namespace the
	// licence is not shared with, an assignee the seat model refuses, or an
	// assignment Rejected as written. Its reason is Ready's. kstatus reads it
	// as Failed, Argo CD (docs/health.md) as Degraded.
	ConditionStalled = "Stalled"
	// ConditionReconciling (kstatus) is True while the operator works
	// towards Ready on its own: set on LicenseAssignments that wait for seats
	// (queued, a licence that is not usable now, a node offline). kstatus
	// reads it as InProgress, Argo CD as Progressing. LicenseProduct and
	// SoftwareLicense do not set it: their status is computed in one pass,
	// and the only time they are in progress is before that pass has seen a
	// new generation, which status.observedGeneration tells.
	ConditionReconciling = "Reconciling"
)

// Condition types of SoftwareLicense.
const (
	// ConditionExpired is True once the licence is past its end and grace period.
	ConditionExpired = "Expired"
	// ConditionExpiringSoon is True within expiringSoonWindow of the renewal time.
	ConditionExpiringSoon = "ExpiringSoon"
	// ConditionInGracePeriod is True past the end but within the grace period.
	ConditionInGracePeriod = "InGracePeriod"
	// ConditionOverAllocated is True when more seats are bound than the licence has.
	ConditionOverAllocated = "OverAllocated"
	// ConditionUnderUtilized is True when used seats are below underUtilizedThresholdPercent.
	ConditionUnderUtilized = "UnderUtilized"
	// ConditionSeatsExhausted is True when no seat is free.
	ConditionSeatsExhausted = "SeatsExhausted"
	// ConditionPolicyResolved is True when every policy field resolved.
	ConditionPolicyResolved = "PolicyResolved"
	// ConditionTerminating is True while a SoftwareLicense or LicenseProduct
	// that was deleted waits for its seat holders to be released (its
	// deletion finalizer); its message names the holders.
	ConditionTerminating = "Terminating"
)

// Condition types of LicenseAssignment.
const (
	// ConditionBound is True while the assignment holds its seats.
	ConditionBound = "Bound"
)

// Condition reasons.
const (
	// ReasonResolved: the product and policy resolved.
	ReasonResolved = "Resolved"
	// ReasonConfigured: Stalled is False, nothing the object names is missing.
	ReasonConfigured = "Configured"
	// ReasonNotReconciling: Reconciling is False, the assignment is not
	// waiting for anything the operator could still do.
	ReasonNotReconciling = "NotReconciling"
	// ReasonProductNotFound: spec.productRef names no LicenseProduct.
	ReasonProductNotFound = "ProductNotFound"
	// ReasonPolicyNotFound: the policy code names no policy of the product.
	ReasonPolicyNotFound = "PolicyNotFound"
	// ReasonBundlePolicyRequired: a licence of a bundle product names no policy code.
	ReasonBundlePolicyRequired = "BundlePolicyRequired"
	// ReasonBundleMemberNotFound: a bundle includes a product that does not exist.
	ReasonBundleMemberNotFound = "BundleMemberNotFound"
	// ReasonKeyNotFound: the key Secret or key is missing.
	ReasonKeyNotFound = "KeyNotFound"
	// ReasonKeyMismatch: the key in the Secret of spec.key.secretRef is not
	// the one spec.entitlement.keyFingerprint says the platform issued.
	ReasonKeyMismatch = "KeyMismatch"
	// ReasonValid: the licence is within its term.
	ReasonValid = "Valid"
	// ReasonNotYetValid: the licence's start is in the future.
	ReasonNotYetValid = "NotYetValid"
	// ReasonExpiringSoon: the renewal time is within the window.
	ReasonExpiringSoon = "RenewalDue"
	// ReasonGracePeriod: past the end, within grace.
	ReasonGracePeriod = "GracePeriod"
	// ReasonExpired: past the end and grace.
	ReasonExpired = "PastEnd"
	// ReasonSuspended: an administrator suspended the licence.
	ReasonSuspended = "Suspended"
	// ReasonRevoked: an administrator revoked the licence.
	ReasonRevoked = "Revoked"
	// ReasonWithinSeats: used seats are within the total.
	ReasonWithinSeats = "WithinSeats"
	// ReasonSeatsExceeded: more seats are used than the licence has.
	ReasonSeatsExceeded = "SeatsExceeded"
	// ReasonBelowThreshold: used seats are below the utilisation threshold.
	ReasonBelowThreshold = "BelowThreshold"
	// ReasonNoSeatsFree: every seat is used.
	ReasonNoSeatsFree = "NoSeatsFree"
	// ReasonSeatsFree: seats are free or the licence is unlimited.
	ReasonSeatsFree = "SeatsFree"
	// ReasonSeatsGranted: the assignment holds its seats.
	ReasonSeatsGranted = "SeatsGranted"
	// ReasonReleased: the assignment is being deleted and gave its seats back.
	ReasonReleased = "Released"
	// ReasonWaitingForSeats: the assignment waits in the queue for free seats.
	ReasonWaitingForSeats = "WaitingForSeats"
	// ReasonLicenseNotFound: the referenced licence does not exist.
	ReasonLicenseNotFound = "LicenseNotFound"
	// ReasonLicenseNotUsable: the licence is expired, suspended, revoked or not yet valid.
	ReasonLicenseNotUsable = "LicenseNotUsable"
	// ReasonSharingForbidden: the licence is not shared with the assignment's namespace.
	ReasonSharingForbidden = "SharingForbidden"
	// ReasonTransferLimit: the assignee changed more often than maxTransfers allows.
	ReasonTransferLimit = "TransferLimitReached"
	// ReasonActivationLimit: the licence holds maxActivations assignments already.
	ReasonActivationLimit = "ActivationLimitReached"
	// ReasonAssigneeNotAllowed: the assignee does not fit the seat model (for example a user not on the licence).
	ReasonAssigneeNotAllowed = "AssigneeNotAllowed"
	// ReasonNodeNotFound: a NodeLocked assignment names a node that does not exist.
	ReasonNodeNotFound = "NodeNotFound"
	// ReasonNodeOffline: a NodeLocked assignment's node has been NotReady
	// longer than the licence's spec.entitlement.offlineGracePeriod: its seat
	// is free until the node is Ready again.
	ReasonNodeOffline = "NodeOffline"
	// ReasonFingerprintMismatch: a NodeLocked assignment's node matches none
	// of the licence's spec.entitlement.machineFingerprints.
	ReasonFingerprintMismatch = "FingerprintMismatch"
	// ReasonVirtualMachineForbidden: a NodeLocked assignment's node is a
	// virtual machine and the licence's effective policy has preventVM.
	ReasonVirtualMachineForbidden = "VirtualMachineForbidden"
	// ReasonConsumptionExhausted: usage reached maxConsumptions plus allowed overages.
	ReasonConsumptionExhausted = "ConsumptionExhausted"
	// ReasonHeldBySeats: a deleted licence or product stays until the
	// assignments that hold its seats are released.
	ReasonHeldBySeats = "HeldBySeats"
	// ReasonBeingDeleted: the licence or product is being deleted and binds no new seats.
	ReasonBeingDeleted = "BeingDeleted"
)
