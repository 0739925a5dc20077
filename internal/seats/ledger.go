package seats

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The seat ledger of a Concurrent assignment is SeatLedgers in the
// assignment's namespace, owned by the assignment (store.go): one seat object
// per held seat, holding the Pod admitted on it (spec.entries: Pod name, UID,
// admission time), one waiter object per Pod in line, and a main ledger that
// says why the line is blocked. Only
// the operator's ServiceAccount may write them (config/policy); tenants'
// roles do not include them. The webhook reads them live from the API server
// and writes them with compare-and-swap, as the ResourceQuota admission
// plugin does with quota status: taking a seat creates the seat object of a
// free index below the assignment's seats, and two webhook replicas, or two
// requests in one replica, cannot both take the last seat, because only one
// create of an index can succeed. Which entries are stale is
// licensing.StaleLedgerEntries; the recount controller (recount_controller.go)
// repairs the ledgers from the live Pods.

// LedgerName is the name of the main SeatLedger of an assignment.
func LedgerName(assignment string) string { return licensing.LedgerName(assignment) }

// entryOf returns the index of the entry of the Pod named pod, or -1.
func entryOf(l *licensingv1alpha1.SeatLedger, pod string) int {
	for i := range l.Spec.Entries {
		if l.Spec.Entries[i].Pod == pod {
			return i
		}
	}
	return -1
}

// setEntry writes the entry of pod (replacing an entry of its name).
func setEntry(l *licensingv1alpha1.SeatLedger, pod PodRef, admitted time.Time) {
	e := licensingv1alpha1.SeatLedgerEntry{Pod: pod.Name, UID: string(pod.UID), Admitted: metav1.NewTime(admitted)}
	if i := entryOf(l, pod.Name); i >= 0 {
		l.Spec.Entries[i] = e
		return
	}
	l.Spec.Entries = append(l.Spec.Entries, e)
}

// removeEntries drops the entries of the named Pods.
func removeEntries(l *licensingv1alpha1.SeatLedger, pods map[string]bool) {
	l.Spec.Entries = slices.DeleteFunc(l.Spec.Entries, func(e licensingv1alpha1.SeatLedgerEntry) bool { return pods[e.Pod] })
}

// waiterOf returns the index of the waiter of the Pod named pod, or -1.
func waiterOf(l *licensingv1alpha1.SeatLedger, pod string) int {
	for i := range l.Spec.Waiting {
		if l.Spec.Waiting[i].Pod == pod {
			return i
		}
	}
	return -1
}

// removeWaiters drops the waiters of the named Pods.
func removeWaiters(l *licensingv1alpha1.SeatLedger, pods map[string]bool) {
	l.Spec.Waiting = slices.DeleteFunc(l.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool { return pods[w.Pod] })
}

// Line is the ledger's line as licensing.TakeSeats takes it, leaving out
// the Pod named except.
func Line(l *licensingv1alpha1.SeatLedger, except string) []licensing.Waiter {
	out := make([]licensing.Waiter, 0, len(l.Spec.Waiting))
	for _, w := range l.Spec.Waiting {
		if w.Pod == except {
			continue
		}
		out = append(out, licensing.Waiter{Pod: w.Pod, UID: w.UID, Priority: w.Priority, Queued: w.Queued.Time, Gang: w.Gang, GangSize: w.GangSize})
	}
	return out
}

// ApplySeatDecision writes a TakeSeats decision into the ledger: the Pods
// granted become entries (admitted at the time they joined the line, or
// now for a newcomer, so that licensing.EntryOfPod still matches an
// admission UID to its Pod), and the line becomes spec.waiting. It says
// whether the ledger changed.
func ApplySeatDecision(l *licensingv1alpha1.SeatLedger, d licensing.SeatDecision, now time.Time) bool {
	changed := false
	for _, g := range d.Granted {
		admitted := g.Queued
		if admitted.IsZero() {
			admitted = now
		}
		setEntry(l, PodRef{Namespace: l.Namespace, Name: g.Pod, UID: types.UID(g.UID)}, admitted)
		changed = true
	}
	waiting := make([]licensingv1alpha1.SeatLedgerWaiter, 0, len(d.Line))
	for _, w := range d.Line {
		waiting = append(waiting, licensingv1alpha1.SeatLedgerWaiter{
			Pod: w.Pod, UID: w.UID, Priority: w.Priority, Queued: metav1.NewMicroTime(w.Queued), Gang: w.Gang, GangSize: w.GangSize,
		})
	}
	if len(waiting) == 0 {
		waiting = nil
	}
	if !equalWaiting(l.Spec.Waiting, waiting) {
		l.Spec.Waiting = waiting
		changed = true
	}
	return changed
}

