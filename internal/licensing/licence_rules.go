package licensing

import (
	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// NeedsUsers says whether licence l of product p is user-based and names no
// user: a licence of a product that authorizes by User is held by the
// people it lists (seed 002 user-based licences), so without one it could
// never admit anything. The SoftwareLicense webhook refuses it.
func NeedsUsers(l *licensingv1alpha1.SoftwareLicense, p *licensingv1alpha1.LicenseProduct) bool {
	return p != nil && p.Spec.Authorization == licensingv1alpha1.AuthorizationUser && len(l.Spec.Users) == 0
}

// ZeroSeatsWarning is the admission warning of a licence with spec.seats 0,
// or "": such a licence grants nothing, and an administrator who meant
// unlimited seats (a site licence) leaves spec.seats out.
func ZeroSeatsWarning(l *licensingv1alpha1.SoftwareLicense) string {
	if l.Spec.Seats == nil || *l.Spec.Seats != 0 {
		return ""
	}
	return "spec.seats is 0: this licence grants no seat and every assignment of it waits; leave spec.seats out for unlimited seats (a site licence), or set the seats purchased"
}

// TrialAutoRenews says whether licence l, whose effective policy is eff,
// is a trial that asks to renew itself: a trial ends (seed 002), and the
// SoftwareLicense webhook refuses spec.autoRenew on it.
func TrialAutoRenews(l *licensingv1alpha1.SoftwareLicense, eff *licensingv1alpha1.PolicySettings) bool {
	return l.Spec.AutoRenew && eff != nil && eff.Trial != nil && *eff.Trial
}
