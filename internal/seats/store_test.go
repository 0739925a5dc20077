package seats

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The layout of a ledger in objects (store.go): what a decision's ledger
// turns into (planWrite, pure), and the compare-and-swap of seat indices
// between two replicas (on the fake client, which refuses a second create of
// a name with AlreadyExists as the API server does).

func entrySeat(i int, pod string) licensingv1alpha1.SeatLedger {
	s := seatObject(key, &licensingv1alpha1.SeatLedger{}, i, licensingv1alpha1.SeatLedgerSpec{
		Assignment: "a", Entries: []licensingv1alpha1.SeatLedgerEntry{{Pod: pod, UID: "u" + pod, Admitted: metav1.NewTime(t0)}},
	})
	s.UID, s.ResourceVersion = types.UID("obj-"+pod), "1"
	return s
}

func reservationSeat(i int, ride string) licensingv1alpha1.SeatLedger {
	r := licensingv1alpha1.SeatLedgerReservation{Workload: "job", UID: "wl", PodSet: "main", Count: 1, Since: metav1.NewTime(t0)}
	if ride != "" {
		r.Rides = []licensingv1alpha1.SeatLedgerEntry{{Pod: ride, UID: "u" + ride, Admitted: metav1.NewTime(t0)}}
	}
	s := seatObject(key, &licensingv1alpha1.SeatLedger{}, i, licensingv1alpha1.SeatLedgerSpec{Assignment: "a", Reservations: []licensingv1alpha1.SeatLedgerReservation{r}})
	s.UID, s.ResourceVersion = types.UID("obj-r"+strconv.Itoa(i)), "1"
	return s
}

// indices are the seat indices of objects, sorted.
func indices(objs []licensingv1alpha1.SeatLedger) []int {
	var out []int
	for i := range objs {
		idx, ok := licensing.SeatIndex(&objs[i])
		if !ok {
			out = append(out, -1)
			continue
		}
		out = append(out, idx)
	}
	sort.Ints(out)
	return out
}

func TestPlanWriteTakeIsOneCreateAtTheLowestFreeIndex(t *testing.T) {
	before := &ledgerParts{key: key, seats: []licensingv1alpha1.SeatLedger{entrySeat(0, "p0"), entrySeat(2, "p2")}}
	after := before.merged()
	setEntry(after, PodRef{Namespace: ns, Name: "new", UID: "unew"}, t0)
	plan, err := planWrite(before, after, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.creates) != 1 || len(plan.updates)+len(plan.deletes) != 0 || plan.main != nil {
		t.Fatalf("a take writes one create and nothing else; got %d creates, %d updates, %d deletes, main %v",
			len(plan.creates), len(plan.updates), len(plan.deletes), plan.main != nil)
	}
	c := plan.creates[0]
	if got, want := c.Name, LedgerName("a")+"-1"; got != want {
		t.Errorf("name %s, want %s (the lowest free index)", got, want)
	}
	if c.Labels[licensingv1alpha1.SeatLedgerLabel] != LedgerName("a") || c.Labels[licensingv1alpha1.SeatIndexLabel] != "1" {
		t.Errorf("labels %v", c.Labels)
	}
	if diff := cmp.Diff([]string{"new"}, podsOf(c.Spec.Entries)); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
}

func TestPlanWriteRefusesAnIndexAtTheLimit(t *testing.T) {
	before := &ledgerParts{key: key, seats: []licensingv1alpha1.SeatLedger{entrySeat(0, "p0"), entrySeat(1, "p1")}}
	after := before.merged()
	setEntry(after, PodRef{Namespace: ns, Name: "new", UID: "unew"}, t0)
	if _, err := planWrite(before, after, 2, 0); err != errNoSeatIndex {
		t.Fatalf("a third seat of 2: err %v, want errNoSeatIndex", err)
	}
	if plan, err := planWrite(before, after, unbounded, 0); err != nil || len(plan.creates) != 1 {
		t.Fatalf("unbounded (Soft): %v, %d creates", err, len(plan.creates))
	}
}

func TestPlanWriteFreeIsADeleteOnTheReadVersion(t *testing.T) {
	before := &ledgerParts{key: key, seats: []licensingv1alpha1.SeatLedger{entrySeat(0, "p0"), entrySeat(1, "p1")}}
	after := before.merged()
	removeEntries(after, map[string]bool{"p0": true})
	plan, err := planWrite(before, after, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.deletes) != 1 || plan.deletes[0].UID != "obj-p0" || plan.deletes[0].ResourceVersion != "1" || len(plan.creates) != 0 || plan.main != nil {
		t.Fatalf("deletes %v, creates %d, main %v", plan.deletes, len(plan.creates), plan.main)
	}
}

