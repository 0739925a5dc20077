package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AdminState is the state an administrator sets on a licence.
// +kubebuilder:validation:Enum=Active;Suspended;Revoked
type AdminState string

const (
	// AdminStateActive is a licence in use.
	AdminStateActive AdminState = "Active"
	// AdminStateSuspended binds and admits nothing until it is set Active again.
	AdminStateSuspended AdminState = "Suspended"
	// AdminStateRevoked binds and admits nothing, for good.
	AdminStateRevoked AdminState = "Revoked"
)

// LicenseState is the computed lifecycle state of a licence.
// +kubebuilder:validation:Enum=Pending;Active;ExpiringSoon;InGracePeriod;Expired;Suspended;Revoked
type LicenseState string

const (
	// LicenseStatePending is a licence before its start.
	LicenseStatePending LicenseState = "Pending"
	// LicenseStateActive is a valid licence.
	LicenseStateActive LicenseState = "Active"
	// LicenseStateExpiringSoon is valid, within expiringSoonWindow of its renewal time.
	LicenseStateExpiringSoon LicenseState = "ExpiringSoon"
	// LicenseStateInGracePeriod is past its end but within its grace period.
	LicenseStateInGracePeriod LicenseState = "InGracePeriod"
	// LicenseStateExpired is past its end and grace period.
	LicenseStateExpired LicenseState = "Expired"
	// LicenseStateSuspended was suspended by an administrator.
	LicenseStateSuspended LicenseState = "Suspended"
	// LicenseStateRevoked was revoked by an administrator.
	LicenseStateRevoked LicenseState = "Revoked"
)

// Compliance is the licence's compliance posture.
// +kubebuilder:validation:Enum=Compliant;OverAllocated;UnderUtilized
type Compliance string

const (
	// ComplianceCompliant means seats used are within total and above the utilisation threshold.
	ComplianceCompliant Compliance = "Compliant"
	// ComplianceOverAllocated means more seats are used than the licence has.
	ComplianceOverAllocated Compliance = "OverAllocated"
	// ComplianceUnderUtilized means used seats are below underUtilizedThresholdPercent of the total.
	ComplianceUnderUtilized Compliance = "UnderUtilized"
)

// EntitlementIssuer is the licensing platform that issued an entitlement.
// +kubebuilder:validation:Enum=cryptlex;keygen;licensespring;zentitle;sentinel;reprise;flexnet;openlm;amazon-license-manager;suger;other
type EntitlementIssuer string

