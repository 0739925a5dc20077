package controller

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// seatInputsOf is what gatherSeats would read for lic and its assignments:
// the licence alone in its pool, and the nodes.
func seatInputsOf(lic *v1.SoftwareLicense, nodes []*corev1.Node, assignments ...*v1.LicenseAssignment) seatInputs {
	in := seatInputs{
		grant: licensing.GrantInput{
			Licenses:    []licensing.GrantLicense{{License: lic, Covers: licenseCovers(lic), Deleting: !lic.DeletionTimestamp.IsZero()}},
			Assignments: assignments,
		},
		views: map[string]*v1.LicenseAssignment{},
	}
	for _, a := range assignments {
		in.views[licensing.AssignmentKey(a)] = a
	}
	for _, n := range nodes {
		if in.grant.Nodes == nil {
			in.grant.Nodes = map[string]*corev1.Node{}
		}
		in.grant.Nodes[n.Name] = n
	}
	return in
}

// TestComputeStatus computes a licence's status and seat decision from
// plain objects, with no client: what Reconcile then writes.
func TestComputeStatus(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	offlineSince := now.Add(-20 * time.Minute)
	lic := ut.MakeLicense("cad", "ns").Seats(2).SeatModel(v1.SeatModelNodeLocked).MaxActivations(5).
		OfflineGracePeriod("1h").Start(now.Add(-24 * time.Hour)).Obj()
	held := ut.MakeAssignment("held", "ns").Node("down").License("cad").Created(now.Add(-3*time.Hour)).
		BoundTo("ns/cad", 1, now.Add(-2*time.Hour)).Generation(1).Obj()
	held.Status.ObservedGeneration = 1
	fresh := ut.MakeAssignment("fresh", "ns").Node("up").License("cad").Created(now.Add(-time.Hour)).Generation(1).Obj()
	waiting := ut.MakeAssignment("waiting", "ns").Node("up-2").License("cad").Created(now.Add(-time.Minute)).Generation(1).Obj()
	nodes := []*corev1.Node{
		ut.MakeNode("down").Ready(corev1.ConditionFalse, offlineSince).Obj(),
		ut.MakeNode("up").Ready(corev1.ConditionTrue, now.Add(-time.Hour)).Obj(),
		ut.MakeNode("up-2").Obj(),
	}
	in := licenseInputs{seats: seatInputsOf(lic, nodes, held, fresh, waiting)}

	d, err := computeStatus(lic, in, now)
	if err != nil {
		t.Fatal(err)
	}
	st := d.status
	if st == nil {
		t.Fatal("no status")
	}
	if st.State != v1.LicenseStateActive || st.Seats.Used != 2 || st.Seats.Pending != 1 || st.Activations != 2 {
		t.Errorf("status: state %s, seats %+v, activations %d; want Active, 2 used, 1 pending, 2 activations", st.State, st.Seats, st.Activations)
	}
	if diff := cmp.Diff(ptr.To[int32](5), st.MaxActivations); diff != "" {
		t.Errorf("maxActivations (-want +got):\n%s", diff)
	}
	if !meta.IsStatusConditionTrue(st.Conditions, v1.ConditionSeatsExhausted) {
		t.Errorf("SeatsExhausted is not True: %+v", meta.FindStatusCondition(st.Conditions, v1.ConditionSeatsExhausted))
	}

	// The seat decision, first come, first served: held keeps its seat on
	// the NotReady node within its grace period (its status gains the Bound
	// condition the fixture lacks), fresh binds, waiting waits.
	if diff := cmp.Diff([]string{"ns/held", "ns/fresh", "ns/waiting"}, d.seats.writes); diff != "" {
		t.Errorf("assignment writes (-want +got):\n%s", diff)
	}
	if got := d.seats.decisions["ns/held"].Status; got.State != v1.AssignmentStateBound || got.Seats != 1 {
		t.Errorf("held: %s with %d seats, want Bound with 1", got.State, got.Seats)
	}
	if got := d.seats.decisions["ns/fresh"].Status; got.State != v1.AssignmentStateBound || got.License != "ns/cad" {
		t.Errorf("fresh: %s on %q, want Bound on ns/cad", got.State, got.License)
	}
	if got := d.seats.decisions["ns/waiting"].Status; got.State != v1.AssignmentStatePending || got.QueuePosition == nil || *got.QueuePosition != 1 {
		t.Errorf("waiting: %s at %v, want Pending at 1", got.State, got.QueuePosition)
	}
	if !d.seats.grants {
		t.Error("a new binding is not flagged as a grant (the fence and the licence re-read guard it)")
	}
	if d.seats.finalizer != finalizerEnsure {
		t.Errorf("finalizer action %v, want finalizerEnsure: the licence holds seats and has no finalizer", d.seats.finalizer)
	}
	// The next change: the NotReady node's grace period ends.
	if want := offlineSince.Add(time.Hour); d.next == nil || !d.next.Equal(want) {
		t.Errorf("next %v, want %v", d.next, want)
	}
	// Nothing was written: the inputs are as they were.
	if held.Status.State != v1.AssignmentStateBound || fresh.Status.State != "" || lic.Status.State != "" {
		t.Error("computeStatus changed its inputs")
	}

	// A licence that has the finalizer already keeps it.
	lic.Finalizers = []string{v1.LicenseFinalizer}
	if d, _ := computeStatus(lic, in, now); d.seats.finalizer != finalizerKeep {
		t.Errorf("finalizer action %v, want finalizerKeep", d.seats.finalizer)
	}
}

