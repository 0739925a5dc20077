package controller

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The consumption status of a Consumption licence: the uses of the Pods it
// admitted (counted at admission in its use ledger, a SeatLedger with
// spec.license that the admission webhook writes) plus the usage its
// assignments reported in spec.consumption, kept for the period
// (licensing.ComputeConsumptionStatus).

// gatherConsumption reads the uses in the licence's use ledger (from the
// cache). The assignments bound to the licence are those the seat decision
// read already (seatInputs.views, listed by status.license).
func (r *SoftwareLicenseReconciler) gatherConsumption(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (*licensingv1alpha1.LicenseUses, error) {
	led := &licensingv1alpha1.SeatLedger{}
	err := r.Get(ctx, types.NamespacedName{Namespace: lic.Namespace, Name: licensing.UsesLedgerName(lic.Name)}, led)
	switch {
	case err == nil:
		return led.Spec.Uses, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	}
	return nil, fmt.Errorf("reading the use ledger: %w", err)
}

// consumptionStatus returns, with no I/O, the licence's status.consumption
// and how it compares with the policy; nil for a licence that is not of type
// Consumption. Its reports are those of the assignments bound to the licence
// before or by this pass (plan.views and plan.decisions).
//
// An assignment's usage is read from the status this pass decided for it,
// when there is one: at a period boundary the seat decision rebases the
// assignment on the new period, and the usage it reported before the
// boundary belongs to the old one.
func consumptionStatus(lic *licensingv1alpha1.SoftwareLicense, eff *licensingv1alpha1.EffectivePolicy, periodStart *time.Time,
	uses *licensingv1alpha1.LicenseUses, plan seatPlan) (*licensingv1alpha1.ConsumptionStatus, *licensing.ConsumptionResult) {
	if eff.Type == nil || *eff.Type != licensingv1alpha1.LicenseTypeConsumption || periodStart == nil {
		return nil, nil
	}
	in := licensing.ConsumptionStatusInput{Policy: eff.Consumption, PeriodStart: *periodStart, Previous: lic.Status.Consumption,
		Uses: uses, Reports: map[string]int64{}}
	key := licensing.LicenseKey(lic)
	for k, a := range plan.views {
		bound := a.Status.License == key
		if d, ok := plan.decisions[k]; ok {
			bound = bound || d.Status.License == key
			view := a.DeepCopy()
			view.Status = d.Status
			a = view
		}
		if bound {
			in.Reports[reportKey(a)] = licensing.AssignmentUsage(a, *periodStart)
		}
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