// SecretKeyReference names a key in a Secret of the licence's namespace.
type SecretKeyReference struct {
	// name of the Secret, in the licence's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key within the Secret's data. Default: license-key.
	// +optional
	// +kubebuilder:default=license-key
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// LicenseKeySource says where the licence key is. The key itself is never in the spec.
type LicenseKeySource struct {
	// secretRef names the Secret key holding the licence key.
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`
}

// LicenseUser is a user of a user-based licence.
type LicenseUser struct {
	// email of the licence user.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Email string `json:"email"`

	// manager makes the user a manager of this licence: the operator binds them,
	// in the licence's namespace, to the ClusterRole license-operator-license-manager
	// (manage LicenseAssignments, read licences and products), and the assignment
	// webhook lets them create or change only assignments whose spec.licenseRef
	// names a licence they manage (docs/managers.md).
	// +optional
	Manager bool `json:"manager,omitempty"`
}

// LicenseCost is what the licence costs.
type LicenseCost struct {
	// listPrice is the vendor list price per seat per period before discount; defaults to the product's.
	// +optional
	ListPrice *Decimal `json:"listPrice,omitempty"`

	// currency is the ISO 4217 code of listPrice; defaults to the product's.
	// +optional
	Currency CurrencyCode `json:"currency,omitempty"`

	// negotiatedDiscountPercent is the discount off listPrice, a decimal from 0 to 100
	// written as a number (25) or a string ("12.5").
	// +optional
	NegotiatedDiscountPercent Percent `json:"negotiatedDiscountPercent,omitempty"`

	// costCenter funds the licence. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	CostCenter string `json:"costCenter,omitempty"`

	// contractRef identifies the contract that governs the licence. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ContractRef string `json:"contractRef,omitempty"`

	// contractReference is the purchase order, contract number or procurement reference. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ContractReference string `json:"contractReference,omitempty"`

	// supplier is the vendor or reseller the licence was bought from. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Supplier string `json:"supplier,omitempty"`
}

// Customer is the organisation that holds an entitlement.
type Customer struct {
	// id of the customer in the issuing platform. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id,omitempty"`

	// name of the customer.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name,omitempty"`

	// email of the customer's licensing contact.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Email string `json:"email,omitempty"`
}

// MachineFingerprint is a node's raw systemUUID or machineID, or "sha256:"
// and the 64 hex digits of the SHA-256 of it.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule="!self.startsWith('sha256:') || self.matches('^sha256:[0-9a-fA-F]{64}$')",message="a machine fingerprint is a node's raw systemUUID or machineID, or sha256: followed by the 64 hex digits of its SHA-256, for example sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\s')",message="a machine fingerprint has no whitespace: copy the node's status.nodeInfo.systemUUID as it is, for example 4c4c4544-0042-3510-8052-b4c04f4e3332"
type MachineFingerprint string

// Entitlement records the entitlement as the issuing licence platform knows it.
// +kubebuilder:validation:XValidation:rule="has(self.entitlementID) && has(self.issuer)",message="spec.entitlement needs entitlementID and issuer (seed 001): the entitlement's ID in the issuing platform, for example ent_01HKZP3J7Q9V2Z8B4K5N6M7P8R, and the platform, for example licensespring"
type Entitlement struct {
	// issuer is the licensing platform that issued the entitlement. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	Issuer EntitlementIssuer `json:"issuer,omitempty"`

	// entitlementID identifies the entitlement in the issuing platform. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	EntitlementID string `json:"entitlementID,omitempty"`

	// customer holds the entitlement. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	Customer *Customer `json:"customer,omitempty"`

	// productVersion is the product version or version range covered, for example "2026.1". Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ProductVersion string `json:"productVersion,omitempty"`

	// machineFingerprints are the machines the licence is activated on, one
	// per activation (seed 001's single machine fingerprint imports as a
	// list of one). Each is a node's raw status.nodeInfo.systemUUID or
	// status.nodeInfo.machineID (UUIDs compare case-insensitively), or
	// "sha256:" followed by the 64 hex digits of the SHA-256 of that raw
	// value. When the list is set, a NodeLocked assignment binds only to a
	// node whose systemUUID or machineID matches one of them; otherwise it is
	// Rejected (reason FingerprintMismatch) with a message that shows the
	// node's fingerprints. Empty: any existing node binds. The check is made
	// when a seat is granted: removing an entry later does not unbind the
	// node that holds the seat (like lowering spec.seats).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	MachineFingerprints []MachineFingerprint `json:"machineFingerprints,omitempty"`

	// offlineGracePeriod is how long a NodeLocked seat survives its node
	// being NotReady (its Ready condition False or Unknown, measured from the
	// condition's lastTransitionTime), as a calendar duration such as "3d".
	// After it the assignment is Pending with reason NodeOffline and its seat
	// is free for others; when the node is Ready again the assignment takes a
	// seat again if one is free, else it waits first come, first served. A
	// deleted node frees its seat at once, with or without this field.
	// Unset: a NotReady node keeps its seat for as long as it exists.
	// +optional
	OfflineGracePeriod *CalendarDuration `json:"offlineGracePeriod,omitempty"`

	// keyFingerprint is the licence key as the issuing platform knows it,
	// hashed: "sha256:" and the 64 hex digits of the SHA-256 of the key, the
	// form of status.keyFingerprint (seed 001: a key is often hashed in the
	// platform's API; `kubectl license import` writes it here, so that the
	// key itself never goes into Git). When set, the key the operator reads
	// from spec.key.secretRef must have this fingerprint, else the licence is
	// not Ready (reason KeyMismatch: the Secret holds another key than the
	// one issued); and the operator generates no key for the licence, even
	// for a product that authorizes by Key: the key is the platform's, so
	// the licence waits (reason KeyNotFound) until a Secret holds it.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	// +kubebuilder:validation:Pattern=`^sha256:[0-9a-fA-F]{64}$`
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
}

// SoftwareLicenseSpec is a licence the organisation holds.
// +kubebuilder:validation:XValidation:rule="!has(self.startDate) || !has(self.expiryDate) || timestamp(size(self.expiryDate) == 10 ? self.expiryDate + 'T00:00:00Z' : self.expiryDate) > timestamp(size(self.startDate) == 10 ? self.startDate + 'T00:00:00Z' : self.startDate)",message="spec.expiryDate must be after spec.startDate"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.productRef) || (has(self.productRef) && self.productRef.name == oldSelf.productRef.name)",message="spec.productRef is immutable once set: bound seats would be orphaned; create a new licence instead"
type SoftwareLicenseSpec struct {
	// productRef names the LicenseProduct. Optional: a licence may be tracked without a product.
	// +optional
	ProductRef *ProductReference `json:"productRef,omitempty"`

	// vendor is the software vendor; defaults to the product's.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Vendor string `json:"vendor,omitempty"`

	// productName is the commercial product name; defaults to the product's displayName.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ProductName string `json:"productName,omitempty"`

	// productSKU is the vendor SKU; defaults to the product's.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	ProductSKU string `json:"productSKU,omitempty"`

	// policyCode names the product policy this licence follows; the product's defaultPolicy otherwise.
	// Mandatory for licences of bundle products.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	PolicyCode string `json:"policyCode,omitempty"`

	// overrides beat the policy, field by field.
	// +optional
	Overrides *PolicySettings `json:"overrides,omitempty"`

	// seats is the number of seats purchased. Absent means unlimited (site licences).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000000
	Seats *int32 `json:"seats,omitempty"`

	// purchaseDate is when the licence was bought or the subscription began.
	// +optional
	PurchaseDate *Date `json:"purchaseDate,omitempty"`

	// startDate is when the licence becomes valid; purchaseDate, then creation, otherwise.
	// +optional
	StartDate *Date `json:"startDate,omitempty"`

	// expiryDate is the explicit end of the licence; otherwise start plus validDuration.
	// +optional
	ExpiryDate *Date `json:"expiryDate,omitempty"`

	// renewalDate is when the licence is due for renewal; ExpiringSoon counts from it when set.
	// +optional
	RenewalDate *Date `json:"renewalDate,omitempty"`

	// autoRenew renews a Subscription or TimeLimited licence for another validDuration at
	// the end of each term instead of expiring.
	// +optional
	AutoRenew bool `json:"autoRenew,omitempty"`

	// state is set by an administrator: Active (default), Suspended or Revoked.
	// +optional
	// +kubebuilder:default=Active
	State AdminState `json:"state,omitempty"`

	// key says where the licence key is. For a Key product with no key, the operator
	// generates one into a Secret the licence owns.
	// +optional
	Key *LicenseKeySource `json:"key,omitempty"`

	// users of a user-based licence.
	// +optional
	// +listType=map
	// +listMapKey=email
	// +kubebuilder:validation:MaxItems=1000
	Users []LicenseUser `json:"users,omitempty"`

	// cost is what the licence costs.
	// +optional
	Cost *LicenseCost `json:"cost,omitempty"`

	// entitlement records the entitlement as the issuing platform knows it.
	// +optional
	Entitlement *Entitlement `json:"entitlement,omitempty"`

	// sharing says which namespaces may draw seats: Namespace (default), All or Selector.
	// +optional
	Sharing *NamespaceSharing `json:"sharing,omitempty"`

	// assetRef identifies the technology asset this licence covers. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	AssetRef string `json:"assetRef,omitempty"`

	// tags group and filter licences. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	Tags []string `json:"tags,omitempty"`
}

// LicenseSeatStatus counts a licence's seats.
type LicenseSeatStatus struct {
	// total is the number of seats; absent when unlimited.
	// +optional
	Total *int32 `json:"total,omitempty"`

	// used is the number of seats held by bound assignments.
	// +optional
	Used int32 `json:"used"`

	// available is total minus used, never below zero; absent when total is.
	// +optional
	Available *int32 `json:"available,omitempty"`

	// pending is the number of seats requested by assignments waiting for a seat.
	// +optional
	Pending int32 `json:"pending"`

	// waitingPods is the number of Pods waiting in line for a seat of the
	// licence's Bound assignments (gated with licensing.license-operator.dev/seat).
	// +optional
	WaitingPods int32 `json:"waitingPods,omitempty"`

	// reservedByWorkloads is the number of seats of the licence's Bound
	// assignments that Kueue Workloads hold through the AdmissionCheck
	// licensing.license-operator.dev/seats (docs/kueue.md): part of the
	// seats the assignments hold, not more.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ReservedByWorkloads int32 `json:"reservedByWorkloads,omitempty"`
}

// ResolvedProduct is the product a licence resolved to.
type ResolvedProduct struct {
	// name of the LicenseProduct, if any.
	// +optional
	Name string `json:"name,omitempty"`
	// displayName is the commercial product name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// vendor of the product.
	// +optional
	Vendor string `json:"vendor,omitempty"`
	// sku of the product.
	// +optional
	SKU string `json:"sku,omitempty"`
	// authorization of the product.
	// +optional
	Authorization AuthorizationMethod `json:"authorization,omitempty"`
	// covers lists the products a seat of this licence is a seat of: the product and, for a
	// bundle, every product it includes.
	// +optional
	// +listType=set
	Covers []string `json:"covers,omitempty"`
}

// PolicySource says where an effective policy field came from: "Override",
// "Policy/<code>" or "Default" (built in).
type PolicySource string

// EffectivePolicy is every policy field as resolved for a licence.
type EffectivePolicy struct {
	// code of the policy the licence follows, if any.
	// +optional
	Code string `json:"code,omitempty"`

	PolicySettings `json:",inline"`

	// sources says, for each field set above, where its value came from: Override,
	// Policy/<code> or Default.
	// +optional
	Sources map[string]PolicySource `json:"sources,omitempty"`
}

// ConsumptionStatus is usage of a Consumption licence in the current period.
type ConsumptionStatus struct {
	// used is the usage counted in the current period: admitted plus reported.
	// +optional
	Used int64 `json:"used"`
	// admitted is the number of Pods the licence admitted in the current
	// period (one use each, counted at admission).
	// +optional
	Admitted int64 `json:"admitted,omitempty"`
	// reported is the usage the licence's assignments reported
	// (spec.consumption) in the current period, kept when an assignment is
	// deleted: the reports of the assignments that exist (reportedBy) plus
	// those of assignments deleted in this period (reportedByDeleted).
	// +optional
	Reported int64 `json:"reported,omitempty"`
	// reportedBy is the usage each existing assignment reported in the
	// current period, by assignment UID (assignments of other namespaces are
	// not named).
	// +optional
	// +listType=map
	// +listMapKey=uid
	// +kubebuilder:validation:MaxItems=10000
	ReportedBy []ReportedUsage `json:"reportedBy,omitempty"`
	// reportedByDeleted is the usage reported in the current period by
	// assignments that were deleted since.
	// +optional
	ReportedByDeleted int64 `json:"reportedByDeleted,omitempty"`
	// overage is the usage beyond maxConsumptions in the current period.
	// +optional
	Overage int64 `json:"overage"`
	// periodStart is when the current period began.
	// +optional
	PeriodStart *metav1.Time `json:"periodStart,omitempty"`
}

// ReportedUsage is the usage one assignment reported in the current period.
type ReportedUsage struct {
	// uid of the LicenseAssignment.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UID string `json:"uid"`
	// used is its usage in the period.
	// +required
	Used int64 `json:"used"`
}

// CostStatus is the computed cost of a licence.
type CostStatus struct {
	// unitPrice is the list price less the negotiated discount.
	// +optional
	UnitPrice Decimal `json:"unitPrice,omitempty"`
	// total is the cost per pricing period: unitPrice times what the
	// product's pricing.unit counts — seats (Seat; absent for unlimited
	// seats), activations held (Activation) or this period's consumption
	// (Consumption).
	// +optional
	Total Decimal `json:"total,omitempty"`
	// currency of unitPrice and total.
	// +optional
	Currency CurrencyCode `json:"currency,omitempty"`
	// period the total is for.
	// +optional
	Period CalendarDuration `json:"period,omitempty"`
}

// SoftwareLicenseStatus is computed by the operator; nothing else writes it.
type SoftwareLicenseStatus struct {
	// observedGeneration is the generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (its product, policy and key resolved; whether it
	// grants seats now is state), Stalled (kstatus: True when Ready is False,
	// a configuration error), Expired, ExpiringSoon, InGracePeriod,
	// OverAllocated, UnderUtilized, SeatsExhausted, PolicyResolved, and
	// Terminating while a deleted licence waits for its holders. Each carries
	// observedGeneration. docs/health.md.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// state is the lifecycle state now.
	// +optional
	State LicenseState `json:"state,omitempty"`

	// compliance is the compliance posture now.
	// +optional
	Compliance Compliance `json:"compliance,omitempty"`

	// seats counts the licence's seats.
	// +optional
	Seats LicenseSeatStatus `json:"seats"`

	// activations is the number of assignments bound to the licence (its
	// activations).
	// +optional
	Activations int32 `json:"activations"`

	// maxActivations is the most assignments the licence may hold: the
	// effective policy's maxActivations (the built-in default of 1 applies to
	// Key products only). Absent when nothing but the seats limits them (no
	// maxActivations, or a Site licence, where it does not apply).
	// +optional
	MaxActivations *int32 `json:"maxActivations,omitempty"`

	// trial is true when the licence's effective policy is a trial (policy
	// field trial): each Pod it admits gets an admission warning saying so,
	// and the licence cannot autoRenew.
	// +optional
	Trial bool `json:"trial,omitempty"`

	// product is the product the licence resolved to.
	// +optional
	Product *ResolvedProduct `json:"product,omitempty"`

	// effectivePolicy is every resolved policy field and where each came from.
	// +optional
	EffectivePolicy *EffectivePolicy `json:"effectivePolicy,omitempty"`

	// validFrom is when the current term began.
	// +optional
	ValidFrom *metav1.Time `json:"validFrom,omitempty"`
	// validUntil is when the current term ends; absent for perpetual licences.
	// +optional
	ValidUntil *metav1.Time `json:"validUntil,omitempty"`
	// renewalTime is renewalDate, else validUntil.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// maintenanceUntil is when maintenance ends.
	// +optional
	MaintenanceUntil *metav1.Time `json:"maintenanceUntil,omitempty"`
	// graceUntil is validUntil plus the grace period.
	// +optional
	GraceUntil *metav1.Time `json:"graceUntil,omitempty"`
	// nextResetTime is when consumption is next reset.
	// +optional
	NextResetTime *metav1.Time `json:"nextResetTime,omitempty"`
	// renewals counts the automatic renewals since the licence's first term.
	// +optional
	Renewals int32 `json:"renewals,omitempty"`

	// consumption is usage in the current period, for Consumption licences.
	// +optional
	Consumption *ConsumptionStatus `json:"consumption,omitempty"`

	// cost is the computed cost.
	// +optional
	Cost *CostStatus `json:"cost,omitempty"`

	// keyFingerprint is "sha256:" and the hex SHA-256 of the licence key. The key itself is never shown.
	// +optional
	KeyFingerprint string `json:"keyFingerprint,omitempty"`

	// keySecretName is the Secret holding the licence key, when the operator generated it.
	// +optional
	KeySecretName string `json:"keySecretName,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=swl,categories=licensing
// +kubebuilder:printcolumn:name="Product",type=string,JSONPath=`.status.product.name`
// +kubebuilder:printcolumn:name="Used",type=integer,JSONPath=`.status.seats.used`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.seats.total`
// +kubebuilder:printcolumn:name="Available",type=integer,JSONPath=`.status.seats.available`
// +kubebuilder:printcolumn:name="Waiting",type=integer,JSONPath=`.status.seats.waitingPods`
// +kubebuilder:printcolumn:name="Queued",type=integer,JSONPath=`.status.seats.pending`,priority=1,description="Seats requested by assignments waiting for a seat"
// +kubebuilder:printcolumn:name="Reserved",type=integer,JSONPath=`.status.seats.reservedByWorkloads`,priority=1,description="Seats Kueue Workloads hold"
// +kubebuilder:printcolumn:name="Activations",type=integer,JSONPath=`.status.activations`,priority=1
// +kubebuilder:printcolumn:name="MaxActivations",type=integer,JSONPath=`.status.maxActivations`,priority=1
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Compliance",type=string,JSONPath=`.status.compliance`,priority=1
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.status.effectivePolicy.code`,priority=1
// +kubebuilder:printcolumn:name="Trial",type=boolean,JSONPath=`.status.trial`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=1
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.validUntil`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// SoftwareLicense is a software licence the organisation holds, in the namespace of the tenant that holds it.
type SoftwareLicense struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the licence as the administrator describes it.
	// +required
	Spec SoftwareLicenseSpec `json:"spec"`

	// status is computed by the operator.
	// +optional
	Status SoftwareLicenseStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SoftwareLicenseList contains a list of SoftwareLicense.
type SoftwareLicenseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SoftwareLicense `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SoftwareLicense{}, &SoftwareLicenseList{})
}