// equalWaiting compares two lines as sets of Pods with their places.
func equalWaiting(a, b []licensingv1alpha1.SeatLedgerWaiter) bool {
	if len(a) != len(b) {
		return false
	}
	byPod := make(map[string]licensingv1alpha1.SeatLedgerWaiter, len(a))
	for _, w := range a {
		byPod[w.Pod] = w
	}
	for _, w := range b {
		o, ok := byPod[w.Pod]
		if !ok || o.UID != w.UID || o.Priority != w.Priority || !o.Queued.Equal(&w.Queued) || o.Gang != w.Gang || o.GangSize != w.GangSize {
			return false
		}
	}
	return true
}

// Ledger reserves and releases Concurrent seats.
type Ledger struct {
	// Reader reads live from the API server (never a cache).
	Reader client.Reader
	// Writer creates and updates ledgers.
	Writer client.Client
	Clock  clock.PassiveClock
	// Grace is how long an entry is kept although its Pod does not exist (the
	// Pod may still be on its way through admission to storage).
	Grace time.Duration

	mu      sync.Mutex
	ledgers map[types.NamespacedName]*ledgerSlot
}

// ledgerSlot serialises the reservations of one ledger inside this replica, so
// that concurrent admissions queue instead of racing each other into
// conflicts, and remembers the objects of the ledger this replica last read
// or wrote (parts): the next decision is taken on them, and the API server
// refuses its writes (AlreadyExists for a seat index another replica took,
// Conflict for an object it changed) if they are stale. It is never trusted
// without the API server's compare-and-swap.
type ledgerSlot struct {
	sem   chan struct{}
	parts *ledgerParts
	// stripe is where this replica starts looking for a free seat index:
	// another replica, starting elsewhere, seldom takes the same.
	stripe int

	mu    sync.Mutex
	queue []*reservationRequest
}

// reservationRequest is one admission waiting for a seat of a ledger. The
// requests that queue while a write is in flight are decided together and
// written in one update (group commit): a ledger takes as many Pods per
// second as its writes allow times the batch, not one Pod per write.
type reservationRequest struct {
	ask  Ask
	res  Reservation
	err  error
	done chan struct{}
}

// Ask is what one admission asks of an assignment's ledger.
type Ask struct {
	Pod PodRef
	// Seats are the assignment's seats.
	Seats int32
	// AllowOver admits beyond the seats (Soft enforcement).
	AllowOver bool
	// Queue joins the line when no seat can be taken now; without it the
	// Pod takes a seat now or is refused, and never passes the line.
	Queue bool
	// Priority is the Pod's spec.priority.
	Priority int32
	// Gang is the Pod's gang (Size 0: none). A gang member always joins
	// the line: it starts with its gang.
	Gang licensing.Gang
	// Ride, when set, asks only for a place on the reservation of a Kueue
	// Workload (Reservation.Rode): the Pod takes no seat and never joins
	// the line; without a free place it is told so, and asks again for a
	// seat like any Pod.
	Ride *Ride
}

// Ride names the reservation a Pod of a Kueue Workload asks to ride.
type Ride struct {
	// Workload is the Workload's UID.
	Workload types.UID
	// PodSet is the Pod's pod set ("" when not known: any pod set of the
	// Workload with a free place).
	PodSet string
}

func (l *Ledger) slot(key types.NamespacedName) *ledgerSlot {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ledgers == nil {
		l.ledgers = map[types.NamespacedName]*ledgerSlot{}
	}
	s, ok := l.ledgers[key]
	if !ok {
		s = &ledgerSlot{sem: make(chan struct{}, 1), stripe: rand.IntN(1 << 20)}
		l.ledgers[key] = s
	}
	return s
}

func (s *ledgerSlot) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errLedgerBusy
	}
}

func (s *ledgerSlot) unlock() { <-s.sem }

