package licensing

import licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"

// ActivationLimit is the most assignments (activations) a licence may hold,
// nil when only its seats limit them. policy is the licence's effective
// policy (nil while it does not resolve: the built-in limit of its product
// applies, BuiltinPolicyFor), product its LicenseProduct (nil without one).
// The built-in maxActivations of 1 applies to Key products only (seed 002);
// a Site licence binds everything and has no limit. Grant enforces it and
// status.maxActivations shows it.
func ActivationLimit(policy *licensingv1alpha1.EffectivePolicy, product *licensingv1alpha1.LicenseProduct) *int32 {
	if policy == nil {
		return BuiltinPolicyFor(product).MaxActivations
	}
	if policy.SeatModel != nil && *policy.SeatModel == licensingv1alpha1.SeatModelSite {
		return nil
	}
	return policy.MaxActivations
}
