package v1alpha1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LabelPrefix is the prefix of every label and annotation this operator reads or writes.
const LabelPrefix = "licensing.license-operator.dev/"

const (
	// ProductAnnotation on a Pod or a pod template names the LicenseProduct whose
	// seat the workload needs.
	ProductAnnotation = LabelPrefix + "product"
	// CreatedByAnnotation records the user that created a licensing object.
	CreatedByAnnotation = LabelPrefix + "created-by"
	// UpdatedByAnnotation records the user that last changed a licensing object.
	UpdatedByAnnotation = LabelPrefix + "updated-by"
	// LicenseFinalizer protects a SoftwareLicense with bound seats from deletion.
	LicenseFinalizer = LabelPrefix + "seats-protection"
	// ProductFinalizer protects a LicenseProduct whose licences hold bound
	// seats from deletion.
	ProductFinalizer = LabelPrefix + "seats-protection"
	// VirtualMachineLabel with the value "true" marks a Node as a virtual
	// machine: preventVM keeps the Pods of a licence off such nodes, and a
	// NodeLocked assignment to one is Rejected. Cluster operators label their
	// VM nodes; with --label-vm-nodes the operator labels the nodes whose
	// spec.providerID names a cloud VM.
	VirtualMachineLabel = LabelPrefix + "virtual-machine"
	// FeaturesAnnotation on a Pod or pod template lists, comma-separated, the
	// feature codes of the product the workload uses. It is admitted only
	// when its licence's effective policy lists each of them.
	FeaturesAnnotation = LabelPrefix + "features"
	// SeatGate is the Pod scheduling gate of a Pod waiting in line for a
	// Concurrent seat. The mutating Pod webhook adds it at CREATE; only the
	// operator removes it, when it has taken the seat for the Pod
	// (config/policy keeps everyone else from removing it).
	SeatGate = LabelPrefix + "seat"
	// UseGate is the Pod scheduling gate of a Pod waiting in the line of a
	// consumption licence's uses for its next period. The mutating Pod
	// webhook adds it at CREATE; only the operator removes it, when it has
	// taken the Pod's use (config/policy).
	UseGate = LabelPrefix + "consumption"
	// LicensedLabel, with the value "true", marks a Pod that the mutating Pod
	// webhook admitted for a product: it holds a seat, waits for one, or is
	// covered without a counted seat. The operator's Pod cache holds only
	// such Pods; only the operator may change the label (config/policy).
	LicensedLabel = LabelPrefix + "licensed"
	// LicensedLabelValue is the value of LicensedLabel.
	LicensedLabelValue = "true"
	// WhenNoSeatAnnotation on a Pod or pod template asks what happens when no
	// Concurrent seat is free: Refuse (refused at admission) overrides the
	// policy's whenNoSeat. Queue is the default and cannot override a
	// policy that says Refuse.
	WhenNoSeatAnnotation = LabelPrefix + "when-no-seat"
	// KeySecretLabel, with the value "true", marks a Secret that holds a
	// licence key: the operator caches and watches such Secrets, so a change
	// of the key shows at once. Its generated key Secrets carry it; label a
	// Secret that spec.key names with it too (kubectl license import does).
	KeySecretLabel = LabelPrefix + "license-key"
	// GangAnnotation on a Pod or pod template, <name>/<size>, makes the Pod a
	// member of a gang: the gang's Pods wait in line, even with seats free,
	// until size members exist and size seats can be taken together; then
	// all start at once.
	GangAnnotation = LabelPrefix + "gang"
)

// CalendarDuration is a duration written as one whole number and one unit:
// y (calendar years), m (calendar months), w (weeks), d (days), h (hours) or
// min (minutes), for example 1y, 2m, 3w, 30d, 4h, 5min. Years and months are
// calendar arithmetic: Jan 31 + 1m is the last day of February.
// +kubebuilder:validation:Pattern=`^[0-9]{1,6}(y|m|w|d|h|min)$`
// +kubebuilder:validation:MaxLength=9
type CalendarDuration string

