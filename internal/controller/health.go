package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// stalledCondition is the kstatus Stalled condition of a LicenseProduct or
// a SoftwareLicense, which follows their Ready: every reason these kinds
// are not Ready is a configuration error (a product, policy, bundle member
// or key that is missing) that only a person can fix, so Stalled is True
// exactly when Ready is False, with Ready's reason and message. The states
// of a licence (Expired, SeatsExhausted, OverAllocated) leave it Ready and
// not Stalled: docs/health.md.
func stalledCondition(ready metav1.Condition) metav1.Condition {
	if ready.Status == metav1.ConditionTrue {
		return metav1.Condition{Type: licensingv1alpha1.ConditionStalled, Status: metav1.ConditionFalse,
			Reason: licensingv1alpha1.ReasonConfigured, Message: "Everything the spec names exists"}
	}
	return metav1.Condition{Type: licensingv1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: ready.Reason, Message: ready.Message}
}
