package controller

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// reconcileSeats counts what the assignments of a licence hold. usable says
// whether the licence may grant seats now (Ready); counting does not depend
// on it, binding will. eff is its effective policy.
//
// It counts, through field indexes and never by listing every assignment:
//   - Used, Activations and Consumption over the assignments bound to the
//     licence (IndexAssignmentLicense, status.state Bound): their
//     status.seats, their number, and their usage in the current consumption
//     period (licensing.AssignmentUsage);
//   - Pending over the assignments whose spec.licenseRef names the licence
//     (IndexAssignmentLicenseRef) and that wait for seats (status.state
//     Pending, or not yet set): their spec.seats. Rejected and Released
//     assignments wait for nothing.
func (r *SoftwareLicenseReconciler) reconcileSeats(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense,
	eff *licensingv1alpha1.EffectivePolicy, usable bool) (licensing.SeatUsage, error) {
	key := LicenseKey(lic.Namespace, lic.Name)
	var usage licensing.SeatUsage

	var bound licensingv1alpha1.LicenseAssignmentList
	if err := r.List(ctx, &bound, client.MatchingFields{IndexAssignmentLicense: key}); err != nil {
		return usage, fmt.Errorf("listing the assignments bound to the licence: %w", err)
	}
	periodStart, err := r.consumptionPeriodStart(lic, eff)
	if err != nil {
		return usage, err
	}
	for i := range bound.Items {
		a := &bound.Items[i]
		if a.Status.State != licensingv1alpha1.AssignmentStateBound {
			continue
		}
		usage.Used += a.Status.Seats
		usage.Activations++
		if periodStart != nil {
			usage.Consumption += licensing.AssignmentUsage(a, *periodStart)
		}
	}

	var referencing licensingv1alpha1.LicenseAssignmentList
	if err := r.List(ctx, &referencing, client.MatchingFields{IndexAssignmentLicenseRef: key}); err != nil {
		return usage, fmt.Errorf("listing the assignments that reference the licence: %w", err)
	}
	for i := range referencing.Items {
		a := &referencing.Items[i]
		if a.Status.State == "" || a.Status.State == licensingv1alpha1.AssignmentStatePending {
			usage.Pending += a.Spec.Seats
		}
	}
	return usage, nil
}

// consumptionPeriodStart is the start of the licence's current consumption
// period, nil when it is no Consumption licence.
func (r *SoftwareLicenseReconciler) consumptionPeriodStart(lic *licensingv1alpha1.SoftwareLicense,
	eff *licensingv1alpha1.EffectivePolicy) (*time.Time, error) {
	life, err := licensing.ComputeLifecycle(lic, &eff.PolicySettings, r.Clock.Now())
	if err != nil {
		return nil, err
	}
	return life.PeriodStart, nil
}