// Decimal is a non-negative decimal amount, written as a whole number (100) or
// as a string ("1200", "19.99"), so that money is never a floating-point
// number. The text is kept exactly as written; a fractional amount must be
// quoted, because a YAML or JSON number such as 12.5 is a float.
// +kubebuilder:validation:XIntOrString
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,4})?$`
// +kubebuilder:validation:MaxLength=17
// +kubebuilder:validation:XValidation:rule="type(self) != int || (self >= 0 && self <= 999999999999)",message="must be a whole number from 0 to 999999999999 such as 100, or a quoted decimal such as \"19.99\""
type Decimal string

// Percent is a decimal from 0 to 100, written as a whole number (25) or as a
// string ("12.5"); like Decimal, a fractional amount must be quoted.
// +kubebuilder:validation:XIntOrString
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:MaxLength=8
// +kubebuilder:validation:XValidation:rule="type(self) == int ? (self >= 0 && self <= 100) : (self.matches('^[0-9]{1,3}([.][0-9]{1,4})?$') && double(self) <= 100.0)",message="must be a decimal from 0 to 100, such as 25 or \"12.5\""
type Percent string

// CurrencyCode is an ISO 4217 currency code such as EUR or USD.
// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
type CurrencyCode string

// LicenseType is the licence model of a policy.
// +kubebuilder:validation:Enum=Perpetual;TimeLimited;Subscription;Consumption;OEM
type LicenseType string

const (
	// LicenseTypePerpetual never expires.
	LicenseTypePerpetual LicenseType = "Perpetual"
	// LicenseTypeTimeLimited is valid for validDuration from its start, or until expiryDate.
	LicenseTypeTimeLimited LicenseType = "TimeLimited"
	// LicenseTypeSubscription renews every validDuration while autoRenew is set.
	LicenseTypeSubscription LicenseType = "Subscription"
	// LicenseTypeConsumption counts usage against maxConsumptions.
	LicenseTypeConsumption LicenseType = "Consumption"
	// LicenseTypeOEM is seed 001's OEM licence: a perpetual licence to embed
	// the product in one the organisation distributes. It never expires, as
	// Perpetual does (an explicit spec.expiryDate still ends it); the type is
	// recorded in status.effectivePolicy and reported.
	LicenseTypeOEM LicenseType = "OEM"
)

// SeatModel says what one seat is.
// +kubebuilder:validation:Enum=Concurrent;NamedUser;NodeLocked;Site
type SeatModel string

const (
	// SeatModelConcurrent is a pool of simultaneous users: a seat is held by a
	// service account or by running Pods.
	SeatModelConcurrent SeatModel = "Concurrent"
	// SeatModelNamedUser ties each seat to one named person.
	SeatModelNamedUser SeatModel = "NamedUser"
	// SeatModelNodeLocked ties each seat to one node.
	SeatModelNodeLocked SeatModel = "NodeLocked"
	// SeatModelSite covers every workload of the namespaces the licence is shared with; seats are not counted.
	SeatModelSite SeatModel = "Site"
)

// Enforcement says what happens when seats run out.
// +kubebuilder:validation:Enum=Hard;Soft
type Enforcement string

const (
	// EnforcementHard never grants more seats than exist.
	EnforcementHard Enforcement = "Hard"
	// EnforcementSoft grants beyond the seats that exist, flags OverAllocated and warns.
	EnforcementSoft Enforcement = "Soft"
)

// WhenNoSeat says what happens to a Pod that needs a Concurrent seat when
// none is free.
// +kubebuilder:validation:Enum=Queue;Refuse
type WhenNoSeat string

const (
	// WhenNoSeatQueue admits the Pod with the scheduling gate SeatGate: it
	// waits in the line of its assignment and starts when a seat frees.
	WhenNoSeatQueue WhenNoSeat = "Queue"
	// WhenNoSeatRefuse refuses the Pod at admission.
	WhenNoSeatRefuse WhenNoSeat = "Refuse"
)

// NamespacesFrom says which namespaces may use something.
// +kubebuilder:validation:Enum=Namespace;All;Selector
type NamespacesFrom string

const (
	// NamespacesFromNamespace allows only the object's own namespace.
	NamespacesFromNamespace NamespacesFrom = "Namespace"
	// NamespacesFromAll allows every namespace.
	NamespacesFromAll NamespacesFrom = "All"
	// NamespacesFromSelector allows the namespaces matched by namespaceSelector.
	NamespacesFromSelector NamespacesFrom = "Selector"
)

// PolicyFeature is a product feature a policy grants: {code: export} or
// {code: export, maxConsumption: 5}. The seed's short form, the code alone
// as a string (features: [export, render]), is accepted too: the admission
// webhook stores it as {code: export}, and Go clients decode it the same way.
type PolicyFeature struct {
	// code identifies the feature, for example "export-step".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Code string `json:"code"`

	// maxConsumption is the most times the feature may be used per consumption
	// period (consumption.resetPeriod, from the licence's start): each Pod
	// admitted under the licence that asks for the feature (annotation
	// licensing.license-operator.dev/features) counts one use, and a Pod that
	// would go beyond it is refused until the period resets.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConsumption *int64 `json:"maxConsumption,omitempty"`
}

// UnmarshalJSON accepts the short form, a JSON string that is the code, as
// well as the object.
func (f *PolicyFeature) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var code string
		if err := json.Unmarshal(b, &code); err != nil {
			return err
		}
		*f = PolicyFeature{Code: code}
		return nil
	}
	type object PolicyFeature // without this method
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*f = PolicyFeature(o)
	return nil
}

// ConsumptionPolicy limits usage of a Consumption licence.
// +kubebuilder:validation:XValidation:rule="!has(self.maxOverages) || (has(self.allowOverages) && self.allowOverages)",message="consumption.maxOverages needs consumption.allowOverages: true"
type ConsumptionPolicy struct {
	// maxConsumptions is how many units of usage the licence allows per
	// period: each Pod the licence admits counts one (at admission), and the
	// usage its assignments report (spec.consumption) counts too. Once usage
	// reaches it (plus maxOverages when allowOverages), new Pods are refused
	// until the period resets (status.nextResetTime).
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConsumptions *int64 `json:"maxConsumptions,omitempty"`

	// allowOverages lets usage go beyond maxConsumptions, up to maxOverages more. Default false.
	// +optional
	AllowOverages *bool `json:"allowOverages,omitempty"`

	// maxOverages is the most usage allowed beyond maxConsumptions when allowOverages is true.
	// Absent with allowOverages means unlimited overage.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxOverages *int64 `json:"maxOverages,omitempty"`

	// resetPeriod resets consumption every period (any calendar duration, for
	// example 1m, 1w or 1min). Periods follow each other from the licence's
	// start (spec.startDate, else spec.purchaseDate, else its creation).
	// Absent means usage is never reset.
	// +optional
	ResetPeriod *CalendarDuration `json:"resetPeriod,omitempty"`
}

// PolicySettings are the properties a licence policy sets. Every field is
// optional: a licence resolves each field from its overrides, then its policy,
// then the product's default policy, then the built-in default.
type PolicySettings struct {
	// type is the licence model. Built-in default: Perpetual.
	// +optional
	Type *LicenseType `json:"type,omitempty"`

	// seatModel says what one seat is. Built-in default: Concurrent.
	// +optional
	SeatModel *SeatModel `json:"seatModel,omitempty"`

	// enforcement says what happens when seats run out: Hard never grants more
	// seats than exist, Soft grants, flags OverAllocated and warns. Built-in default: Hard.
	// +optional
	Enforcement *Enforcement `json:"enforcement,omitempty"`

	// whenNoSeat says what happens to a Pod that needs a Concurrent seat of
	// a Hard licence when none of its assignment's seats is free: Queue
	// admits it with the scheduling gate licensing.license-operator.dev/seat
	// and it waits in the line of its assignment (Pod priority, then
	// admission order) until a seat frees; Refuse refuses it. A Pod may ask
	// Refuse with the annotation licensing.license-operator.dev/when-no-seat.
	// Built-in default: Queue.
	// +optional
	WhenNoSeat *WhenNoSeat `json:"whenNoSeat,omitempty"`

	// maxActivations is the most assignments (activations) one licence may hold. Built-in default: 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	MaxActivations *int32 `json:"maxActivations,omitempty"`

	// validDuration is how long a licence is valid from its start when it has no expiryDate.
	// +optional
	ValidDuration *CalendarDuration `json:"validDuration,omitempty"`

	// maintenanceDuration is how long maintenance (updates, support) lasts from the start.
	// +optional
	MaintenanceDuration *CalendarDuration `json:"maintenanceDuration,omitempty"`

	// gracePeriod is how long workloads keep running after the licence's end. Built-in default: none.
	// +optional
	GracePeriod *CalendarDuration `json:"gracePeriod,omitempty"`

	// expiringSoonWindow is how long before the renewal time the licence counts as ExpiringSoon.
	// Built-in default: 90d.
	// +optional
	ExpiringSoonWindow *CalendarDuration `json:"expiringSoonWindow,omitempty"`

	// trial marks a trial licence. Built-in default: false.
	// +optional
	Trial *bool `json:"trial,omitempty"`

	// preventVM forbids use on virtual machines. Built-in default: false.
	// +optional
	PreventVM *bool `json:"preventVM,omitempty"`

	// maxTransfers is how many times an assignment may change its assignee. Built-in default: 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	MaxTransfers *int32 `json:"maxTransfers,omitempty"`

	// underUtilizedThresholdPercent flags the licence UnderUtilized when used seats are below
	// this share of the total. Absent means never UnderUtilized.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	UnderUtilizedThresholdPercent *int32 `json:"underUtilizedThresholdPercent,omitempty"`

	// features are the product features granted, each {code, maxConsumption}, or
	// just its code as a string (the short form features: [export, render],
	// stored as {code: export}).
	// +optional
	// +listType=map
	// +listMapKey=code
	// +kubebuilder:validation:MaxItems=64
	Features []PolicyFeature `json:"features,omitempty"`

	// consumption limits usage of a Consumption licence.
	// +optional
	Consumption *ConsumptionPolicy `json:"consumption,omitempty"`
}

// NamespaceSharing says which namespaces may use an object.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.namespaceSelector)",message="namespaceSelector is required when from is Selector"
// +kubebuilder:validation:XValidation:rule="self.from == 'Selector' || !has(self.namespaceSelector)",message="namespaceSelector is only allowed when from is Selector"
type NamespaceSharing struct {
	// from is Namespace (only the object's own namespace), All, or Selector
	// (the namespaces matched by namespaceSelector).
	// +optional
	// +kubebuilder:default=Namespace
	From NamespacesFrom `json:"from,omitempty"`

	// namespaceSelector selects the namespaces when from is Selector.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// ProductReference names a LicenseProduct.
type ProductReference struct {
	// name of the LicenseProduct.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