func TestPlanWriteOverTheSeatsOrdersTakersOnTheMainLedger(t *testing.T) {
	// Seats lowered to 2 while index 2 is held: a take must also write the
	// main ledger (compare-and-swap), or two takers could both take an index
	// below 2 and hold 3.
	main := ledgerOf().Obj()
	main.ResourceVersion = "7"
	before := &ledgerParts{key: key, main: main, seats: []licensingv1alpha1.SeatLedger{entrySeat(2, "p2")}}
	after := before.merged()
	setEntry(after, PodRef{Namespace: ns, Name: "new", UID: "unew"}, t0)
	plan, err := planWrite(before, after, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.main == nil || plan.main.Annotations[licensingv1alpha1.LedgerSerialAnnotation] != "1" || plan.main.ResourceVersion != "7" {
		t.Fatalf("main %+v, want an update of version 7 with serial 1", plan.main)
	}
	if got := indices(plan.creates); !cmp.Equal(got, []int{0}) {
		t.Errorf("created indices %v, want [0]", got)
	}
	// Under the seats nothing orders on the main ledger.
	before.seats = []licensingv1alpha1.SeatLedger{entrySeat(1, "p1")}
	after = before.merged()
	setEntry(after, PodRef{Namespace: ns, Name: "new", UID: "unew"}, t0)
	if plan, _ := planWrite(before, after, 2, 0); plan.main != nil {
		t.Errorf("a take under the seats wrote the main ledger")
	}
}

func TestPlanWriteAPlaceInLineIsOneWaiterObject(t *testing.T) {
	before := &ledgerParts{key: key}
	after := ledgerOf().Waiter("w", "uw", 0, t0).Obj()
	after.OwnerReferences = []metav1.OwnerReference{{Name: "a", UID: "asg-uid"}}
	plan, err := planWrite(before, after, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.main != nil || len(plan.creates) != 0 || len(plan.waiterCreates) != 1 {
		t.Fatalf("joining the line: main %+v, creates %d, waiter creates %d", plan.main, len(plan.creates), len(plan.waiterCreates))
	}
	w := plan.waiterCreates[0]
	if w.Name != licensing.WaiterObjectName(key.Name, "w") || w.Labels[licensingv1alpha1.SeatWaiterLabel] != "true" || len(w.OwnerReferences) != 1 {
		t.Errorf("waiter object %s, labels %v, owners %v", w.Name, w.Labels, w.OwnerReferences)
	}

	// The head of the line granted: its seat is created, its waiter object deleted.
	before.seats = []licensingv1alpha1.SeatLedger{w}
	after = before.merged()
	d := licensing.TakeSeats(licensing.SeatState{Seats: 1, Enforcement: licensingv1alpha1.EnforcementHard}, Line(after, ""))
	ApplySeatDecision(after, d, t0)
	plan, err = planWrite(before, after, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.creates) != 1 || len(plan.waiterDeletes) != 1 || plan.main != nil {
		t.Fatalf("granting the head: creates %d, waiter deletes %d, main %v", len(plan.creates), len(plan.waiterDeletes), plan.main != nil)
	}
}

func TestPlanWriteMigratesAnEarlierVersionsLedger(t *testing.T) {
	main := ledgerOf().Entry("old1", "u1", t0).Entry("old2", "u2", t0).Reservation("job", "wl", "main", 2, t0).Obj()
	main.ResourceVersion = "3"
	before := &ledgerParts{key: key, main: main}
	after := before.merged()

	// An ordinary write keeps the entries where they are and moves the reservation.
	plan, err := planWrite(before, after, unbounded, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.creates) != 2 || plan.main == nil || len(plan.main.Spec.Entries) != 2 || len(plan.main.Spec.Reservations) != 0 {
		t.Fatalf("creates %d, main %+v", len(plan.creates), plan.main)
	}
	// Migrating moves the entries too.
	before.migrate = true
	plan, err = planWrite(before, after, unbounded, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := indices(plan.creates); !cmp.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("created indices %v, want 4 seats", got)
	}
	if plan.main == nil || len(plan.main.Spec.Entries) != 0 {
		t.Errorf("main after migration %+v", plan.main)
	}
	merged := (&ledgerParts{key: key, main: plan.main, seats: plan.creates}).merged()
	if licensing.HeldSeats(&merged.Spec) != 4 {
		t.Errorf("held after migration %d, want 4", licensing.HeldSeats(&merged.Spec))
	}
}

func TestPlanWriteReservationKeepsItsRiddenSeats(t *testing.T) {
	before := &ledgerParts{key: key, seats: []licensingv1alpha1.SeatLedger{reservationSeat(0, ""), reservationSeat(1, "r1"), reservationSeat(2, "")}}
	after := before.merged()
	r := &after.Spec.Reservations[0]
	if r.Count != 3 || len(r.Rides) != 1 {
		t.Fatalf("merged reservation %+v", r)
	}
	r.Count = 2
	r.Rides = append(r.Rides, licensingv1alpha1.SeatLedgerEntry{Pod: "r2", UID: "ur2", Admitted: metav1.NewTime(t0)})
	plan, err := planWrite(before, after, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.deletes) != 1 || len(plan.updates) != 1 || len(plan.keep) != 1 || len(plan.creates) != 0 {
		t.Fatalf("deletes %d, updates %d, keep %d, creates %d", len(plan.deletes), len(plan.updates), len(plan.keep), len(plan.creates))
	}
	if plan.keep[0].Name != reservationSeat(1, "").Name {
		t.Errorf("kept %s, want the seat r1 rides", plan.keep[0].Name)
	}
	if got := plan.updates[0].Spec.Reservations[0].Rides; len(got) != 1 || got[0].Pod != "r2" {
		t.Errorf("r2 rides %v", got)
	}
}

func podsOf(es []licensingv1alpha1.SeatLedgerEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Pod)
	}
	return out
}

