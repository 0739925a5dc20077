package seats

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The ledger's own tests: what Ask, Release, Serve, Peek and Held store, on
// controller-runtime's fake client (which refuses an update of a stale
// resourceVersion with Conflict, as the API server does) and a fake clock.
// Who takes a seat is licensing.TakeSeats, tested in internal/licensing;
// these check that the ledger hands it the right line and stores its answer.

const ns = "team"

// t0 is a whole second: a ledger's times go through JSON (metav1.Time keeps seconds).
var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// ledgerHarness is a ledger on a fake client with one assignment "a".
type ledgerHarness struct {
	t      *testing.T
	c      client.WithWatch
	clock  *clocktesting.FakeClock
	ledger *Ledger
	asg    *licensingv1alpha1.LicenseAssignment
	// writes counts the creates, updates, patches and deletes that reached
	// the client (a write's creates go at once).
	writes atomic.Int64
}

func newLedgerHarness(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) *ledgerHarness {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := licensingv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	h := &ledgerHarness{t: t, clock: clocktesting.NewFakeClock(t0)}
	h.asg = utiltesting.MakeAssignment("a", ns).ServiceAccount("default").BoundTo(ns+"/cad", 1, t0).Obj()
	h.asg.UID = "asg-uid"
	count := interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			h.writes.Add(1)
			if funcs.Create != nil {
				return funcs.Create(ctx, c, o, opts...)
			}
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			h.writes.Add(1)
			if funcs.Update != nil {
				return funcs.Update(ctx, c, o, opts...)
			}
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			h.writes.Add(1)
			return c.Patch(ctx, o, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			h.writes.Add(1)
			return c.Delete(ctx, o, opts...)
		},
	}
	h.c = fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(count).Build()
	h.ledger = &Ledger{Reader: h.c, Writer: h.c, Clock: h.clock, Grace: LedgerGrace}
	return h
}

// key is the name of assignment a's ledger.
var key = types.NamespacedName{Namespace: ns, Name: LedgerName("a")}

// ledgerOf returns a's ledger with entries and waiters as a builder.
func ledgerOf() *utiltesting.SeatLedgerWrapper {
	return utiltesting.MakeSeatLedger(LedgerName("a"), ns, "a")
}

func (h *ledgerHarness) ask(pod, uid string, seats int32, opts ...func(*Ask)) Reservation {
	h.t.Helper()
	a := Ask{Pod: PodRef{Namespace: ns, Name: pod, UID: types.UID(uid)}, Seats: seats}
	for _, o := range opts {
		o(&a)
	}
	r, err := h.ledger.Ask(context.Background(), h.asg, a)
	if err != nil {
		h.t.Fatalf("Ask %s: %v", pod, err)
	}
	return r
}

func queue(a *Ask)                { a.Queue = true }
func priority(p int32) func(*Ask) { return func(a *Ask) { a.Priority = p } }
func gang(name string, size int32) func(*Ask) {
	return func(a *Ask) { a.Gang = licensing.Gang{Name: name, Size: size} }
}

// stored is a's ledger as the client has it.
func (h *ledgerHarness) stored() *licensingv1alpha1.SeatLedger {
	h.t.Helper()
	l, err := ReadLedger(context.Background(), h.c, key.Namespace, "a")
	if err != nil {
		h.t.Fatalf("reading the ledger: %v", err)
	}
	return l
}

// entries are the ledger's entries as "pod uid admitted-time".
type entry struct {
	Pod, UID string
	Admitted time.Time
}

func entriesOf(l *licensingv1alpha1.SeatLedger) []entry {
	var out []entry
	for _, e := range l.Spec.Entries {
		out = append(out, entry{e.Pod, e.UID, e.Admitted.UTC()})
	}
	return out
}

type waiter struct {
	Pod, UID string
	Priority int32
	Queued   time.Time
}

func waitersOf(l *licensingv1alpha1.SeatLedger) []waiter {
	var out []waiter
	for _, w := range l.Spec.Waiting {
		out = append(out, waiter{w.Pod, w.UID, w.Priority, w.Queued.UTC()})
	}
	return out
}

