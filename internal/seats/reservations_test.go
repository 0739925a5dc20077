package seats

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// What the ledger stores for Kueue Workloads: reservations decided with
// licensing.ReserveSeats, the Pods riding them, and their release.

// reserve reserves count of seats for pod set main of the Workload wl.
func (h *ledgerHarness) reserve(wl, uid string, count, seats int32) WorkloadReservation {
	h.t.Helper()
	r, err := h.ledger.ReserveWorkload(context.Background(), h.asg, WorkloadAsk{
		Workload: wl, UID: types.UID(uid), PodSet: "main", Count: count, Seats: seats,
	})
	if err != nil {
		h.t.Fatalf("ReserveWorkload %s: %v", wl, err)
	}
	return r
}

func ride(uid, podSet string) func(*Ask) {
	return func(a *Ask) { a.Ride = &Ride{Workload: types.UID(uid), PodSet: podSet} }
}

// ridesOf are the Pods riding each reservation, by Workload UID.
func ridesOf(l *licensingv1alpha1.SeatLedger) map[string][]string {
	out := map[string][]string{}
	for _, r := range l.Spec.Reservations {
		out[r.UID] = nil
		for _, e := range r.Rides {
			out[r.UID] = append(out[r.UID], e.Pod)
		}
	}
	return out
}

func TestReserveWorkloadAllOrNothing(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("p1", "u1", t0).Obj())
	if got := h.reserve("wl-a", "a", 3, 4); !got.Reserved || got.Already {
		t.Fatalf("3 of 3 free seats: %+v, want reserved", got)
	}
	if got := h.reserve("wl-a", "a", 3, 4); !got.Reserved || !got.Already {
		t.Errorf("the same reservation again: %+v, want held already", got)
	}
	writes := h.writes.Load()
	got := h.reserve("wl-b", "b", 1, 4)
	if got.Reserved || got.Free != 0 || got.Stopped == "" {
		t.Errorf("no seat left: %+v, want not reserved with 0 free and why", got)
	}
	if h.writes.Load() != writes {
		t.Errorf("a reservation that waits wrote the ledger")
	}
	l := h.stored()
	if n := licensing.HeldSeats(&l.Spec); n != 4 {
		t.Errorf("held %d seats, want 4: one Pod and 3 reserved", n)
	}
	if diff := cmp.Diff(map[string][]string{"a": nil}, ridesOf(l)); diff != "" {
		t.Errorf("reservations (-want +got):\n%s", diff)
	}
	// A Pod asking for a seat finds the reserved ones held.
	if r := h.ask("p2", "u2", 4); r.Admitted || r.Used != 4 {
		t.Errorf("a Pod on a full assignment: %+v, want refused with 4 used", r)
	}
}

// A reservation never passes a Pod waiting in line: the line is strict.
// With seats for both, both are served (the queue controller takes the
// Pod's).
func TestReserveWorkloadWaitsBehindTheLine(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Waiter("w", "uw", 0, t0).Obj(),
		utiltesting.MakePod("w", ns, "uw", t0).Obj())
	h.clock.Step(time.Minute)
	if got := h.reserve("wl", "a", 1, 1); got.Reserved || got.Waiting != 1 {
		t.Errorf("one seat: %+v, want waiting behind the Pod in line", got)
	}
	if got := h.reserve("wl", "a", 1, 2); !got.Reserved {
		t.Errorf("two seats: %+v, want reserved beside the Pod in line", got)
	}
}

func TestRideUpToTheCount(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Reservation("wl", "a", "main", 2, t0).Obj())
	for _, p := range []string{"r1", "r2"} {
		if got := h.ask(p, "u-"+p, 4, ride("a", "main")); !got.Rode || got.Admitted || got.Used != 2 {
			t.Errorf("%s: %+v, want riding, no seat of its own, 2 held", p, got)
		}
	}
	if got := h.ask("r1", "u-r1", 4, ride("a", "main")); !got.Rode {
		t.Errorf("a retried ride: %+v, want riding still", got)
	}
	if got := h.ask("r3", "u-r3", 4, ride("a", "main")); got.Rode || !got.RideFull {
		t.Errorf("a third Pod on a reservation of 2: %+v, want no ride (full)", got)
	}
	if got := h.ask("x", "u-x", 4, ride("other", "")); got.Rode || got.RideFull {
		t.Errorf("a Pod of a Workload without a reservation here: %+v, want nothing", got)
	}
	l := h.stored()
	if diff := cmp.Diff(map[string][]string{"a": {"r1", "r2"}}, ridesOf(l)); diff != "" {
		t.Errorf("rides (-want +got):\n%s", diff)
	}
	if len(l.Spec.Entries) != 0 {
		t.Errorf("entries %v: riders take no seat", entriesOf(l))
	}

	// A rider that goes frees its place (the seat releaser's Release).
	if err := h.ledger.Release(context.Background(), key, PodRef{Namespace: ns, Name: "r1", UID: "u-r1"}); err != nil {
		t.Fatal(err)
	}
	if got := h.ask("r3", "u-r3", 4, ride("a", "main")); !got.Rode {
		t.Errorf("the replacement Pod: %+v, want riding the freed place", got)
	}
}

func TestReleaseWorkloadWaitsForItsPods(t *testing.T) {
	rider := utiltesting.MakePod("r1", ns, "u-r1", t0).Obj()
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("p", "up", t0).
		Reservation("wl", "a", "main", 2, t0).Ride("r1", "u-r1", t0).
		Reservation("wl", "a", "workers", 1, t0).Obj(), rider,
		utiltesting.MakePod("p", ns, "up", t0).Obj())
	h.clock.Step(time.Minute)
	got, err := h.ledger.ReleaseWorkload(context.Background(), key, "a", true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(WorkloadRelease{Released: 1, Riding: []string{"r1"}}, got); diff != "" {
		t.Errorf("while r1 runs (-want +got):\n%s", diff)
	}
	// r1 ends: its ride is stale, and the reservation goes with it.
	rider.Status.Phase = corev1.PodSucceeded
	if err := h.c.Status().Update(context.Background(), rider); err != nil {
		t.Fatal(err)
	}
	if got, err = h.ledger.ReleaseWorkload(context.Background(), key, "a", true); err != nil || got.Released != 2 || len(got.Riding) != 0 {
		t.Errorf("after r1 ended: %+v, %v; want the last 2 seats released", got, err)
	}
	l := h.stored()
	if len(l.Spec.Reservations) != 0 || len(l.Spec.Entries) != 1 {
		t.Errorf("reservations %v entries %v, want none and p's", l.Spec.Reservations, entriesOf(l))
	}
}