// TestComputeDeletionStatus: a licence being deleted keeps its status, names
// its holders in the Terminating condition, and lets its finalizer go once
// none are left.
func TestComputeDeletionStatus(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	lic := ut.MakeLicense("cad", "ns").Seats(2).Start(now.Add(-24 * time.Hour)).Deleting(now.Add(-time.Minute)).Obj()
	lic.Finalizers = []string{v1.LicenseFinalizer}
	lic.Status.EffectivePolicy = &v1.EffectivePolicy{PolicySettings: v1.PolicySettings{SeatModel: ptr.To(v1.SeatModelConcurrent)}}
	lic.Status.State = v1.LicenseStateActive
	holder := ut.MakeAssignment("holder", "ns").ServiceAccount("runner").License("cad").Created(now.Add(-time.Hour)).
		BoundTo("ns/cad", 1, now.Add(-time.Hour)).Obj()

	d, err := computeDeletionStatus(lic, seatInputsOf(lic, nil, holder), now)
	if err != nil {
		t.Fatal(err)
	}
	if d.status == nil {
		t.Fatal("no status while a holder keeps the licence")
	}
	c := meta.FindStatusCondition(d.status.Conditions, v1.ConditionTerminating)
	if c == nil || c.Status != "True" || c.Reason != v1.ReasonHeldBySeats {
		t.Errorf("Terminating %+v, want True HeldBySeats", c)
	}
	if d.status.State != v1.LicenseStateActive || d.status.Seats.Used != 1 {
		t.Errorf("status %s with %d used, want Active (kept) with 1", d.status.State, d.status.Seats.Used)
	}
	if d.seats.finalizer != finalizerKeep || d.seats.deletion != licensing.DeletionWait {
		t.Errorf("finalizer %v, deletion %s; want keep, Wait", d.seats.finalizer, d.seats.deletion)
	}

	d, err = computeDeletionStatus(lic, seatInputsOf(lic, nil), now)
	if err != nil {
		t.Fatal(err)
	}
	if d.status != nil || d.seats.finalizer != finalizerRemove {
		t.Errorf("without holders: status %v, finalizer %v; want no status write and finalizerRemove", d.status, d.seats.finalizer)
	}
}

// TestNodeLockedRequeuesAtTheOfflineGraceBoundary: Reconcile, on the fake
// clock, keeps the seat of a NotReady node within its grace period, asks to
// be requeued exactly when it ends, and at that instant frees the seat.
func TestNodeLockedRequeuesAtTheOfflineGraceBoundary(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	since := now.Add(-10 * time.Minute)
	h := newHarness(t, now,
		ut.MakeLicense("cad", "ns").Seats(1).SeatModel(v1.SeatModelNodeLocked).OfflineGracePeriod("1h").Obj(),
		ut.MakeNode("down").Ready(corev1.ConditionFalse, since).Obj(),
		ut.MakeAssignment("a", "ns").Node("down").License("cad").Created(now.Add(-time.Hour)).
			BoundTo("ns/cad", 1, now.Add(-time.Hour)).Obj())
	assignment := func() *v1.LicenseAssignment {
		var a v1.LicenseAssignment
		if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "a"}, &a); err != nil {
			t.Fatal(err)
		}
		return &a
	}

	res := h.reconcile("ns", "cad")
	if want := 50 * time.Minute; res.RequeueAfter != want {
		t.Errorf("RequeueAfter = %v, want %v (the end of the grace period)", res.RequeueAfter, want)
	}
	if a := assignment(); a.Status.State != v1.AssignmentStateBound {
		t.Errorf("within the grace period: %s, want Bound", a.Status.State)
	}

	h.clock.SetTime(since.Add(time.Hour))
	res = h.reconcile("ns", "cad")
	a := assignment()
	if a.Status.State != v1.AssignmentStatePending || meta.FindStatusCondition(a.Status.Conditions, v1.ConditionBound).Reason != v1.ReasonNodeOffline {
		t.Errorf("at the boundary: %s %+v, want Pending NodeOffline", a.Status.State, a.Status.Conditions)
	}
	if used := h.license("ns", "cad").Status.Seats.Used; used != 0 {
		t.Errorf("seats used %d after the node went offline, want 0", used)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("nothing left to wait for, but RequeueAfter = %v", res.RequeueAfter)
	}
}
