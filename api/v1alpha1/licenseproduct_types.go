package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AuthorizationMethod says how clients of a product prove they hold a licence.
// +kubebuilder:validation:Enum=Key;User
type AuthorizationMethod string

const (
	// AuthorizationKey licences carry a licence key; one is generated when none is given.
	AuthorizationKey AuthorizationMethod = "Key"
	// AuthorizationUser licences list their users; seats are held by named users.
	AuthorizationUser AuthorizationMethod = "User"
)

// PriceUnit is what one price unit buys.
// +kubebuilder:validation:Enum=Seat;Activation;Consumption
type PriceUnit string

const (
	// PriceUnitSeat prices one seat per period.
	PriceUnitSeat PriceUnit = "Seat"
	// PriceUnitActivation prices one activation per period.
	PriceUnitActivation PriceUnit = "Activation"
	// PriceUnitConsumption prices one unit of consumption.
	PriceUnitConsumption PriceUnit = "Consumption"
)

// Pricing is the product's list price.
type Pricing struct {
	// listPrice is the vendor list price of one unit for one period, as a decimal string.
	// +optional
	ListPrice *Decimal `json:"listPrice,omitempty"`

	// currency is the ISO 4217 code of listPrice.
	// +optional
	Currency CurrencyCode `json:"currency,omitempty"`

	// unit is what one price unit buys: Seat, Activation or Consumption.
	// +optional
	// +kubebuilder:default=Seat
	Unit PriceUnit `json:"unit,omitempty"`

	// period is the billing period of listPrice, for example 1y or 1m.
	// +optional
	Period *CalendarDuration `json:"period,omitempty"`

	// freeToUse means the product needs no seat and no budget: its Pods are
	// admitted without a licence or an assignment, the Pods that use it are
	// counted in status.uses, and the cost of its licences is 0.
	// +optional
	FreeToUse bool `json:"freeToUse,omitempty"`
}

// LicensePolicy is a named set of licence properties, chosen by a licence's
// policyCode or the product's defaultPolicy.
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'TimeLimited' || has(self.validDuration)",message="a TimeLimited policy needs validDuration"
// +kubebuilder:validation:XValidation:rule="!has(self.consumption) || !has(self.type) || self.type == 'Consumption'",message="consumption settings need type: Consumption"
type LicensePolicy struct {
	// code identifies the policy within the product.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$`
	Code string `json:"code"`

	// displayName is a human-readable name for the policy.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	PolicySettings `json:",inline"`
}

// BundleSpec lists the products a bundle contains.
type BundleSpec struct {
	// products are the names of the LicenseProducts this bundle includes. A seat on a
	// licence of the bundle is a seat on each of them.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	Products []string `json:"products"`
}

// WorkloadMatch says which workloads need a seat of the product.
type WorkloadMatch struct {
	// images are container image patterns; a Pod running a matching image needs a seat of
	// this product even without the product annotation. A pattern is an image reference
	// where '*' matches any run of characters, for example "registry.example.com/acme/cad:*"
	// or "*/acme-cad*".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Images []string `json:"images,omitempty"`
}

// AssignmentsFrom is All or Selector.
// +kubebuilder:validation:Enum=All;Selector
type AssignmentsFrom string

const (
	// AssignmentsFromAll accepts assignments from every namespace.
	AssignmentsFromAll AssignmentsFrom = "All"
	// AssignmentsFromSelector accepts assignments from the namespaces matched by namespaceSelector.
	AssignmentsFromSelector AssignmentsFrom = "Selector"
)