// read returns the remembered version when fresh is false and there is one,
// else the live one: the ledger merged (cm) and its objects as read
// (before, which write needs). live says whether the copy was just read from
// the API server: a decision that writes nothing (a refusal, "not in the
// ledger") is taken only on a live copy. err is NotFound when no object of
// the ledger exists (before is then empty, and cm nil).
func (l *Ledger) read(ctx context.Context, s *ledgerSlot, key types.NamespacedName, fresh bool) (cm *licensingv1alpha1.SeatLedger, before *ledgerParts, live bool, err error) {
	if !fresh && s.parts != nil && !s.parts.empty() {
		// The remembered objects are never changed (a write makes new
		// ones): no copy.
		return s.parts.merged(), s.parts, false, nil
	}
	s.parts = nil
	p, err := readParts(ctx, l.Reader, key)
	if err != nil {
		return nil, nil, true, err
	}
	if p.empty() {
		return nil, p, true, ledgerNotFound(key.Name)
	}
	s.parts = p
	return p.merged(), p, true, nil
}

// write writes what cm changed of before (writeParts) and remembers the
// ledger as written.
func (l *Ledger) write(ctx context.Context, s *ledgerSlot, before *ledgerParts, cm *licensingv1alpha1.SeatLedger, limit int) error {
	start := s.stripe
	if limit > 0 {
		start %= limit
	}
	after, err := writeParts(ctx, l.Writer, before, cm, limit, start)
	if err != nil {
		s.parts = nil
		return err
	}
	s.parts = after
	return nil
}

// learnTaken adds to the remembered ledger the seat object whose create
// err refused (AlreadyExists: another replica took that index since this one
// read the ledger), read live, and says whether it did: the next decision
// can then be taken on the remembered ledger, which a grant may be (a
// refusal is still decided on a live read), instead of reading every object
// of the ledger again.
func (l *Ledger) learnTaken(ctx context.Context, s *ledgerSlot, before *ledgerParts, err error) bool {
	var taken *seatTakenError
	if !errors.As(err, &taken) || before == nil {
		return false
	}
	obj := &licensingv1alpha1.SeatLedger{}
	if err := l.Reader.Get(ctx, types.NamespacedName{Namespace: before.key.Namespace, Name: taken.name}, obj); err != nil {
		return false
	}
	p := &ledgerParts{key: before.key, main: before.main, seats: append(slices.Clone(before.seats), *obj)}
	s.parts = p
	return true
}

// batchLimit is the limit of the seat indices a batch of asks may take:
// the assignment's seats, unbounded when it admits beyond them (Soft).
func batchLimit(batch []*reservationRequest) int {
	limit := 0
	for _, r := range batch {
		if r.ask.AllowOver {
			return unbounded
		}
		limit = max(limit, int(r.ask.Seats))
	}
	return limit
}

// PodRef identifies the Pod asking for a seat.
type PodRef struct {
	Namespace, Name string
	UID             types.UID
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	// Admitted is true when the Pod holds a seat (or already held one).
	Admitted bool
	// Over is true when a Soft cover admitted beyond its seats.
	Over bool
	// Used counts the live entries, this Pod included when admitted.
	Used    int
	Holders []string
	// NameHeld is true when the ledger's entry of this Pod's name belongs to
	// another Pod of that name that still exists: the seat is that Pod's, and
	// this one is refused (the API server would refuse to store it anyway).
	NameHeld bool
	// Queued is true when the Pod waits in line (it holds no seat).
	Queued bool
	// Position is the Pod's place in the line (from 1) and Waiting the
	// line's length, when Queued.
	Position, Waiting int
	// Stopped says why the line does not move (licensing.SeatDecision).
	Stopped string
	// Rode is true when the Pod rides the reservation of its Kueue Workload
	// (Ask.Ride): it holds a place on it, not a seat of its own.
	Rode bool
	// RideFull is true when the Workload has a reservation on this ledger
	// but every place on it is taken: the Pod is not a free rider.
	RideFull bool
}

var errLedgerBusy = errors.New("the seat ledger is being changed by many admissions at once; retry")

// Reserve adds the Pod to the assignment's ledger if fewer than seats live Pods
// hold it (or always, when allowOver). It retries on conflicts until ctx ends.
func (l *Ledger) Reserve(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef, seats int32, allowOver bool) (Reservation, error) {
	return l.Ask(ctx, asg, Ask{Pod: pod, Seats: seats, AllowOver: allowOver})
}

