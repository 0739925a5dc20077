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

// consumptionStatus reads the licence's use ledger and the usage of the
// assignments bound to it, and returns its status.consumption and how it
// compares with the policy; nil for a licence that is not of type
// Consumption.
func (r *SoftwareLicenseReconciler) consumptionStatus(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense,
	eff *licensingv1alpha1.EffectivePolicy, periodStart *time.Time) (*licensingv1alpha1.ConsumptionStatus, *licensing.ConsumptionResult, error) {
	if eff.Type == nil || *eff.Type != licensingv1alpha1.LicenseTypeConsumption || periodStart == nil {
		return nil, nil, nil
	}
	in := licensing.ConsumptionStatusInput{Policy: eff.Consumption, PeriodStart: *periodStart, Previous: lic.Status.Consumption, Reports: map[string]int64{}}
	led := &licensingv1alpha1.SeatLedger{}
	err := r.Get(ctx, types.NamespacedName{Namespace: lic.Namespace, Name: licensing.UsesLedgerName(lic.Name)}, led)
	switch {
	case err == nil:
		in.Uses = led.Spec.Uses
	case !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("reading the use ledger: %w", err)
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	if err := r.List(ctx, asgs, client.MatchingFields{IndexAssignmentLicense: licensing.LicenseKey(lic)}); err != nil {
		return nil, nil, fmt.Errorf("listing the assignments of the licence: %w", err)
	}
	for i := range asgs.Items {
		a := &asgs.Items[i]
		in.Reports[reportKey(a)] = licensing.AssignmentUsage(a, *periodStart)
	}
	st, res := licensing.ComputeConsumptionStatus(in)
	return &st, &res, nil
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
