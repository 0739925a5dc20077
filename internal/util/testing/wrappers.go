// Package testing holds fixture builders and envtest helpers shared by the
// tests of every layer, so that no test builds licensing objects by hand.
package testing

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// ProductWrapper builds a LicenseProduct.
type ProductWrapper struct {
	licensingv1alpha1.LicenseProduct
}

// MakeProduct returns a Key-authorised product with no policies.
func MakeProduct(name string) *ProductWrapper {
	return &ProductWrapper{licensingv1alpha1.LicenseProduct{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: licensingv1alpha1.LicenseProductSpec{
			DisplayName:   name,
			Authorization: licensingv1alpha1.AuthorizationKey,
		},
	}}
}

// Obj returns the product.
func (w *ProductWrapper) Obj() *licensingv1alpha1.LicenseProduct { return &w.LicenseProduct }

// Vendor sets spec.vendor.
func (w *ProductWrapper) Vendor(v string) *ProductWrapper { w.Spec.Vendor = v; return w }

// SKU sets spec.sku.
func (w *ProductWrapper) SKU(v string) *ProductWrapper { w.Spec.SKU = v; return w }

// Authorization sets spec.authorization.
func (w *ProductWrapper) Authorization(a licensingv1alpha1.AuthorizationMethod) *ProductWrapper {
	w.Spec.Authorization = a
	return w
}

// Policy appends a policy.
func (w *ProductWrapper) Policy(p licensingv1alpha1.LicensePolicy) *ProductWrapper {
	w.Spec.Policies = append(w.Spec.Policies, p)
	return w
}

// DefaultPolicy sets spec.defaultPolicy.
func (w *ProductWrapper) DefaultPolicy(code string) *ProductWrapper {
	w.Spec.DefaultPolicy = code
	return w
}

// Bundle makes the product a bundle of the named products.
func (w *ProductWrapper) Bundle(products ...string) *ProductWrapper {
	w.Spec.Bundle = &licensingv1alpha1.BundleSpec{Products: products}
	return w
}

// Images sets spec.workloads.images.
func (w *ProductWrapper) Images(patterns ...string) *ProductWrapper {
	w.Spec.Workloads = &licensingv1alpha1.WorkloadMatch{Images: patterns}
	return w
}

// Pricing sets spec.pricing.
func (w *ProductWrapper) Pricing(listPrice, currency string, period licensingv1alpha1.CalendarDuration) *ProductWrapper {
	w.Spec.Pricing = &licensingv1alpha1.Pricing{
		ListPrice: ptr.To(licensingv1alpha1.Decimal(listPrice)),
		Currency:  licensingv1alpha1.CurrencyCode(currency),
		Unit:      licensingv1alpha1.PriceUnitSeat,
		Period:    ptr.To(period),
	}
	return w
}

// AllowAssignmentsFromSelector limits the product to namespaces with the given labels.
func (w *ProductWrapper) AllowAssignmentsFromSelector(labels map[string]string) *ProductWrapper {
	w.Spec.AllowAssignmentsFrom = &licensingv1alpha1.AllowAssignmentsFrom{
		From:              licensingv1alpha1.AssignmentsFromSelector,
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: labels},
	}
	return w
}

// PolicyWrapper builds a LicensePolicy.
type PolicyWrapper struct {
	licensingv1alpha1.LicensePolicy
}

// MakePolicy returns a policy with only its code set.
func MakePolicy(code string) *PolicyWrapper {
	return &PolicyWrapper{licensingv1alpha1.LicensePolicy{Code: code}}
}

// Obj returns the policy.
func (w *PolicyWrapper) Obj() licensingv1alpha1.LicensePolicy { return w.LicensePolicy }

// Type sets the licence type.
func (w *PolicyWrapper) Type(t licensingv1alpha1.LicenseType) *PolicyWrapper {
	w.PolicySettings.Type = &t
	return w
}

// SeatModel sets the seat model.
func (w *PolicyWrapper) SeatModel(m licensingv1alpha1.SeatModel) *PolicyWrapper {
	w.PolicySettings.SeatModel = &m
	return w
}

// Enforcement sets the enforcement.
func (w *PolicyWrapper) Enforcement(e licensingv1alpha1.Enforcement) *PolicyWrapper {
	w.PolicySettings.Enforcement = &e
	return w
}

// ValidDuration sets validDuration.
func (w *PolicyWrapper) ValidDuration(d licensingv1alpha1.CalendarDuration) *PolicyWrapper {
	w.PolicySettings.ValidDuration = &d
	return w
}