// Ask decides one admission's ask on the assignment's ledger with
// licensing.TakeSeats: a seat now, a place in the line (ask.Queue, or a
// gang), or a refusal. It retries on conflicts until ctx ends.
func (l *Ledger) Ask(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, ask Ask) (Reservation, error) {
	key := types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}
	s := l.slot(key)
	r := &reservationRequest{ask: ask, done: make(chan struct{})}
	s.mu.Lock()
	s.queue = append(s.queue, r)
	s.mu.Unlock()
	for {
		select {
		case <-r.done:
			return r.res, r.err
		case s.sem <- struct{}{}:
			// This request leads: it decides and writes everything queued.
			s.mu.Lock()
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			if len(batch) > 0 {
				l.commit(ctx, asg, key, s, batch)
			}
			<-s.sem
		case <-ctx.Done():
			s.mu.Lock()
			for i, q := range s.queue {
				if q == r {
					s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
					s.mu.Unlock()
					return Reservation{}, errLedgerBusy
				}
			}
			s.mu.Unlock()
			// A leader holds the request: its answer comes within its own deadline.
			<-r.done
			return r.res, r.err
		}
	}
}

// commit decides a batch of requests on one version of the ledger and writes
// it with that version's resourceVersion; on a conflict it rereads and decides
// again. Refusals are only decided on a version just read from the API server.
func (l *Ledger) commit(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, key types.NamespacedName, s *ledgerSlot, batch []*reservationRequest) {
	finish := func(err error) {
		for _, r := range batch {
			if err != nil {
				r.res, r.err = Reservation{}, err
			}
			close(r.done)
		}
	}
	fresh := false
	for attempt := 0; ; attempt++ {
		if attempt > 1 {
			// Jittered back-off: another replica is writing this ledger too.
			d := time.Duration(rand.Int64N(int64(2*time.Millisecond)*int64(min(attempt, 10)))) + time.Millisecond
			select {
			case <-ctx.Done():
				finish(errLedgerBusy)
				return
			case <-time.After(d):
			}
		}
		cm, before, live, err := l.read(ctx, s, key, fresh)
		fresh = true
		switch {
		case apierrors.IsNotFound(err):
			cm = l.newLedger(asg, key)
		case err != nil:
			if ctx.Err() != nil {
				err = errLedgerBusy
			} else {
				err = fmt.Errorf("reading seat ledger %s: %w", key, err)
			}
			finish(err)
			return
		}
		changed, admitted, retry, err := l.decide(ctx, cm, batch, live)
		if err != nil {
			finish(err)
			return
		}
		if retry {
			continue
		}
		if changed {
			err = l.write(ctx, s, before, cm, batchLimit(batch))
			if err != nil && !admitted {
				// Only the pruning was to be saved; the refusals stand on the live ledger.
				err = nil
			} else if isRetryable(err) {
				// A seat index another replica took is learned with one
				// read of it; anything else is read again whole.
				fresh = !l.learnTaken(ctx, s, before, err)
				continue
			}
			if err != nil {
				if ctx.Err() != nil {
					err = errLedgerBusy
				} else {
					err = describeWrite(key, err)
				}
				finish(err)
				return
			}
		}
		h := holders(cm)
		for _, r := range batch {
			r.res.Holders = h
		}
		finish(nil)
		return
	}
}