func TestAskTakesAFreeSeat(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{})
	got := h.ask("p1", "u1", 2)
	if diff := cmp.Diff(Reservation{Admitted: true, Used: 1, Holders: []string{"p1"}}, got); diff != "" {
		t.Errorf("reservation (-want +got):\n%s", diff)
	}
	l := h.stored()
	if diff := cmp.Diff([]entry{{"p1", "u1", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != h.asg.UID || l.Spec.Assignment != "a" {
		t.Errorf("the ledger is not the assignment's: owners %v, assignment %q", l.OwnerReferences, l.Spec.Assignment)
	}
	h.clock.Step(time.Second)
	if got := h.ask("p2", "u2", 2); !got.Admitted || got.Used != 2 {
		t.Errorf("second Pod on 2 seats: %+v, want admitted with 2 used", got)
	}
}

func TestAskQueueJoinsTheLine(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("h", "uh", t0).Obj())
	want := []waiter{}
	for i, pod := range []string{"w1", "w2"} {
		h.clock.Step(time.Second)
		got := h.ask(pod, "u-"+pod, 1, queue)
		if !got.Queued || got.Admitted || got.Position != i+1 || got.Waiting != i+1 || got.Used != 1 {
			t.Errorf("%s: %+v, want queued at %d of %d with 1 used", pod, got, i+1, i+1)
		}
		if got.Stopped == "" {
			t.Errorf("%s: the reservation does not say why the line waits", pod)
		}
		want = append(want, waiter{pod, "u-" + pod, 0, h.clock.Now()})
	}
	// Higher priority goes ahead of the line.
	h.clock.Step(time.Second)
	if got := h.ask("vip", "u-vip", 1, queue, priority(10)); !got.Queued || got.Position != 1 || got.Waiting != 3 {
		t.Errorf("vip: %+v, want queued at 1 of 3", got)
	}
	// The ledger stores the line in line order (licensing.LineOrder).
	want = append([]waiter{{"vip", "u-vip", 10, h.clock.Now()}}, want...)
	l := h.stored()
	if diff := cmp.Diff(want, waitersOf(l)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]entry{{"h", "uh", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("a Pod in line took a seat (-want +got):\n%s", diff)
	}
}

// An admission is retried (the API server's timeout, a second webhook
// call): the same Pod UID keeps its seat or its place and takes nothing twice.
func TestAskRetriedKeepsSeatAndPlace(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{})
	h.ask("p1", "u1", 1)
	h.clock.Step(time.Second)
	if got := h.ask("p1", "u1", 1); !got.Admitted || got.Used != 1 {
		t.Errorf("retried seat: %+v, want admitted with 1 used", got)
	}
	h.ask("w1", "uw1", 1, queue)
	queued := h.clock.Now()
	h.clock.Step(time.Second)
	h.ask("w2", "uw2", 1, queue)
	h.clock.Step(time.Minute)
	writes := h.writes.Load()
	if got := h.ask("w1", "uw1", 1, queue); !got.Queued || got.Position != 1 || got.Waiting != 2 {
		t.Errorf("retried place: %+v, want queued at 1 of 2", got)
	}
	if h.writes.Load() != writes {
		t.Errorf("a retried ask wrote the ledger %d times", h.writes.Load()-writes)
	}
	l := h.stored()
	if diff := cmp.Diff([]entry{{"p1", "u1", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if got := waitersOf(l); len(got) != 2 || got[0].Pod != "w1" || !got[0].Queued.Equal(queued) {
		t.Errorf("line %v: w1 lost its place (queued %v)", got, queued)
	}
}

// A Pod that does not queue (whenNoSeat Refuse, or a cover other than the
// one whose line it would join) takes a seat only when nobody in line is
// ahead of it: a free seat goes to the head of the line, and the ask that
// found it gives it there.
func TestAskRefuseNeverPassesTheLine(t *testing.T) {
	t.Run("equal priority: refused, the head takes the seat", func(t *testing.T) {
		h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Waiter("w", "uw", 0, t0).Obj())
		h.clock.Step(time.Second)
		got := h.ask("n", "un", 1)
		if got.Admitted || got.Queued {
			t.Errorf("newcomer: %+v, want refused", got)
		}
		l := h.stored()
		if diff := cmp.Diff([]entry{{"w", "uw", t0}}, entriesOf(l)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if len(l.Spec.Waiting) != 0 {
			t.Errorf("line %v, want empty", waitersOf(l))
		}
	})
	t.Run("higher priority: takes the seat, the line waits", func(t *testing.T) {
		h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Waiter("w", "uw", 0, t0).Obj())
		h.clock.Step(time.Second)
		if got := h.ask("n", "un", 1, priority(5)); !got.Admitted {
			t.Errorf("newcomer of higher priority: %+v, want admitted", got)
		}
		l := h.stored()
		if diff := cmp.Diff([]entry{{"n", "un", t0.Add(time.Second)}}, entriesOf(l)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]waiter{{"w", "uw", 0, t0}}, waitersOf(l)); diff != "" {
			t.Errorf("line (-want +got):\n%s", diff)
		}
	})
	t.Run("no seat: refused, nothing written", func(t *testing.T) {
		h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("h", "uh", t0).Obj())
		if got := h.ask("n", "un", 1); got.Admitted || got.Queued || got.Used != 1 {
			t.Errorf("newcomer: %+v, want refused with 1 used", got)
		}
		if h.writes.Load() != 0 {
			t.Errorf("a refusal wrote the ledger %d times", h.writes.Load())
		}
	})
}

// A gang member waits even with seats free; the member that completes the
// gang takes the seats of all of it at once.
func TestAskGang(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{})
	if got := h.ask("g-0", "u0", 3, gang("g", 2)); !got.Queued || got.Position != 1 {
		t.Errorf("first member: %+v, want queued at 1", got)
	}
	h.clock.Step(time.Second)
	if got := h.ask("g-1", "u1", 3, gang("g", 2)); !got.Admitted {
		t.Errorf("last member: %+v, want admitted", got)
	}
	l := h.stored()
	if diff := cmp.Diff([]entry{{"g-0", "u0", t0}, {"g-1", "u1", t0.Add(time.Second)}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if len(l.Spec.Waiting) != 0 {
		t.Errorf("line %v, want empty", waitersOf(l))
	}
}

// Another Pod of the same name holds the entry and still exists: the
// newcomer (a create the storage will refuse) gets nothing.
func TestAskNameHeld(t *testing.T) {
	pod := utiltesting.MakePod("p", ns, "u-old", t0).Obj()
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("p", "u-old", t0).Obj(), pod)
	if got := h.ask("p", "u-new", 2); !got.NameHeld || got.Admitted {
		t.Errorf("%+v, want NameHeld", got)
	}
	if diff := cmp.Diff([]entry{{"p", "u-old", t0}}, entriesOf(h.stored())); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// The ledger changed under the webhook (another replica): the update meets
// a Conflict, and the ask is decided again on the ledger read anew.
func TestAskRetriesOnConflict(t *testing.T) {
	conflicts := 0
	h := newLedgerHarness(t, interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
		if conflicts == 0 {
			conflicts++
			// Another replica takes the last seat first.
			other := &licensingv1alpha1.SeatLedger{}
			if err := c.Get(ctx, key, other); err != nil {
				return err
			}
			other.Spec.Entries = append(other.Spec.Entries, licensingv1alpha1.SeatLedgerEntry{Pod: "other", UID: "uo", Admitted: metav1.NewTime(t0)})
			if err := c.Update(ctx, other); err != nil {
				return err
			}
		}
		return c.Update(ctx, o, opts...)
	}}, ledgerOf().Entry("h", "uh", t0).Obj())
	got := h.ask("n", "un", 2, queue)
	if conflicts != 1 || !got.Queued || got.Position != 1 || got.Used != 2 {
		t.Errorf("after %d conflicts: %+v, want queued at 1 behind 2 holders", conflicts, got)
	}
	l := h.stored()
	if diff := cmp.Diff([]entry{{"h", "uh", t0}, {"other", "uo", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]waiter{{"n", "un", 0, t0}}, waitersOf(l)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
}

func TestRelease(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("h1", "u1", t0).Entry("h2", "u2", t0).Waiter("w", "uw", 0, t0).Obj())
	release := func(pod, uid string) {
		t.Helper()
		if err := h.ledger.Release(context.Background(), key, PodRef{Namespace: ns, Name: pod, UID: types.UID(uid)}); err != nil {
			t.Fatalf("Release %s: %v", pod, err)
		}
	}
	release("h1", "u1")
	release("w", "uw")
	release("h2", "not-h2") // another Pod of that name: h2 keeps its seat
	l := h.stored()
	if diff := cmp.Diff([]entry{{"h2", "u2", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if len(l.Spec.Waiting) != 0 {
		t.Errorf("line %v, want empty", waitersOf(l))
	}
	writes := h.writes.Load()
	release("gone", "")
	if h.writes.Load() != writes {
		t.Errorf("releasing a Pod the ledger does not hold wrote it")
	}
	if err := h.ledger.Release(context.Background(), types.NamespacedName{Namespace: ns, Name: "no-such-ledger"}, PodRef{Name: "x"}); err != nil {
		t.Errorf("Release on a missing ledger: %v", err)
	}
}

func TestApplySeatDecision(t *testing.T) {
	now := t0.Add(time.Hour)
	l := ledgerOf().Entry("h", "uh", t0).Waiter("w1", "u1", 0, t0).Waiter("w2", "u2", 0, t0.Add(time.Second)).Obj()
	d := licensing.SeatDecision{
		Granted: []licensing.Waiter{{Pod: "w1", UID: "u1", Queued: t0}, {Pod: "new", UID: "un"}},
		Line:    []licensing.Waiter{{Pod: "w2", UID: "u2", Queued: t0.Add(time.Second)}},
	}
	if !ApplySeatDecision(l, d, now) {
		t.Error("ApplySeatDecision said nothing changed")
	}
	// A Pod from the line is admitted at the time it queued (its admission,
	// which licensing.EntryOfPod matches to its creation); a newcomer now.
	if diff := cmp.Diff([]entry{{"h", "uh", t0}, {"w1", "u1", t0}, {"new", "un", now}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]waiter{{"w2", "u2", 0, t0.Add(time.Second)}}, waitersOf(l)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if ApplySeatDecision(l, licensing.SeatDecision{Line: d.Line}, now) {
		t.Error("the same line again: ApplySeatDecision said the ledger changed")
	}
	if ApplySeatDecision(l, licensing.SeatDecision{}, now); l.Spec.Waiting != nil {
		t.Errorf("an empty line is stored as %v, want nil", l.Spec.Waiting)
	}
}

// Serve rereads and changes again when its write meets a Conflict.
func TestServeRetriesOnConflict(t *testing.T) {
	conflicted := false
	h := newLedgerHarness(t, interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
		if !conflicted {
			conflicted = true
			return apierrors.NewConflict(schema.GroupResource{Group: licensingv1alpha1.GroupVersion.Group, Resource: "seatledgers"}, o.GetName(), nil)
		}
		return c.Update(ctx, o, opts...)
	}}, ledgerOf().Waiter("w", "uw", 0, t0).Obj())
	calls := 0
	err := h.ledger.Serve(context.Background(), key, func(l *licensingv1alpha1.SeatLedger) (bool, error) {
		calls++
		d := licensing.TakeSeats(licensing.SeatState{Holders: len(l.Spec.Entries), Seats: 1}, Line(l, ""))
		return ApplySeatDecision(l, d, h.clock.Now()), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("change ran %d times, want 2 (once more after the Conflict)", calls)
	}
	l := h.stored()
	if diff := cmp.Diff([]entry{{"w", "uw", t0}}, entriesOf(l)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if len(l.Spec.Waiting) != 0 {
		t.Errorf("line %v, want empty", waitersOf(l))
	}
	if err := h.ledger.Serve(context.Background(), types.NamespacedName{Namespace: ns, Name: "no-such-ledger"}, func(*licensingv1alpha1.SeatLedger) (bool, error) {
		return true, nil
	}); !apierrors.IsNotFound(err) {
		t.Errorf("Serve on a missing ledger: %v, want NotFound", err)
	}
}

// A dry run is told what would happen and writes nothing.
func TestPeekWritesNothing(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("h", "uh", t0).Waiter("w", "uw", 0, t0).Obj())
	ctx := context.Background()
	h.clock.Step(time.Second)
	pod := PodRef{Namespace: ns, Name: "n", UID: "un"}
	if got, err := h.ledger.Peek(ctx, h.asg, pod, 3, false); err != nil || !got.Admitted || got.Used != 2 {
		t.Errorf("Peek on 3 seats: %+v, %v; want admitted with 2 used", got, err)
	}
	if got, err := h.ledger.PeekAsk(ctx, h.asg, Ask{Pod: pod, Seats: 1, Queue: true}); err != nil || !got.Queued || got.Position != 2 || got.Waiting != 2 {
		t.Errorf("PeekAsk queue on 1 seat: %+v, %v; want queued at 2 of 2", got, err)
	}
	if got, err := h.ledger.PeekAsk(ctx, h.asg, Ask{Pod: pod, Seats: 1}); err != nil || got.Admitted || got.Queued || got.Used != 1 {
		t.Errorf("PeekAsk refuse on 1 seat: %+v, %v; want refused with 1 used", got, err)
	}
	other := utiltesting.MakeAssignment("b", ns).BoundTo(ns+"/cad", 1, t0).Obj()
	if got, err := h.ledger.PeekAsk(ctx, other, Ask{Pod: pod, Seats: 1, Gang: licensing.Gang{Name: "g", Size: 1}}); err != nil || !got.Admitted {
		t.Errorf("PeekAsk on an assignment without a ledger: %+v, %v; want admitted", got, err)
	}
	if h.writes.Load() != 0 {
		t.Errorf("Peek and PeekAsk wrote %d times", h.writes.Load())
	}
}

func TestHeld(t *testing.T) {
	h := newLedgerHarness(t, interceptor.Funcs{}, ledgerOf().Entry("h1", "u1", t0).Entry("h2", "u2", t0).Waiter("w", "uw", 0, t0).Obj())
	if n, err := h.ledger.Held(context.Background(), h.asg); err != nil || n != 2 {
		t.Errorf("Held = %d, %v; want 2 (the waiter holds no seat)", n, err)
	}
	other := utiltesting.MakeAssignment("b", ns).Obj()
	if n, err := h.ledger.Held(context.Background(), other); err != nil || n != 0 {
		t.Errorf("Held without a ledger = %d, %v; want 0", n, err)
	}
}
