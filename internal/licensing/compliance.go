package licensing

import (
	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// ComputeCompliance is the compliance posture of a licence with total seats
// (nil when unlimited) of which used are held, given the effective
// underUtilizedThresholdPercent (nil when the licence is never UnderUtilized).
//
// OverAllocated wins over UnderUtilized: more seats held than exist is
// OverAllocated; otherwise, with total > 0, fewer than threshold percent of
// the total held is UnderUtilized; everything else is Compliant. An unlimited
// licence is never OverAllocated nor UnderUtilized.
func ComputeCompliance(used int32, total *int32, thresholdPercent *int32) licensingv1alpha1.Compliance {
	if total == nil {
		return licensingv1alpha1.ComplianceCompliant
	}
	if used > *total {
		return licensingv1alpha1.ComplianceOverAllocated
	}
	if thresholdPercent != nil && *total > 0 && int64(used)*100 < int64(*thresholdPercent)*int64(*total) {
		return licensingv1alpha1.ComplianceUnderUtilized
	}
	return licensingv1alpha1.ComplianceCompliant
}

// SeatsExhausted reports whether no seat of a licence with total seats (nil
// when unlimited) is free when used are held.
func SeatsExhausted(used int32, total *int32) bool {
	return total != nil && used >= *total
}

// AvailableSeats is total minus used, never below zero; nil when total is nil.
func AvailableSeats(used int32, total *int32) *int32 {
	if total == nil {
		return nil
	}
	available := max(*total-used, 0)
	return &available
}