// decide takes the decisions of a batch on one version of the ledger, adding
// the admitted Pods to cm and the queued ones to its line. retry is true
// when a refusal would have been decided on a remembered copy: the caller
// rereads and decides again. changed says cm must be written; admitted that
// it holds new entries or a changed line (a write that must succeed for the
// decision to stand).
func (l *Ledger) decide(ctx context.Context, cm *licensingv1alpha1.SeatLedger, batch []*reservationRequest, live bool) (changed, admitted, retry bool, err error) {
	pruned := false
	for _, r := range batch {
		pod := r.ask.Pod
		if r.ask.Ride != nil {
			c, a, retry, err := l.decideRide(ctx, cm, r, live, &pruned)
			if err != nil || retry {
				return false, false, retry, err
			}
			changed, admitted = changed || c, admitted || a
			continue
		}
		if i := entryOf(cm, pod.Name); i >= 0 && waiterOf(cm, pod.Name) < 0 {
			// (An entry of a Pod in line is a grant in flight: the Pod is
			// decided as one in line, below.)
			if types.UID(cm.Spec.Entries[i].UID) == pod.UID {
				// A retried admission of the same Pod: it holds its seat already.
				r.res = Reservation{Admitted: true, Used: len(cm.Spec.Entries)}
				continue
			}
			// Another Pod of this name has the entry (otherPodHolds).
			if held, retry, err := l.otherPodHolds(ctx, cm, pod.Name, live); err != nil || retry {
				return false, false, retry, err
			} else if held {
				r.res = Reservation{NameHeld: true, Used: len(cm.Spec.Entries)}
				continue
			}
			// The Pod of the entry is gone (or was never stored): this Pod takes its place.
		}
		if i := waiterOf(cm, pod.Name); i >= 0 {
			if types.UID(cm.Spec.Waiting[i].UID) == pod.UID {
				// A retried admission of a Pod in line: it keeps its place.
				d := l.take(cm, r.ask, false)
				r.res = Reservation{Queued: true, Position: d.Position(pod.Name), Waiting: len(d.Line), Used: liveCount(cm, pod.Name), Stopped: d.Stopped}
				continue
			}
			if held, retry, err := l.otherPodHolds(ctx, cm, pod.Name, live); err != nil || retry {
				return false, false, retry, err
			} else if held {
				r.res = Reservation{NameHeld: true, Used: len(cm.Spec.Entries)}
				continue
			}
			removeWaiters(cm, map[string]bool{pod.Name: true})
			changed = true
		}
		d := l.take(cm, r.ask, true)
		if !d.IsGranted(pod.Name) && !r.ask.Queue && r.ask.Gang.Size == 0 {
			if !live {
				return false, false, true, nil // confirm on the live ledger before pruning or refusing
			}
			if !pruned {
				// No seat: only now is it worth looking for entries of Pods
				// that are gone on the admission path (the seat releaser
				// removes them as Pods go and the recount catches what it
				// missed, but either may lag behind a burst of admissions).
				p, err := l.prune(ctx, cm)
				if err != nil {
					return false, false, false, err
				}
				pruned, changed = true, changed || p
				d = l.take(cm, r.ask, true)
			}
		}
		used := liveCount(cm, pod.Name)
		switch {
		case d.IsGranted(pod.Name):
			r.res = Reservation{Admitted: true, Over: used >= int(r.ask.Seats), Used: used + 1}
		case d.Position(pod.Name) > 0:
			r.res = Reservation{Queued: true, Position: d.Position(pod.Name), Waiting: len(d.Line), Used: used, Stopped: d.Stopped}
		default:
			r.res = Reservation{Used: used, Stopped: d.Stopped}
		}
		if ApplySeatDecision(cm, d, l.Clock.Now()) {
			changed, admitted = true, true
		}
	}
	return changed, admitted, false, nil
}

// decideRide decides an ask for a place on a Workload's reservation
// (ask.Ride): the Pod rides when it rides already, or a reservation of the
// Workload (of its pod set) has a free place; a place is only refused on a
// live copy, after the rides of Pods that are gone were pruned. A ride of the
// Pod's name with another UID is the ride of an earlier Pod of that name:
// taken over when that Pod is gone, as a seat's entry is.
func (l *Ledger) decideRide(ctx context.Context, cm *licensingv1alpha1.SeatLedger, r *reservationRequest, live bool, pruned *bool) (changed, admitted, retry bool, err error) {
	pod, ride := r.ask.Pod, r.ask.Ride
	for {
		i, already := licensing.FindRide(&cm.Spec, string(ride.Workload), ride.PodSet, pod.Name)
		if already {
			j := rideOf(&cm.Spec.Reservations[i], pod.Name)
			if types.UID(cm.Spec.Reservations[i].Rides[j].UID) == pod.UID {
				r.res = Reservation{Rode: true, Used: licensing.HeldSeats(&cm.Spec)}
				return changed, admitted, false, nil
			}
			if held, retry, err := l.otherPodHolds(ctx, cm, pod.Name, live); err != nil || retry {
				return false, false, retry, err
			} else if held {
				r.res = Reservation{NameHeld: true, Used: licensing.HeldSeats(&cm.Spec)}
				return changed, admitted, false, nil
			}
			cm.Spec.Reservations[i].Rides[j] = licensingv1alpha1.SeatLedgerEntry{Pod: pod.Name, UID: string(pod.UID), Admitted: metav1.NewTime(l.Clock.Now())}
			r.res = Reservation{Rode: true, Used: licensing.HeldSeats(&cm.Spec)}
			return true, true, false, nil
		}
		if i >= 0 {
			res := &cm.Spec.Reservations[i]
			res.Rides = append(res.Rides, licensingv1alpha1.SeatLedgerEntry{Pod: pod.Name, UID: string(pod.UID), Admitted: metav1.NewTime(l.Clock.Now())})
			r.res = Reservation{Rode: true, Used: licensing.HeldSeats(&cm.Spec)}
			return true, true, false, nil
		}
		has := slices.ContainsFunc(cm.Spec.Reservations, func(res licensingv1alpha1.SeatLedgerReservation) bool {
			return res.UID == string(ride.Workload)
		})
		if !has && !live {
			return false, false, true, nil // the reservation may be newer than this copy: read the live ledger
		}
		if !has {
			r.res = Reservation{Used: licensing.HeldSeats(&cm.Spec)}
			return changed, admitted, false, nil
		}
		if !live {
			return false, false, true, nil // every place taken: confirm on the live ledger
		}
		if *pruned {
			r.res = Reservation{RideFull: true, Used: licensing.HeldSeats(&cm.Spec)}
			return changed, admitted, false, nil
		}
		p, err := l.prune(ctx, cm)
		if err != nil {
			return false, false, false, err
		}
		*pruned, changed = true, changed || p
	}
}