// GracePeriod sets gracePeriod.
func (w *PolicyWrapper) GracePeriod(d licensingv1alpha1.CalendarDuration) *PolicyWrapper {
	w.PolicySettings.GracePeriod = &d
	return w
}

// ExpiringSoonWindow sets expiringSoonWindow.
func (w *PolicyWrapper) ExpiringSoonWindow(d licensingv1alpha1.CalendarDuration) *PolicyWrapper {
	w.PolicySettings.ExpiringSoonWindow = &d
	return w
}

// MaxActivations sets maxActivations.
func (w *PolicyWrapper) MaxActivations(n int32) *PolicyWrapper {
	w.PolicySettings.MaxActivations = &n
	return w
}

// MaxTransfers sets maxTransfers.
func (w *PolicyWrapper) MaxTransfers(n int32) *PolicyWrapper {
	w.PolicySettings.MaxTransfers = &n
	return w
}

// Consumption sets the consumption limits.
func (w *PolicyWrapper) Consumption(c licensingv1alpha1.ConsumptionPolicy) *PolicyWrapper {
	w.PolicySettings.Consumption = &c
	return w
}

// LicenseWrapper builds a SoftwareLicense.
type LicenseWrapper struct {
	licensingv1alpha1.SoftwareLicense
}

// MakeLicense returns an Active licence with no product and unlimited seats.
func MakeLicense(name, namespace string) *LicenseWrapper {
	return &LicenseWrapper{licensingv1alpha1.SoftwareLicense{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
	}}
}

// Obj returns the licence.
func (w *LicenseWrapper) Obj() *licensingv1alpha1.SoftwareLicense { return &w.SoftwareLicense }

// Product sets spec.productRef.
func (w *LicenseWrapper) Product(name string) *LicenseWrapper {
	w.Spec.ProductRef = &licensingv1alpha1.ProductReference{Name: name}
	return w
}

// PolicyCode sets spec.policyCode.
func (w *LicenseWrapper) PolicyCode(code string) *LicenseWrapper { w.Spec.PolicyCode = code; return w }

// Seats sets spec.seats.
func (w *LicenseWrapper) Seats(n int32) *LicenseWrapper { w.Spec.Seats = &n; return w }

// Start sets spec.startDate.
func (w *LicenseWrapper) Start(t time.Time) *LicenseWrapper {
	w.Spec.StartDate = licensingv1alpha1.NewDate(t)
	return w
}

// Expiry sets spec.expiryDate.
func (w *LicenseWrapper) Expiry(t time.Time) *LicenseWrapper {
	w.Spec.ExpiryDate = licensingv1alpha1.NewDate(t)
	return w
}

// Renewal sets spec.renewalDate.
func (w *LicenseWrapper) Renewal(t time.Time) *LicenseWrapper {
	w.Spec.RenewalDate = licensingv1alpha1.NewDate(t)
	return w
}

// Purchased sets spec.purchaseDate.
func (w *LicenseWrapper) Purchased(t time.Time) *LicenseWrapper {
	w.Spec.PurchaseDate = licensingv1alpha1.NewDate(t)
	return w
}

// AutoRenew sets spec.autoRenew.
func (w *LicenseWrapper) AutoRenew() *LicenseWrapper { w.Spec.AutoRenew = true; return w }

// State sets spec.state.
func (w *LicenseWrapper) State(s licensingv1alpha1.AdminState) *LicenseWrapper {
	w.Spec.State = s
	return w
}

// Overrides sets spec.overrides.
func (w *LicenseWrapper) Overrides(o licensingv1alpha1.PolicySettings) *LicenseWrapper {
	w.Spec.Overrides = &o
	return w
}

// KeySecret sets spec.key.secretRef.
func (w *LicenseWrapper) KeySecret(name, key string) *LicenseWrapper {
	w.Spec.Key = &licensingv1alpha1.LicenseKeySource{SecretRef: licensingv1alpha1.SecretKeyReference{Name: name, Key: key}}
	return w
}

// IssuedKey sets spec.entitlement (platform other, ID ent-1) with
// keyFingerprint, the fingerprint of the key the platform issued.
func (w *LicenseWrapper) IssuedKey(fingerprint string) *LicenseWrapper {
	w.Spec.Entitlement = &licensingv1alpha1.Entitlement{Issuer: "other", EntitlementID: "ent-1", KeyFingerprint: fingerprint}
	return w
}

