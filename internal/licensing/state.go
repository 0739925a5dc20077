package licensing

import (
	"time"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// State is the lifecycle state of a licence at now. An administrator's
// Revoked or Suspended wins; otherwise the licence is Pending before Start,
// InGracePeriod from ValidUntil until GraceUntil, Expired from GraceUntil (or
// from ValidUntil without a grace period), ExpiringSoon from
// ExpiringSoonFrom, and Active otherwise. Every boundary belongs to the later
// state: at exactly ValidUntil the licence is no longer Active.
//
// ExpiringSoon lasts until ValidUntil; a licence that never ends but has a
// renewalDate is ExpiringSoon from the window's start until the renewalDate.
// An auto-renewing licence is ExpiringSoon before the end of each term too:
// its renewal is due, even if it will happen by itself.
func (l Lifecycle) State(admin licensingv1alpha1.AdminState, now time.Time) licensingv1alpha1.LicenseState {
	switch admin {
	case licensingv1alpha1.AdminStateRevoked:
		return licensingv1alpha1.LicenseStateRevoked
	case licensingv1alpha1.AdminStateSuspended:
		return licensingv1alpha1.LicenseStateSuspended
	}
	switch {
	case now.Before(l.Start):
		return licensingv1alpha1.LicenseStatePending
	case l.ValidUntil != nil && !now.Before(*l.ValidUntil):
		if l.GraceUntil != nil && now.Before(*l.GraceUntil) {
			return licensingv1alpha1.LicenseStateInGracePeriod
		}
		return licensingv1alpha1.LicenseStateExpired
	case l.ExpiringSoonFrom != nil && !now.Before(*l.ExpiringSoonFrom) &&
		(l.ValidUntil != nil || now.Before(*l.RenewalTime)):
		return licensingv1alpha1.LicenseStateExpiringSoon
	}
	return licensingv1alpha1.LicenseStateActive
}

// NextBoundary is the earliest instant after now at which anything computed
// from the lifecycle changes: the start, the start of the expiring-soon
// window, the renewal time, the end of the term (a renewal for an
// auto-renewing licence), the end of the grace period, the end of
// maintenance or the next consumption reset. It returns false when nothing
// will ever change.
func (l Lifecycle) NextBoundary(now time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range []*time.Time{&l.Start, l.ExpiringSoonFrom, l.RenewalTime, l.ValidUntil, l.GraceUntil, l.MaintenanceUntil, l.NextReset} {
		if t != nil && t.After(now) && (!found || t.Before(next)) {
			next, found = *t, true
		}
	}
	return next, found
}

// Usable reports whether a licence in state s may bind seats and admit
// workloads: Active, ExpiringSoon or InGracePeriod.
func Usable(s licensingv1alpha1.LicenseState) bool {
	switch s {
	case licensingv1alpha1.LicenseStateActive, licensingv1alpha1.LicenseStateExpiringSoon, licensingv1alpha1.LicenseStateInGracePeriod:
		return true
	}
	return false
}