// rideOf returns the index of the ride of the Pod named pod, or -1.
func rideOf(r *licensingv1alpha1.SeatLedgerReservation, pod string) int {
	for i := range r.Rides {
		if r.Rides[i].Pod == pod {
			return i
		}
	}
	return -1
}

// take is licensing.TakeSeats on the ledger cm for ask: the line of cm
// with the asking Pod (as a newcomer when newcomer, else as it stands in
// the line), and the holders other than an earlier Pod of its name.
func (l *Ledger) take(cm *licensingv1alpha1.SeatLedger, ask Ask, newcomer bool) licensing.SeatDecision {
	line := Line(cm, ask.Pod.Name)
	if i := waiterOf(cm, ask.Pod.Name); !newcomer && i >= 0 {
		line = Line(cm, "")
	} else {
		line = append(line, licensing.Waiter{
			Pod: ask.Pod.Name, UID: string(ask.Pod.UID), Priority: ask.Priority, Queued: l.Clock.Now(),
			Gang: ask.Gang.Name, GangSize: ask.Gang.Size, Refuse: !ask.Queue && ask.Gang.Size == 0,
		})
	}
	enforcement := licensingv1alpha1.EnforcementHard
	if ask.AllowOver {
		enforcement = licensingv1alpha1.EnforcementSoft
	}
	return licensing.TakeSeats(licensing.SeatState{Holders: liveCount(cm, ask.Pod.Name), Seats: ask.Seats, Enforcement: enforcement}, line)
}

// Unreserve removes the Pod's entry again (a later product of the same Pod was refused).
func (l *Ledger) Unreserve(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef) error {
	return l.Release(ctx, types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}, pod)
}

// Release removes the entry of the Pod (matching UID) from one ledger, and
// its place in the line.
func (l *Ledger) Release(ctx context.Context, ledger types.NamespacedName, pod PodRef) error {
	s := l.slot(ledger)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	fresh := false
	for {
		cm, before, live, err := l.read(ctx, s, ledger, fresh)
		fresh = true
		if err != nil {
			return client.IgnoreNotFound(err)
		}
		i, w := entryOf(cm, pod.Name), waiterOf(cm, pod.Name)
		holds := i >= 0 && (pod.UID == "" || types.UID(cm.Spec.Entries[i].UID) == pod.UID)
		waits := w >= 0 && (pod.UID == "" || types.UID(cm.Spec.Waiting[w].UID) == pod.UID)
		rides := removeRides(cm, pod)
		if !holds && !waits && !rides {
			if !live {
				continue
			}
			return nil
		}
		if holds {
			removeEntries(cm, map[string]bool{pod.Name: true})
		}
		if waits {
			removeWaiters(cm, map[string]bool{pod.Name: true})
		}
		err = l.write(ctx, s, before, cm, unbounded)
		if isRetryable(err) {
			continue
		}
		return client.IgnoreNotFound(err)
	}
}