// Users sets spec.users.
func (w *LicenseWrapper) Users(emails ...string) *LicenseWrapper {
	w.Spec.Users = nil
	for _, e := range emails {
		w.Spec.Users = append(w.Spec.Users, licensingv1alpha1.LicenseUser{Email: e})
	}
	return w
}

// Discount sets spec.cost.negotiatedDiscountPercent and the list price.
func (w *LicenseWrapper) Discount(listPrice, percent string) *LicenseWrapper {
	if w.Spec.Cost == nil {
		w.Spec.Cost = &licensingv1alpha1.LicenseCost{}
	}
	if listPrice != "" {
		w.Spec.Cost.ListPrice = ptr.To(licensingv1alpha1.Decimal(listPrice))
	}
	w.Spec.Cost.NegotiatedDiscountPercent = licensingv1alpha1.Percent(percent)
	return w
}

// SharedWithAll shares the licence with every namespace.
func (w *LicenseWrapper) SharedWithAll() *LicenseWrapper {
	w.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromAll}
	return w
}

// SharedWithSelector shares the licence with the namespaces carrying the labels.
func (w *LicenseWrapper) SharedWithSelector(labels map[string]string) *LicenseWrapper {
	w.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{
		From:              licensingv1alpha1.NamespacesFromSelector,
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: labels},
	}
	return w
}

// Created sets metadata.creationTimestamp (for pure and fake-client tests).
func (w *LicenseWrapper) Created(t time.Time) *LicenseWrapper {
	w.CreationTimestamp = metav1.Time{Time: t}
	return w
}

// AssignmentWrapper builds a LicenseAssignment.
type AssignmentWrapper struct {
	licensingv1alpha1.LicenseAssignment
}

// MakeAssignment returns an assignment of one seat with no reference and no assignee.
func MakeAssignment(name, namespace string) *AssignmentWrapper {
	return &AssignmentWrapper{licensingv1alpha1.LicenseAssignment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       licensingv1alpha1.LicenseAssignmentSpec{Seats: 1},
	}}
}

// Obj returns the assignment.
func (w *AssignmentWrapper) Obj() *licensingv1alpha1.LicenseAssignment { return &w.LicenseAssignment }

// License sets spec.licenseRef in the assignment's namespace, or in namespace when given.
func (w *AssignmentWrapper) License(name string, namespace ...string) *AssignmentWrapper {
	ref := &licensingv1alpha1.LicenseReference{Name: name}
	if len(namespace) > 0 {
		ref.Namespace = namespace[0]
	}
	w.Spec.LicenseRef = ref
	return w
}

// Product sets spec.productRef.
func (w *AssignmentWrapper) Product(name string) *AssignmentWrapper {
	w.Spec.ProductRef = &licensingv1alpha1.ProductReference{Name: name}
	return w
}

// Seats sets spec.seats.
func (w *AssignmentWrapper) Seats(n int32) *AssignmentWrapper { w.Spec.Seats = n; return w }

// User makes a named user the assignee.
func (w *AssignmentWrapper) User(email string) *AssignmentWrapper {
	w.Spec.Assignee = licensingv1alpha1.Assignee{User: &licensingv1alpha1.UserAssignee{Email: email}}
	return w
}

// ServiceAccount makes a service account the assignee.
func (w *AssignmentWrapper) ServiceAccount(name string) *AssignmentWrapper {
	w.Spec.Assignee = licensingv1alpha1.Assignee{ServiceAccount: &licensingv1alpha1.ServiceAccountAssignee{Name: name}}
	return w
}

// Node makes a node the assignee.
func (w *AssignmentWrapper) Node(name string) *AssignmentWrapper {
	w.Spec.Assignee = licensingv1alpha1.Assignee{Node: &licensingv1alpha1.NodeAssignee{Name: name}}
	return w
}

// Workload makes the Pods matching the labels the assignee.
func (w *AssignmentWrapper) Workload(labels map[string]string) *AssignmentWrapper {
	w.Spec.Assignee = licensingv1alpha1.Assignee{Workload: &licensingv1alpha1.WorkloadAssignee{
		Selector: metav1.LabelSelector{MatchLabels: labels},
	}}
	return w
}

// Consumption sets spec.consumption.
func (w *AssignmentWrapper) Consumption(n int64) *AssignmentWrapper {
	w.Spec.Consumption = &n
	return w
}

