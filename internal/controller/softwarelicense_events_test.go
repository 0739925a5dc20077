package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/events"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// drain returns the events a fake recorder holds.
func drain(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestAssignmentTransitionEvents(t *testing.T) {
	bound := v1.LicenseAssignmentStatus{State: v1.AssignmentStateBound, License: "team-a/cad", Seats: 2}
	pending := v1.LicenseAssignmentStatus{State: v1.AssignmentStatePending}
	cases := map[string]struct {
		old, cur v1.LicenseAssignmentStatus
		want     []string
	}{
		"bound": {old: pending, cur: bound, want: []string{"Normal Bound Bound 2 seat(s) of licence team-a/cad"}},
		"a write that stays bound says nothing": {old: bound, cur: v1.LicenseAssignmentStatus{
			State: v1.AssignmentStateBound, License: "team-a/cad", Seats: 2, WaitingPods: 3}},
		"moved to another licence": {old: bound, cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStateBound, License: "team-a/cad-2", Seats: 2},
			want: []string{"Normal Bound Bound 2 seat(s) of licence team-a/cad-2"}},
		"released": {old: bound, cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStateReleased},
			want: []string{"Normal Released Released its seats of licence team-a/cad"}},
		"rejected": {old: pending, cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStateRejected, Message: "No more transfers"},
			want: []string{"Warning Rejected No more transfers"}},
		"released without having held a seat says nothing": {old: pending, cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStateReleased}},
		"rejected again says nothing": {old: v1.LicenseAssignmentStatus{State: v1.AssignmentStateRejected, Message: "a"},
			cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStateRejected, Message: "b"}},
		"a new queue position says nothing": {old: pending, cur: v1.LicenseAssignmentStatus{State: v1.AssignmentStatePending, Message: "third"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := events.NewFakeRecorder(10)
			r := &SoftwareLicenseReconciler{Recorder: rec}
			r.recordAssignmentTransition(ut.MakeAssignment("a", "team-a").Obj(), &c.old, &c.cur)
			if diff := cmp.Diff(c.want, drain(rec)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSuspendedAndRevokedEventsOnceEach(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &SoftwareLicenseReconciler{Recorder: rec}
	lic := ut.MakeLicense("cad", "team-a").Obj()
	active := &v1.SoftwareLicenseStatus{State: v1.LicenseStateActive}
	suspended := &v1.SoftwareLicenseStatus{State: v1.LicenseStateSuspended}
	revoked := &v1.SoftwareLicenseStatus{State: v1.LicenseStateRevoked}
	r.recordTransitions(lic, active, suspended)
	r.recordTransitions(lic, suspended, suspended) // a later pass
	r.recordTransitions(lic, suspended, revoked)
	r.recordTransitions(lic, revoked, revoked)
	want := []string{
		"Warning Suspended The licence is suspended: it admits no new workload and binds no new assignment",
		"Warning Revoked The licence is revoked: it admits no new workload and binds no new assignment",
	}
	if diff := cmp.Diff(want, drain(rec)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestKeyGeneratedEvent(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &SoftwareLicenseReconciler{Recorder: rec}
	r.recordKeyGenerated(ut.MakeLicense("cad", "team-a").Obj(), "cad-key", "sha256:ab")
	if diff := cmp.Diff([]string{"Normal KeyGenerated Generated the licence key into Secret cad-key (sha256:ab)"}, drain(rec)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