// updateLedger writes cm with its resourceVersion (compare-and-swap) without
// its managedFields: the API server keeps the stored ones when an update
// carries none, and a ledger's managedFields name every entry and waiter
// (list-map keys), as large again as the spec: sending them back is about
// a third of every write's bytes. The server still tracks the fields.
func updateLedger(ctx context.Context, w client.Writer, cm *licensingv1alpha1.SeatLedger) error {
	cm.ManagedFields = nil
	return w.Update(ctx, cm)
}

// removeRides drops the rides of the Pod (by name, and UID when given) from
// every reservation, and says whether there were any.
func removeRides(cm *licensingv1alpha1.SeatLedger, pod PodRef) bool {
	removed := false
	for i := range cm.Spec.Reservations {
		r := &cm.Spec.Reservations[i]
		n := len(r.Rides)
		r.Rides = slices.DeleteFunc(r.Rides, func(e licensingv1alpha1.SeatLedgerEntry) bool {
			return e.Pod == pod.Name && (pod.UID == "" || types.UID(e.UID) == pod.UID)
		})
		if len(r.Rides) == 0 {
			r.Rides = nil
		}
		removed = removed || len(r.Rides) != n
	}
	return removed
}

// otherPodHolds says, when the asking Pod's name has a place in the ledger
// (an entry, a place in line or a ride) under another UID, whether the Pod
// of that place still exists (read live). Names are unique only among
// stored Pods: a create of a name that a Pod still has reaches admission
// before the storage refuses it, and taking over the place would give that
// Pod's seat away. retry is true on a remembered copy (not live), on which
// this is not decided: the caller reads the live ledger and decides again.
func (l *Ledger) otherPodHolds(ctx context.Context, cm *licensingv1alpha1.SeatLedger, name string, live bool) (held, retry bool, err error) {
	if !live {
		return false, true, nil
	}
	held, err = l.nameHeld(ctx, cm.Namespace, name)
	return held, false, err
}

// nameHeld says whether a Pod named name exists in namespace (read live).
func (l *Ledger) nameHeld(ctx context.Context, namespace, name string) (bool, error) {
	err := l.Reader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &corev1.Pod{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading Pod %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// prune drops the entries that licensing.StaleLedgerEntries finds stale. It
// lists the namespace's Pods once, and only when some entry is older than the
// grace.
func (l *Ledger) prune(ctx context.Context, cm *licensingv1alpha1.SeatLedger) (bool, error) {
	now := l.Clock.Now()
	old := func(e licensingv1alpha1.SeatLedgerEntry) bool { return now.Sub(e.Admitted.Time) >= l.Grace }
	if !slices.ContainsFunc(cm.Spec.Entries, old) && !slices.ContainsFunc(cm.Spec.Reservations, func(r licensingv1alpha1.SeatLedgerReservation) bool {
		return slices.ContainsFunc(r.Rides, old)
	}) {
		return false, nil
	}
	pods := &corev1.PodList{}
	if err := l.Reader.List(ctx, pods, client.InNamespace(cm.Namespace)); err != nil {
		return false, fmt.Errorf("listing the Pods of seat ledger %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	byName := make(map[string]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		byName[pods.Items[i].Name] = &pods.Items[i]
	}
	changed := false
	for i := range cm.Spec.Reservations {
		r := &cm.Spec.Reservations[i]
		if stale := licensing.StaleLedgerEntries(r.Rides, byName, now, l.Grace); len(stale) > 0 {
			drop := make(map[string]bool, len(stale))
			for _, d := range stale {
				drop[d.Entry.Pod] = true
			}
			r.Rides = slices.DeleteFunc(r.Rides, func(e licensingv1alpha1.SeatLedgerEntry) bool { return drop[e.Pod] })
			changed = true
		}
	}
	stale := licensing.StaleLedgerEntries(cm.Spec.Entries, byName, now, l.Grace)
	if len(stale) == 0 {
		return changed, nil
	}
	drop := make(map[string]bool, len(stale))
	for _, d := range stale {
		drop[d.Entry.Pod] = true
	}
	removeEntries(cm, drop)
	return true, nil
}

// liveCount is the number of seats held (licensing.HeldSeats: the entries
// and the Kueue Workloads' reservations), not counting an earlier Pod of the
// asking Pod's name (which is gone: decide and Peek check it with nameHeld).
func liveCount(cm *licensingv1alpha1.SeatLedger, podName string) int {
	n := licensing.HeldSeats(&cm.Spec)
	if entryOf(cm, podName) >= 0 && waiterOf(cm, podName) < 0 { // (an entry of a Pod in line is not held)
		n--
	}
	return n
}

func holders(cm *licensingv1alpha1.SeatLedger) []string {
	out := make([]string, 0, len(cm.Spec.Entries))
	for _, e := range cm.Spec.Entries {
		out = append(out, e.Pod)
	}
	sort.Strings(out)
	return out
}

func (l *Ledger) newLedger(asg *licensingv1alpha1.LicenseAssignment, key types.NamespacedName) *licensingv1alpha1.SeatLedger {
	return NewSeatLedger(asg, key.Name)
}

// NewSeatLedger returns an empty ledger of the assignment, named name, owned
// by it (so that garbage collection and namespace deletion remove it).
func NewSeatLedger(asg *licensingv1alpha1.LicenseAssignment, name string) *licensingv1alpha1.SeatLedger {
	return &licensingv1alpha1.SeatLedger{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: asg.Namespace,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: licensingv1alpha1.GroupVersion.String(),
				Kind:       "LicenseAssignment",
				Name:       asg.Name,
				UID:        asg.UID,
			}},
		},
		Spec: licensingv1alpha1.SeatLedgerSpec{Assignment: asg.Name},
	}
}

