package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The consumption status of a Consumption licence: the uses of the Pods it
// admitted (counted at admission in its use ledger, a SeatLedger with
// spec.license that the admission webhook writes) plus the usage its
// assignments reported in spec.consumption, kept for the period
// (licensing.ComputeConsumptionStatus).

// consumptionInputs are what the consumption status is computed from: the
// uses in the licence's use ledger and the assignments bound to it.
type consumptionInputs struct {
	uses        *licensingv1alpha1.LicenseUses
	assignments []licensingv1alpha1.LicenseAssignment
}

// gatherConsumption reads the licence's use ledger and the assignments bound
// to it (both from the cache).
func (r *SoftwareLicenseReconciler) gatherConsumption(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (consumptionInputs, error) {
	var in consumptionInputs
	led := &licensingv1alpha1.SeatLedger{}
	err := r.Get(ctx, types.NamespacedName{Namespace: lic.Namespace, Name: licensing.UsesLedgerName(lic.Name)}, led)
	switch {
	case err == nil:
		in.uses = led.Spec.Uses
	case !apierrors.IsNotFound(err):
		return in, fmt.Errorf("reading the use ledger: %w", err)
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	if err := r.List(ctx, asgs, client.MatchingFields{IndexAssignmentLicense: licensing.LicenseKey(lic)}); err != nil {
		return in, fmt.Errorf("listing the assignments of the licence: %w", err)
	}
	in.assignments = asgs.Items
	return in, nil
}

// consumptionStatus returns, with no I/O, the licence's status.consumption
// and how it compares with the policy; nil for a licence that is not of type
// Consumption.
//
// An assignment's usage is read from the status this pass decided for it
// (decided), when that status is for the current period: at a period
// boundary the seat decision rebases the assignment on the new period, and
// the usage it reported before the boundary belongs to the old one.
func consumptionStatus(lic *licensingv1alpha1.SoftwareLicense, eff *licensingv1alpha1.EffectivePolicy, periodStart *time.Time,
	ci consumptionInputs, decided map[string]licensing.AssignmentDecision) (*licensingv1alpha1.ConsumptionStatus, *licensing.ConsumptionResult) {
	if eff.Type == nil || *eff.Type != licensingv1alpha1.LicenseTypeConsumption || periodStart == nil {
		return nil, nil
	}
	in := licensing.ConsumptionStatusInput{Policy: eff.Consumption, PeriodStart: *periodStart, Previous: lic.Status.Consumption,
		Uses: ci.uses, Reports: map[string]int64{}}
	for i := range ci.assignments {
		a := &ci.assignments[i]
		if d, ok := decided[licensing.AssignmentKey(a)]; ok {
			view := a.DeepCopy()
			view.Status = d.Status
			a = view
		}
		in.Reports[reportKey(a)] = licensing.AssignmentUsage(a, *periodStart)
	}
	st, res := licensing.ComputeConsumptionStatus(in)
	return &st, &res
}

// watchConsumption reconciles a licence when its use ledger changes (an
// admitted Pod took a use).
func watchConsumption(b *builder.Builder) *builder.Builder {
	return b.Owns(&licensingv1alpha1.SeatLedger{})
}

// reportKey is the key of an assignment's usage in status.consumption.reportedBy:
// its UID (the API server always sets one; a fake client in tests may not,
// and then its namespace/name stands in).
func reportKey(a *licensingv1alpha1.LicenseAssignment) string {
	if a.UID != "" {
		return string(a.UID)
	}
	return a.Namespace + "/" + a.Name
}
