package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Event reasons of SoftwareLicense events; each is emitted once, on the
// transition it names.
const (
	// EventExpiringSoon: the licence entered its expiring-soon window (Warning: renew it).
	EventExpiringSoon = "ExpiringSoon"
	// EventInGracePeriod: the licence ended and is in its grace period (Warning).
	EventInGracePeriod = "InGracePeriod"
	// EventExpired: the licence ended, grace period included (Warning).
	EventExpired = "Expired"
	// EventRenewed: an auto-renewing licence started a new term (Normal).
	EventRenewed = "Renewed"
	// EventOverAllocated: more seats are used than the licence has (Warning).
	EventOverAllocated = "OverAllocated"
	// EventUnderUtilized: fewer seats are used than the utilisation threshold (Normal).
	EventUnderUtilized = "UnderUtilized"
	// EventHeldBySeats: the licence was deleted and stays until the
	// assignments holding its seats are released (Warning; names them).
	EventHeldBySeats = "HeldBySeats"
	// EventLicenseReleased, on an assignment: its licence was deleted with
	// its namespace and released its seats (Warning).
	EventLicenseReleased = "LicenseReleased"
	// EventSuspended: an administrator suspended the licence (Warning:
	// nothing new binds or is admitted under it).
	EventSuspended = "Suspended"
	// EventRevoked: an administrator revoked the licence (Warning).
	EventRevoked = "Revoked"
	// EventKeyGenerated: the operator generated the licence's key into its
	// key Secret (Normal; names the Secret and the key's fingerprint, never the key).
	EventKeyGenerated = "KeyGenerated"
)

// Event reasons of LicenseAssignment events, written by the licence
// controller that decides the assignment's seats; each is emitted once, on
// the status write that makes the transition.
const (
	// EventBound: the assignment was granted its seats on a licence (Normal).
	EventBound = "Bound"
	// EventReleased: the assignment gave its seats back (Normal).
	EventReleased = "Released"
	// EventRejected: the assignment can never bind as written (Warning;
	// carries the status message that says why).
	EventRejected = "Rejected"
)

// actionKey is the action of the key events.
const actionKey = "GenerateKey"

// Actions of SoftwareLicense events (events.k8s.io requires one).
const (
	actionLifecycle = "ComputeLifecycle"
	actionSeats     = "CountSeats"
)

// recordTransitions emits one event per transition between the status the
// licence had and the one just written: a dated or compliance condition that
// became True (from False or absent, so also on the first status of a
// licence created already expired), and a renewal. The condition messages
// carry dates and seat counts, never the key.
func (r *SoftwareLicenseReconciler) recordTransitions(lic *licensingv1alpha1.SoftwareLicense, old, cur *licensingv1alpha1.SoftwareLicenseStatus) {
	if r.Recorder == nil {
		return
	}
	for _, t := range []struct {
		condition, reason, eventType, action string
	}{
		{licensingv1alpha1.ConditionExpiringSoon, EventExpiringSoon, corev1.EventTypeWarning, actionLifecycle},
		{licensingv1alpha1.ConditionInGracePeriod, EventInGracePeriod, corev1.EventTypeWarning, actionLifecycle},
		{licensingv1alpha1.ConditionExpired, EventExpired, corev1.EventTypeWarning, actionLifecycle},
		{licensingv1alpha1.ConditionOverAllocated, EventOverAllocated, corev1.EventTypeWarning, actionSeats},
		{licensingv1alpha1.ConditionUnderUtilized, EventUnderUtilized, corev1.EventTypeNormal, actionSeats},
		{licensingv1alpha1.ConditionTerminating, EventHeldBySeats, corev1.EventTypeWarning, actionSeats},
	} {
		if meta.IsStatusConditionTrue(old.Conditions, t.condition) || !meta.IsStatusConditionTrue(cur.Conditions, t.condition) {
			continue
		}
		c := meta.FindStatusCondition(cur.Conditions, t.condition)
		r.Recorder.Eventf(lic, nil, t.eventType, t.reason, t.action, "%s", c.Message)
	}
	for _, t := range []struct {
		state  licensingv1alpha1.LicenseState
		reason string
	}{
		{licensingv1alpha1.LicenseStateSuspended, EventSuspended},
		{licensingv1alpha1.LicenseStateRevoked, EventRevoked},
	} {
		if old.State != t.state && cur.State == t.state {
			r.Recorder.Eventf(lic, nil, corev1.EventTypeWarning, t.reason, actionLifecycle, "%s",
				fmt.Sprintf("The licence is %s: it admits no new workload and binds no new assignment", strings.ToLower(string(t.state))))
		}
	}
	// A renewal seen on a licence that had a status before: a licence created
	// in its fifth term was not renewed by anything this operator saw.
	if old.State != "" && cur.Renewals > old.Renewals && cur.ValidUntil != nil {
		r.Recorder.Eventf(lic, nil, corev1.EventTypeNormal, EventRenewed, actionLifecycle,
			"%s", fmt.Sprintf("The licence renewed automatically (renewal %d): the new term runs until %s",
				cur.Renewals, stamp(cur.ValidUntil.Time)))
	}
}

// recordAssignmentTransition emits the event of an assignment's state
// change, from the status it had to the one just written: Bound (also a
// move to another licence), Released, Rejected. A write that keeps the
// state (a new queue position, a recount) emits nothing.
func (r *SoftwareLicenseReconciler) recordAssignmentTransition(a *licensingv1alpha1.LicenseAssignment, old, cur *licensingv1alpha1.LicenseAssignmentStatus) {
	if r.Recorder == nil {
		return
	}
	switch {
	case cur.State == licensingv1alpha1.AssignmentStateBound && (old.State != cur.State || old.License != cur.License):
		r.Recorder.Eventf(a, nil, corev1.EventTypeNormal, EventBound, actionSeats, "%s",
			fmt.Sprintf("Bound %d seat(s) of licence %s", cur.Seats, cur.License))
	case cur.State == licensingv1alpha1.AssignmentStateReleased && old.State != cur.State && old.License != "":
		// Only an assignment that held seats gives them back.
		r.Recorder.Eventf(a, nil, corev1.EventTypeNormal, EventReleased, actionSeats, "%s",
			fmt.Sprintf("Released its seats of licence %s", old.License))
	case cur.State == licensingv1alpha1.AssignmentStateRejected && old.State != cur.State:
		r.Recorder.Eventf(a, nil, corev1.EventTypeWarning, EventRejected, actionSeats, "%s", cur.Message)
	}
}

// recordKeyGenerated tells the licence its key was generated into secret.
func (r *SoftwareLicenseReconciler) recordKeyGenerated(lic *licensingv1alpha1.SoftwareLicense, secret, fingerprint string) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(lic, nil, corev1.EventTypeNormal, EventKeyGenerated, actionKey, "%s",
		fmt.Sprintf("Generated the licence key into Secret %s (%s)", secret, fingerprint))
}