// Held is the number of seats of the assignment held (by Pods and by Kueue
// Workloads' reservations), read live.
func (l *Ledger) Held(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment) (int, error) {
	cm, err := ReadLedger(ctx, l.Reader, asg.Namespace, asg.Name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading seat ledger of %s: %w", asg.Name, err)
	}
	return licensing.HeldSeats(&cm.Spec), nil
}

// Peek answers Reserve for a dry-run request: it reads the ledger and writes nothing.
func (l *Ledger) Peek(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef, seats int32, allowOver bool) (Reservation, error) {
	return l.PeekAsk(ctx, asg, Ask{Pod: pod, Seats: seats, AllowOver: allowOver})
}

// PeekAsk answers Ask for a dry-run request: it reads the ledger, decides
// with the same rule, and writes nothing.
func (l *Ledger) PeekAsk(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, ask Ask) (Reservation, error) {
	cm, err := ReadLedger(ctx, l.Reader, asg.Namespace, asg.Name)
	if apierrors.IsNotFound(err) {
		cm = NewSeatLedger(asg, LedgerName(asg.Name))
	} else if err != nil {
		return Reservation{}, fmt.Errorf("reading seat ledger of %s: %w", asg.Name, err)
	}
	pod := ask.Pod
	if ask.Ride != nil {
		used := licensing.HeldSeats(&cm.Spec)
		if i, _ := licensing.FindRide(&cm.Spec, string(ask.Ride.Workload), ask.Ride.PodSet, pod.Name); i >= 0 {
			return Reservation{Rode: true, Used: used, Holders: holders(cm)}, nil
		}
		full := slices.ContainsFunc(cm.Spec.Reservations, func(r licensingv1alpha1.SeatLedgerReservation) bool { return r.UID == string(ask.Ride.Workload) })
		return Reservation{RideFull: full, Used: used, Holders: holders(cm)}, nil
	}
	if i := entryOf(cm, pod.Name); i >= 0 && types.UID(cm.Spec.Entries[i].UID) != pod.UID {
		held, err := l.nameHeld(ctx, cm.Namespace, pod.Name)
		if err != nil {
			return Reservation{}, err
		}
		if held {
			return Reservation{NameHeld: true, Used: len(cm.Spec.Entries), Holders: holders(cm)}, nil
		}
	}
	d := l.take(cm, ask, true)
	if !d.IsGranted(pod.Name) && d.Position(pod.Name) == 0 {
		if _, err := l.prune(ctx, cm); err != nil {
			return Reservation{}, err
		}
		d = l.take(cm, ask, true)
	}
	used := liveCount(cm, pod.Name)
	switch {
	case d.IsGranted(pod.Name):
		return Reservation{Admitted: true, Over: used >= int(ask.Seats), Used: used + 1, Holders: holders(cm)}, nil
	case d.Position(pod.Name) > 0:
		return Reservation{Queued: true, Position: d.Position(pod.Name), Waiting: len(d.Line), Used: used, Holders: holders(cm), Stopped: d.Stopped}, nil
	}
	return Reservation{Used: used, Holders: holders(cm), Stopped: d.Stopped}, nil
}
