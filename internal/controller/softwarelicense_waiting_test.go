package controller

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// waitingLedger is the seat ledger of assignment ns/assignment with the
// Pods pods waiting in its line.
func waitingLedger(ns, assignment string, pods ...string) *v1.SeatLedger {
	l := ut.MakeSeatLedger("seat-ledger-"+assignment, ns, assignment).Obj()
	for i, p := range pods {
		l.Spec.Waiting = append(l.Spec.Waiting, v1.SeatLedgerWaiter{Pod: p, UID: "uid-" + p,
			Queued: metav1.NewMicroTime(time.Date(2026, 3, 10, 11, 0, i, 0, time.UTC))})
	}
	return l
}

// TestComputeStatusWaitingPods: status.waitingPods of a Bound assignment is
// the length of its line, 0 for one that is not Bound, and the licence's
// status.seats.waitingPods sums its Bound assignments.
func TestComputeStatusWaitingPods(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	lic := ut.MakeLicense("cad", "ns").Seats(2).Start(now.Add(-24 * time.Hour)).Obj()
	lic.Finalizers = []string{v1.LicenseFinalizer}
	web := ut.MakeAssignment("web", "ns").ServiceAccount("web").License("cad").Created(now.Add(-3*time.Hour)).
		BoundTo("ns/cad", 1, now.Add(-2*time.Hour)).Obj()
	batch := ut.MakeAssignment("batch", "ns").ServiceAccount("batch").License("cad").Created(now.Add(-2*time.Hour)).
		BoundTo("ns/cad", 1, now.Add(-2*time.Hour)).Obj()
	late := ut.MakeAssignment("late", "ns").ServiceAccount("late").License("cad").Created(now.Add(-time.Hour)).Obj()
	late.Status.WaitingPods = 9 // stale: it holds no seats, nobody waits for them

	in := licenseInputs{seats: seatInputsOf(lic, nil, web, batch, late)}
	in.seats.waiting = map[string]int32{"ns/web": 3, "ns/batch": 1, "ns/late": 4}
	d, err := computeStatus(lic, in, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for k, dec := range d.seats.decisions {
		got[k] = dec.Status.WaitingPods
	}
	if diff := cmp.Diff(map[string]int32{"ns/web": 3, "ns/batch": 1, "ns/late": 0}, got); diff != "" {
		t.Errorf("assignment waitingPods (-want +got):\n%s", diff)
	}
	if d.status.Seats.WaitingPods != 4 {
		t.Errorf("licence status.seats.waitingPods = %d, want 4 (3 + 1 of the Bound assignments)", d.status.Seats.WaitingPods)
	}
	if d.status.Seats.Pending != 1 || d.status.Seats.Used != 2 {
		t.Errorf("seats %+v: waiting Pods changed the assignments' seats (want 2 used, 1 pending)", d.status.Seats)
	}

	// The assignments as written: nothing left to write while the lines stay.
	for k, a := range in.seats.views {
		written := a.DeepCopy()
		written.Status = d.seats.decisions[k].Status
		in.seats.views[k] = written
	}
	in.seats.grant.Assignments = []*v1.LicenseAssignment{in.seats.views["ns/web"], in.seats.views["ns/batch"], in.seats.views["ns/late"]}
	if d, _ = computeStatus(lic, in, now); len(d.seats.writes) != 0 {
		t.Errorf("writes %v with every line unchanged, want none", d.seats.writes)
	}

	// One Pod of web's line takes a seat and leaves the line: web is written again.
	in.seats.waiting["ns/web"] = 2
	if d, _ = computeStatus(lic, in, now); !cmp.Equal([]string{"ns/web"}, d.seats.writes) {
		t.Errorf("writes %v after web's line shortened, want [ns/web]", d.seats.writes)
	}
	if got := d.seats.decisions["ns/web"].Status.WaitingPods; got != 2 || d.status.Seats.WaitingPods != 3 {
		t.Errorf("web waitingPods %d, licence %d; want 2 and 3", got, d.status.Seats.WaitingPods)
	}

	// A licence being deleted keeps counting the lines of its holders.
	deleting := lic.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	deleting.Status.EffectivePolicy = d.status.EffectivePolicy
	dd, err := computeDeletionStatus(deleting, in.seats, now)
	if err != nil {
		t.Fatal(err)
	}
	if dd.status == nil || dd.status.Seats.WaitingPods != 3 {
		t.Errorf("deleting licence status %+v, want seats.waitingPods 3", dd.status)
	}
}

// TestReconcileWaitingPods: a reconcile reads the lines from the seat
// ledgers, writes status.waitingPods on the assignments it answers for and
// on the licence, and sets the queue-length gauge.
func TestReconcileWaitingPods(t *testing.T) {
	now := at(t, "2026-03-10T12:00:00Z")
	lic := ut.MakeLicense("cad", "ns").Seats(3).Start(now.Add(-24 * time.Hour)).Obj()
	lic.Finalizers = []string{v1.LicenseFinalizer}
	h := newHarness(t, now, lic,
		bound(ut.MakeAssignment("web", "ns").ServiceAccount("web").License("cad"), "ns/cad", 1),
		bound(ut.MakeAssignment("batch", "ns").ServiceAccount("batch").License("cad"), "ns/cad", 2),
		waitingLedger("ns", "web", "web-3", "web-4"),
		waitingLedger("ns", "batch"),
		// Another licence's assignment, in line for its own seats: not counted here.
		bound(ut.MakeAssignment("other", "ns").ServiceAccount("other").License("cam"), "ns/cam", 1),
		waitingLedger("ns", "other", "other-1"),
	)
	h.reconcile("ns", "cad")
	assignment := func(name string) *v1.LicenseAssignment {
		a := &v1.LicenseAssignment{}
		if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	// check compares the counts with the lines of web and batch.
	check := func(when string, web, batch int32) {
		t.Helper()
		if w, b := assignment("web").Status.WaitingPods, assignment("batch").Status.WaitingPods; w != web || b != batch {
			t.Errorf("%s: waitingPods web %d, batch %d; want %d and %d", when, w, b, web, batch)
		}
		if got := h.license("ns", "cad").Status.Seats.WaitingPods; got != web+batch {
			t.Errorf("%s: licence status.seats.waitingPods = %d, want %d", when, got, web+batch)
		}
		if got := queueLength(t, "ns", "cad"); got != float64(web+batch) {
			t.Errorf("%s: queue length gauge %v, want %d", when, got, web+batch)
		}
	}
	check("first reconcile", 2, 0)

	// The line of batch grows, web's empties.
	for name, pods := range map[string][]string{"web": nil, "batch": {"batch-1", "batch-2", "batch-3"}} {
		l := &v1.SeatLedger{}
		if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "seat-ledger-" + name}, l); err != nil {
			t.Fatal(err)
		}
		l.Spec.Waiting = waitingLedger("ns", name, pods...).Spec.Waiting
		if err := h.client.Update(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	h.reconcile("ns", "cad")
	check("after the lines moved", 0, 3)

	// The licence goes (its finalizer removed by hand): so does its gauge.
	if err := h.client.Delete(context.Background(), h.license("ns", "cad")); err != nil {
		t.Fatal(err)
	}
	gone := h.license("ns", "cad")
	gone.Finalizers = nil
	if err := h.client.Update(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	h.reconcile("ns", "cad")
	if got := queueLength(t, "ns", "cad"); got != -1 {
		t.Errorf("queue length gauge %v after the licence was deleted, want no series", got)
	}
}

func TestLedgerWaitingChanged(t *testing.T) {
	two := waitingLedger("ns", "web", "a", "b")
	reordered := waitingLedger("ns", "web", "b", "a")
	one := waitingLedger("ns", "web", "a")
	moreSeats := two.DeepCopy()
	moreSeats.Spec.Entries = append(moreSeats.Spec.Entries, v1.SeatLedgerEntry{Pod: "c", UID: "uid-c"})
	cases := map[string]struct {
		old, new *v1.SeatLedger
		want     bool
	}{
		"a Pod leaves the line":            {old: two, new: one, want: true},
		"a Pod joins the line":             {old: one, new: two, want: true},
		"the line is reordered":            {old: two, new: reordered, want: false},
		"a seat is taken outside the line": {old: two, new: moreSeats, want: false},
	}
	for name, tc := range cases {
		if got := ledgerWaitingChanged.Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: Update = %v, want %v", name, got, tc.want)
		}
	}
	if !ledgerWaitingChanged.Create(event.CreateEvent{Object: one}) || !ledgerWaitingChanged.Delete(event.DeleteEvent{Object: one}) {
		t.Error("the creation or deletion of a ledger does not pass")
	}
	if ledgerWaitingChanged.Generic(event.GenericEvent{Object: one}) {
		t.Error("a generic event passes")
	}
}

func TestLicenseForLedger(t *testing.T) {
	h := newHarness(t, at(t, "2026-03-10T12:00:00Z"),
		bound(ut.MakeAssignment("web", "ns").ServiceAccount("web").License("cad", "shared"), "shared/cad", 1),
		ut.MakeAssignment("pending", "ns").ServiceAccount("p").License("cad", "shared").Obj(),
	)
	req := func(ns, name string) ctrl.Request {
		return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	}
	uses := ut.MakeSeatLedger("uses", "ns", "").Obj()
	uses.Spec.License = "cad"
	cases := map[string]struct {
		ledger *v1.SeatLedger
		want   []ctrl.Request
	}{
		"the licence the assignment is bound to": {ledger: waitingLedger("ns", "web", "a"), want: []ctrl.Request{req("shared", "cad")}},
		"an assignment bound to nothing":         {ledger: waitingLedger("ns", "pending", "a")},
		"an assignment that is gone":             {ledger: waitingLedger("ns", "gone", "a")},
		"a use ledger":                           {ledger: uses},
	}
	for name, tc := range cases {
		if diff := cmp.Diff(tc.want, h.r.licenseForLedger(context.Background(), tc.ledger)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