// AllowAssignmentsFrom says which namespaces may hold licences and assignments of a product.
// +kubebuilder:validation:XValidation:rule="self.from != 'Selector' || has(self.namespaceSelector)",message="namespaceSelector is required when from is Selector"
// +kubebuilder:validation:XValidation:rule="self.from == 'Selector' || !has(self.namespaceSelector)",message="namespaceSelector is only allowed when from is Selector"
type AllowAssignmentsFrom struct {
	// from is All (default) or Selector.
	// +optional
	// +kubebuilder:default=All
	From AssignmentsFrom `json:"from,omitempty"`

	// namespaceSelector selects the namespaces when from is Selector.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// LicenseProductSpec describes a licensable product: its catalog entry, price and policies.
// +kubebuilder:validation:XValidation:rule="!has(self.defaultPolicy) || (has(self.policies) && self.policies.exists(p, p.code == self.defaultPolicy))",message="defaultPolicy must name one of spec.policies[].code"
type LicenseProductSpec struct {
	// displayName is the full commercial name of the product.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// vendor is the software vendor or publisher.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Vendor string `json:"vendor,omitempty"`

	// sku is the vendor's SKU or part number.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SKU string `json:"sku,omitempty"`

	// description is a short, single-line description. Record field: the operator does not act on it; `kubectl license report` shows it with the product's totals (-o json|yaml).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// category groups similar products, for example "cad" or "database". Record field: the operator does not act on it; `kubectl license report` shows it with the product's totals and `--category` filters on it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Category string `json:"category,omitempty"`

	// tags group and filter products. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	Tags []string `json:"tags,omitempty"`

	// priority orders the catalog, ascending. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	Priority *int32 `json:"priority,omitempty"`

	// hidden hides the product from catalog listings. It does not make the product secret. Record field: kept for reporting and export; the operator does not act on it.
	// +optional
	Hidden bool `json:"hidden,omitempty"`

	// authorization is how clients prove a licence: Key (a licence key, generated when a
	// licence gives none) or User (licences list their users).
	// +optional
	// +kubebuilder:default=Key
	Authorization AuthorizationMethod `json:"authorization,omitempty"`

	// pricing is the product's list price.
	// +optional
	Pricing *Pricing `json:"pricing,omitempty"`

	// policies are the named licence policies of this product.
	// +optional
	// +listType=map
	// +listMapKey=code
	// +kubebuilder:validation:MaxItems=32
	Policies []LicensePolicy `json:"policies,omitempty"`

	// defaultPolicy is the code of the policy a licence gets when it names
	// none. It is a choice, not a layer: a licence that names another policy
	// takes nothing from this one.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	DefaultPolicy string `json:"defaultPolicy,omitempty"`

	// policyDefaults are product-wide values of policy fields (seed 002's
	// "product max activations" and "product max consumptions"), used where
	// the licence's policy leaves a field unset; a licence's overrides and
	// its policy beat them, and they beat the built-in defaults. Their source
	// in a licence's status.effectivePolicy.sources is "Product".
	// +optional
	PolicyDefaults *PolicySettings `json:"policyDefaults,omitempty"`

	// bundle makes this product a bundle of other products.
	// +optional
	Bundle *BundleSpec `json:"bundle,omitempty"`

	// workloads says which workloads need a seat of this product without being annotated.
	// +optional
	Workloads *WorkloadMatch `json:"workloads,omitempty"`

	// allowAssignmentsFrom says which namespaces may hold licences and assignments of this product.
	// Absent means all namespaces.
	// +optional
	AllowAssignmentsFrom *AllowAssignmentsFrom `json:"allowAssignmentsFrom,omitempty"`
}

// SeatCounts sums seats.
type SeatCounts struct {
	// total is the number of seats; absent when any counted licence is unlimited.
	// +optional
	Total *int32 `json:"total,omitempty"`

	// used is the number of seats held by bound assignments.
	// +optional
	Used int32 `json:"used"`

	// available is the sum of the licences' available seats (each licence's
	// total minus used, never below zero), so a licence over its seats does
	// not hide another's free ones; absent when total is.
	// +optional
	Available *int32 `json:"available,omitempty"`
}

// LicenseProductStatus is the observed state of a LicenseProduct.
type LicenseProductStatus struct {
	// observedGeneration is the generation this status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the product's policies and bundle
	// members are consistent; Stalled (kstatus) is True when Ready is False,
	// with its reason; Terminating while a deleted product waits for the
	// holders of its seats. Each carries observedGeneration. docs/health.md.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// licenses is the number of SoftwareLicenses of this product.
	// +optional
	Licenses int32 `json:"licenses"`

	// seats sums the seats of this product's licences.
	// +optional
	Seats SeatCounts `json:"seats"`

	// uses is the number of Pods that need this product and have not
	// finished, for a product with spec.pricing.freeToUse (they hold no seat,
	// so this is where their use shows). Absent for other products.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Uses *int32 `json:"uses,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=lprod,categories=licensing
// +kubebuilder:printcolumn:name="Vendor",type=string,JSONPath=`.spec.vendor`
// +kubebuilder:printcolumn:name="Auth",type=string,JSONPath=`.spec.authorization`
// +kubebuilder:printcolumn:name="Licenses",type=integer,JSONPath=`.status.licenses`
// +kubebuilder:printcolumn:name="Used",type=integer,JSONPath=`.status.seats.used`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.seats.total`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// LicenseProduct is a catalog entry for a licensable product: vendor, price,
// licence policies, bundle members and the workloads that need its seats.
// +kubebuilder:validation:XValidation:rule="!has(self.spec.bundle) || !(self.metadata.name in self.spec.bundle.products)",message="spec.bundle.products must not include the bundle itself"
type LicenseProduct struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the product.
	// +required
	Spec LicenseProductSpec `json:"spec"`

	// status is computed by the operator.
	// +optional
	Status LicenseProductStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LicenseProductList contains a list of LicenseProduct.
type LicenseProductList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LicenseProduct `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LicenseProduct{}, &LicenseProductList{})
}