// Created sets metadata.creationTimestamp (for pure and fake-client tests).
func (w *AssignmentWrapper) Created(t time.Time) *AssignmentWrapper {
	w.CreationTimestamp = metav1.Time{Time: t}
	return w
}

// Namespace sets metadata.namespace.
func (w *AssignmentWrapper) Namespace(ns string) *AssignmentWrapper {
	w.ObjectMeta.Namespace = ns
	return w
}

// Generation sets metadata.generation (for pure and fake-client tests).
func (w *AssignmentWrapper) Generation(g int64) *AssignmentWrapper {
	w.ObjectMeta.Generation = g
	return w
}

// Deleting sets metadata.deletionTimestamp (for pure tests).
func (w *AssignmentWrapper) Deleting(t time.Time) *AssignmentWrapper {
	w.DeletionTimestamp = &metav1.Time{Time: t}
	return w
}

// BoundTo sets the status of an assignment that holds seats of the licence
// "namespace/name", granted to its current spec.assignee at t.
func (w *AssignmentWrapper) BoundTo(license string, seats int32, t time.Time) *AssignmentWrapper {
	w.Status.State = licensingv1alpha1.AssignmentStateBound
	w.Status.License = license
	w.Status.Seats = seats
	w.Status.BoundTime = &metav1.Time{Time: t}
	w.Status.BoundAssignee = w.Spec.Assignee.DeepCopy()
	return w
}

// StatusState sets status.state.
func (w *AssignmentWrapper) StatusState(s licensingv1alpha1.AssignmentState) *AssignmentWrapper {
	w.Status.State = s
	return w
}

// BoundAssigneeUser sets status.boundAssignee to a user.
func (w *AssignmentWrapper) BoundAssigneeUser(email string) *AssignmentWrapper {
	w.Status.BoundAssignee = &licensingv1alpha1.Assignee{User: &licensingv1alpha1.UserAssignee{Email: email}}
	return w
}

// Transfers sets status.transfers.
func (w *AssignmentWrapper) Transfers(n int32) *AssignmentWrapper { w.Status.Transfers = n; return w }

// ConsumptionBaseline sets status.consumption: the baseline recorded for the
// period that began at periodStart.
func (w *AssignmentWrapper) ConsumptionBaseline(periodStart time.Time, baseline int64) *AssignmentWrapper {
	w.Status.Consumption = &licensingv1alpha1.AssignmentConsumption{PeriodStart: &metav1.Time{Time: periodStart}, Baseline: baseline}
	return w
}

// Deleting sets metadata.deletionTimestamp (for pure tests).
func (w *LicenseWrapper) Deleting(t time.Time) *LicenseWrapper {
	w.DeletionTimestamp = &metav1.Time{Time: t}
	return w
}

// SharedWithNamespace sets spec.sharing to the licence's own namespace (the default, made explicit).
func (w *LicenseWrapper) SharedWithNamespace() *LicenseWrapper {
	w.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromNamespace}
	return w
}

// MaxActivations sets spec.overrides.maxActivations.
func (w *LicenseWrapper) MaxActivations(n int32) *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.MaxActivations = &n
	return w
}

// SeatModel sets spec.overrides.seatModel.
func (w *LicenseWrapper) SeatModel(m licensingv1alpha1.SeatModel) *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.SeatModel = &m
	return w
}

// Enforcement sets spec.overrides.enforcement.
func (w *LicenseWrapper) Enforcement(e licensingv1alpha1.Enforcement) *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.Enforcement = &e
	return w
}

// MaxTransfers sets spec.overrides.maxTransfers.
func (w *LicenseWrapper) MaxTransfers(n int32) *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.MaxTransfers = &n
	return w
}

// ConsumptionLimit makes the licence a Consumption licence (spec.overrides)
// that allows max units per resetPeriod (no reset when resetPeriod is empty).
func (w *LicenseWrapper) ConsumptionLimit(max int64, resetPeriod licensingv1alpha1.CalendarDuration) *LicenseWrapper {
	if w.Spec.Overrides == nil {
		w.Spec.Overrides = &licensingv1alpha1.PolicySettings{}
	}
	w.Spec.Overrides.Type = ptr.To(licensingv1alpha1.LicenseTypeConsumption)
	w.Spec.Overrides.Consumption = &licensingv1alpha1.ConsumptionPolicy{MaxConsumptions: &max}
	if resetPeriod != "" {
		w.Spec.Overrides.Consumption.ResetPeriod = &resetPeriod
	}
	return w
}
