package licensing

import (
	"fmt"
	"time"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// AssignmentUsage is the usage one assignment reported in the licence's
// current consumption period: its running total spec.consumption less the
// baseline recorded in its status when that baseline is for the period that
// began at periodStart, else the whole running total (the assignment has not
// been rebased on the current period yet). Never negative.
func AssignmentUsage(a *licensingv1alpha1.LicenseAssignment, periodStart time.Time) int64 {
	if a.Spec.Consumption == nil {
		return 0
	}
	used := *a.Spec.Consumption
	if c := a.Status.Consumption; c != nil && c.PeriodStart != nil && c.PeriodStart.Time.Equal(periodStart) {
		used -= c.Baseline
	}
	return max(used, 0)
}

// ConsumptionResult is the usage of a Consumption licence in its current period.
type ConsumptionResult struct {
	// Used is the usage in the current period.
	Used int64
	// Overage is the usage beyond maxConsumptions.
	Overage int64
	// Exhausted is true when usage reached maxConsumptions plus the allowed
	// overages: nothing more may be used this period.
	Exhausted bool
}

// ComputeConsumption compares used with the consumption policy: overage is
// what is beyond maxConsumptions; the licence is exhausted at maxConsumptions
// without allowOverages, at maxConsumptions + maxOverages with both, and
// never with allowOverages and no maxOverages or without maxConsumptions.
func ComputeConsumption(policy *licensingv1alpha1.ConsumptionPolicy, used int64) ConsumptionResult {
	r := ConsumptionResult{Used: used}
	if policy == nil || policy.MaxConsumptions == nil {
		return r
	}
	limit := *policy.MaxConsumptions
	r.Overage = max(used-limit, 0)
	switch {
	case policy.AllowOverages == nil || !*policy.AllowOverages:
		r.Exhausted = used >= limit
	case policy.MaxOverages != nil:
		r.Exhausted = used >= limit+*policy.MaxOverages
	}
	return r
}

// ConsumptionLimitText words the limit of a consumption policy for messages,
// with the names of its fields: "maxConsumptions 100 plus maxOverages 20",
// "maxConsumptions 100", or "no maxConsumptions".
func ConsumptionLimitText(policy *licensingv1alpha1.ConsumptionPolicy) string {
	if policy == nil || policy.MaxConsumptions == nil {
		return "no maxConsumptions"
	}
	s := fmt.Sprintf("maxConsumptions %d", *policy.MaxConsumptions)
	if policy.AllowOverages != nil && *policy.AllowOverages && policy.MaxOverages != nil {
		s += fmt.Sprintf(" plus maxOverages %d", *policy.MaxOverages)
	}
	return s
}