// Two replicas (two Ledgers on one API): the one whose remembered ledger is
// stale tries the index the other took, is refused (AlreadyExists), reads
// again and refuses the Pod: the last seat is taken once.
func TestTwoReplicasTakeTheLastSeatOnce(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{})
	other := &Ledger{Reader: h.c, Writer: h.c, Clock: h.clock, Grace: LedgerGrace}
	if r := h.ask("p1", "u1", 2); !r.Admitted {
		t.Fatalf("p1: %+v", r)
	}
	r, err := other.Ask(context.Background(), h.asg, Ask{Pod: PodRef{Namespace: ns, Name: "p2", UID: "u2"}, Seats: 2})
	if err != nil || !r.Admitted {
		t.Fatalf("p2 on the other replica: %+v, %v", r, err)
	}
	if r := h.ask("p3", "u3", 2); r.Admitted {
		t.Fatalf("p3 took a third seat of 2: %+v", r)
	}
	list := &licensingv1alpha1.SeatLedgerList{}
	if err := h.c.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if got := indices(list.Items); !cmp.Equal(got, []int{0, 1}) {
		t.Errorf("seat objects at %v, want [0 1]", got)
	}
	if got := entriesOf(h.stored()); len(got) != 2 {
		t.Errorf("holders %v", got)
	}
}

// A grant in flight: another writer created g's seat and has not deleted
// g's waiter object yet. It is not held (HeldSeats), and a write that
// finishes the grant claims the seat object (updates it), so that the other
// writer's undo, which deletes only the version it created, leaves it.
func TestPlanWriteClaimsAGrantInFlight(t *testing.T) {
	waiter := waiterObject(key, &licensingv1alpha1.SeatLedger{}, licensingv1alpha1.SeatLedgerSpec{
		Assignment: "a", Waiting: []licensingv1alpha1.SeatLedgerWaiter{{Pod: "g", UID: "ug", Queued: metav1.NewMicroTime(t0)}},
	})
	waiter.UID, waiter.ResourceVersion = "obj-wg", "1"
	before := &ledgerParts{key: key, seats: []licensingv1alpha1.SeatLedger{entrySeat(0, "g"), waiter, entrySeat(1, "h")}}
	merged := before.merged()
	if got := licensing.HeldSeats(&merged.Spec); got != 1 {
		t.Fatalf("held %d, want 1: g's seat is a grant in flight", got)
	}
	if liveCount(merged, "g") != 1 {
		t.Errorf("liveCount for g %d, want 1 (its own entry in flight is not counted twice)", liveCount(merged, "g"))
	}
	// The queue finishes the grant: g leaves the line.
	removeWaiters(merged, map[string]bool{"g": true})
	plan, err := planWrite(before, merged, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.updates) != 1 || plan.updates[0].Name != entrySeat(0, "g").Name || plan.updates[0].Annotations[licensingv1alpha1.SeatClaimAnnotation] == "" {
		t.Fatalf("updates %v, want g's seat claimed", plan.updates)
	}
	if len(plan.waiterDeletes) != 1 || len(plan.creates) != 0 || len(plan.deletes) != 0 {
		t.Errorf("waiter deletes %d, creates %d, deletes %d", len(plan.waiterDeletes), len(plan.creates), len(plan.deletes))
	}
	// A write that leaves g in line does not claim it.
	merged = before.merged()
	merged.Spec.Blocked = "why"
	if plan, _ := planWrite(before, merged, 2, 0); len(plan.updates) != 0 {
		t.Errorf("a write that leaves the grant in flight claimed %v", plan.updates)
	}
}
