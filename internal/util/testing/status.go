package testing

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// The status the operator would compute, for tests of what reads it (the
// kubectl plugin): written with Status().Update in envtest, where no
// operator runs.

// Computed sets status.state, status.seats (used of spec.seats, available
// the difference, never below zero) and status.activations.
func (w *LicenseWrapper) Computed(state licensingv1alpha1.LicenseState, used, activations int32) *LicenseWrapper {
	w.Status.State = state
	w.Status.Seats.Used = used
	w.Status.Seats.Total = w.Spec.Seats
	w.Status.Seats.Available = nil
	if w.Spec.Seats != nil {
		free := max(0, *w.Spec.Seats-used)
		w.Status.Seats.Available = &free
	}
	w.Status.Activations = activations
	w.Status.Compliance = licensingv1alpha1.ComplianceCompliant
	if w.Spec.Seats != nil && used > *w.Spec.Seats {
		w.Status.Compliance = licensingv1alpha1.ComplianceOverAllocated
	}
	return w
}

// StatusWaiting sets status.seats.waitingPods and status.seats.pending.
func (w *LicenseWrapper) StatusWaiting(pods, pendingSeats int32) *LicenseWrapper {
	w.Status.Seats.WaitingPods = pods
	w.Status.Seats.Pending = pendingSeats
	return w
}

// StatusCompliance sets status.compliance.
func (w *LicenseWrapper) StatusCompliance(c licensingv1alpha1.Compliance) *LicenseWrapper {
	w.Status.Compliance = c
	return w
}

// ResolvedProduct sets status.product: the product, its display name, vendor
// and SKU, covering itself and the products included.
func (w *LicenseWrapper) ResolvedProduct(name, displayName, vendor, sku string, included ...string) *LicenseWrapper {
	w.Status.Product = &licensingv1alpha1.ResolvedProduct{
		Name: name, DisplayName: displayName, Vendor: vendor, SKU: sku,
		Covers: append([]string{name}, included...),
	}
	return w
}

// EffectiveSeatModel sets status.effectivePolicy.seatModel.
func (w *LicenseWrapper) EffectiveSeatModel(m licensingv1alpha1.SeatModel) *LicenseWrapper {
	if w.Status.EffectivePolicy == nil {
		w.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{}
	}
	w.Status.EffectivePolicy.SeatModel = &m
	return w
}

// Term sets status.validFrom, validUntil and renewalTime (renewal, else until).
func (w *LicenseWrapper) Term(from, until time.Time, renewal *time.Time) *LicenseWrapper {
	w.Status.ValidFrom = &metav1.Time{Time: from}
	w.Status.ValidUntil = &metav1.Time{Time: until}
	w.Status.RenewalTime = &metav1.Time{Time: until}
	if renewal != nil {
		w.Status.RenewalTime = &metav1.Time{Time: *renewal}
	}
	return w
}

// CostStatus sets status.cost.
func (w *LicenseWrapper) CostStatus(unitPrice, total, currency string, period licensingv1alpha1.CalendarDuration) *LicenseWrapper {
	w.Status.Cost = &licensingv1alpha1.CostStatus{
		UnitPrice: licensingv1alpha1.Decimal(unitPrice), Total: licensingv1alpha1.Decimal(total),
		Currency: licensingv1alpha1.CurrencyCode(currency), Period: period,
	}
	return w
}

// StatusWaitingPods sets status.waitingPods.
func (w *AssignmentWrapper) StatusWaitingPods(n int32) *AssignmentWrapper {
	w.Status.WaitingPods = n
	return w
}

// Queued sets the status of an assignment waiting at position pos of its
// licence's queue, with the message that says why.
func (w *AssignmentWrapper) Queued(pos int32, message string) *AssignmentWrapper {
	w.Status.State = licensingv1alpha1.AssignmentStatePending
	w.Status.QueuePosition = &pos
	w.Status.Message = message
	return w
}

// Licensed labels the Pod as the mutating Pod webhook does when it admits it
// for a product (licensingv1alpha1.LicensedLabel).
func (w *PodWrapper) Licensed() *PodWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[licensingv1alpha1.LicensedLabel] = licensingv1alpha1.LicensedLabelValue
	return w
}

// SeatGated adds the seat's scheduling gate: the Pod waits in line.
func (w *PodWrapper) SeatGated() *PodWrapper {
	w.Spec.SchedulingGates = append(w.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: licensingv1alpha1.SeatGate})
	return w
}

// Label sets a label of the Pod.
func (w *PodWrapper) Label(k, v string) *PodWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[k] = v
	return w
}
