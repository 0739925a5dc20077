package seats

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// An assignment's ledger is stored as several objects (the SeatLedger type's
// comment): its main ledger, with the line, and one seat object per held
// seat, named by its index. The rules read one ledger, the objects merged
// (licensing.MergeSeatLedgers); writes go back as the few objects a decision
// changed (planWrite): taking a seat creates the seat object of a free index,
// which a second create of that index is refused (the compare-and-swap), and
// freeing it deletes the object on the UID and resourceVersion it was read
// with. A take costs the same small write whatever the holders and the line.

// unbounded is the limit of a write that may take seats beyond the
// assignment's (Soft enforcement, a recount of Pods that run).
const unbounded = -1

// ledgerParts is one assignment's ledger as stored: its main ledger (nil
// when it does not exist) and its seat and waiter objects (seats).
type ledgerParts struct {
	key   types.NamespacedName
	main  *licensingv1alpha1.SeatLedger
	seats []licensingv1alpha1.SeatLedger
	// migrate moves the entries the main ledger lists (an earlier
	// version's) into seat objects at the next write.
	migrate bool
}

// unmigrated says whether the main ledger, written by an earlier version,
// lists entries, reservations or waiters itself.
func (p *ledgerParts) unmigrated() bool {
	return p.main != nil && (len(p.main.Spec.Entries) > 0 || len(p.main.Spec.Reservations) > 0 || len(p.main.Spec.Waiting) > 0)
}

// empty says that no object of the ledger exists.
func (p *ledgerParts) empty() bool { return p.main == nil && len(p.seats) == 0 }

// merged is the ledger the rules read (a new object), nil when empty.
func (p *ledgerParts) merged() *licensingv1alpha1.SeatLedger {
	var m licensingv1alpha1.SeatLedger
	switch {
	case p.main != nil:
		m = *p.main.DeepCopy()
	case len(p.seats) > 0:
		m = licensing.MainLedgerOf(&p.seats[0])
	default:
		return nil
	}
	licensing.FoldSeats(&m, p.seats)
	return &m
}

// splitLedgers groups the SeatLedgers of a list by the assignment ledger
// they are part of (the main ledger's key); the uses ledgers of licences are
// left out.
func splitLedgers(items []licensingv1alpha1.SeatLedger) map[types.NamespacedName]*ledgerParts {
	out := map[types.NamespacedName]*ledgerParts{}
	part := func(key types.NamespacedName) *ledgerParts {
		p, ok := out[key]
		if !ok {
			p = &ledgerParts{key: key}
			out[key] = p
		}
		return p
	}
	for i := range items {
		l := &items[i]
		if l.Spec.Assignment == "" {
			continue
		}
		if licensing.IsLedgerPart(l) {
			p := part(types.NamespacedName{Namespace: l.Namespace, Name: licensing.LedgerName(l.Spec.Assignment)})
			p.seats = append(p.seats, *l) // never changed: a write makes new objects
			continue
		}
		part(client.ObjectKeyFromObject(l)).main = l
	}
	return out
}

// readParts reads the ledger whose main ledger is key: the main ledger and
// the seat objects labelled as its, from r (live, or a cache).
func readParts(ctx context.Context, r client.Reader, key types.NamespacedName) (*ledgerParts, error) {
	p := &ledgerParts{key: key}
	main := &licensingv1alpha1.SeatLedger{}
	switch err := r.Get(ctx, key, main); {
	case err == nil:
		p.main = main
		if main.Spec.Assignment == "" {
			return p, nil // the uses of a licence: one object
		}
	case !apierrors.IsNotFound(err):
		return nil, err
	}
	list := &licensingv1alpha1.SeatLedgerList{}
	if err := r.List(ctx, list, client.InNamespace(key.Namespace),
		client.MatchingLabels{licensingv1alpha1.SeatLedgerLabel: licensing.SeatLedgerLabelValue(key.Name)}); err != nil {
		return nil, err
	}
	for i := range list.Items {
		s := &list.Items[i]
		if licensing.IsLedgerPart(s) && licensing.LedgerName(s.Spec.Assignment) == key.Name {
			p.seats = append(p.seats, *s)
		}
	}
	return p, nil
}

// ReadLedger reads the ledger of an assignment merged from its objects
// (its main ledger and its seat objects), from r; NotFound when none exists.
func ReadLedger(ctx context.Context, r client.Reader, namespace, assignment string) (*licensingv1alpha1.SeatLedger, error) {
	return readMerged(ctx, r, types.NamespacedName{Namespace: namespace, Name: LedgerName(assignment)})
}

// readMerged reads the ledger key (readParts) merged; NotFound when no
// object of it exists.
func readMerged(ctx context.Context, r client.Reader, key types.NamespacedName) (*licensingv1alpha1.SeatLedger, error) {
	p, err := readParts(ctx, r, key)
	if err != nil {
		return nil, err
	}
	if p.empty() {
		return nil, ledgerNotFound(key.Name)
	}
	return p.merged(), nil
}

// ledgerNotFound is the NotFound of a ledger of which no object exists.
func ledgerNotFound(name string) error {
	return apierrors.NewNotFound(licensingv1alpha1.GroupVersion.WithResource("seatledgers").GroupResource(), name)
}

// writePlan is what a write of a ledger changes: seat objects to delete,
// update and create, waiter objects to create and delete (updates of both
// kinds are in updates), and the main ledger to write (nil: none).
type writePlan struct {
	deletes, updates, creates    []licensingv1alpha1.SeatLedger
	waiterCreates, waiterDeletes []licensingv1alpha1.SeatLedger
	// keep are the seat objects that stay as they are.
	keep       []licensingv1alpha1.SeatLedger
	main       *licensingv1alpha1.SeatLedger
	createMain bool
}

// errNoSeatIndex is a decision that took a seat where every index below
// the limit is held: the ledger read was not the one stored.
var errNoSeatIndex = errors.New("no free seat index below the assignment's seats")

// planWrite turns the ledger after (before, merged, as a rule changed it)
// into the writes of its objects:
//   - an entry of a Pod that has a seat object keeps it (updated when the
//     entry changed); one that the main ledger lists stays there (a ledger an
//     earlier version wrote); a new one is a new seat object;
//   - a reservation keeps the seat objects it has, up to its count, those
//     the desired rides ride first; the others are deleted, the missing ones
//     created; rides are placed on its seat objects, one each;
//   - a seat object of no entry or reservation of after is deleted;
//   - the main ledger keeps the line and spec.blocked (and the entries it
//     lists already), and is written when they change. Reservations it lists
//     (an earlier version's) move to seat objects.
//
// New seat objects take the first free indices from start on, below limit
// (the assignment's seats under Hard enforcement, wrapping round to 0;
// unbounded otherwise): writers that start at different indices (each
// replica its own) seldom try the same one. When the
// ledger holds seats that have no index below limit (the main ledger's
// entries, indices at or above it) and seats are taken, the main ledger is
// written too (LedgerSerialAnnotation): its compare-and-swap then orders the
// takers, as the indices alone cannot when seats were lowered.
func planWrite(before *ledgerParts, after *licensingv1alpha1.SeatLedger, limit, start int) (writePlan, error) {
	var plan writePlan
	mainSpec, fresh := plan.placeAll(before, after)
	// Indices: those of the seat objects that stay are taken; a deleted
	// one's is free again (the deletes go first).
	taken := map[int]bool{}
	over := len(mainSpec.Entries) > 0
	for _, list := range [][]licensingv1alpha1.SeatLedger{plan.keep, plan.updates} {
		for i := range list {
			idx, seat := licensing.SeatIndex(&list[i])
			if !seat {
				continue
			}
			taken[idx] = true
			over = over || (limit != unbounded && idx >= limit)
		}
	}
	for _, spec := range fresh {
		next, ok := freeIndex(taken, limit, start)
		if !ok {
			return writePlan{}, errNoSeatIndex
		}
		taken[next] = true
		plan.creates = append(plan.creates, seatObject(before.key, after, next, spec))
	}
	plan.planMain(before, after, mainSpec, over && len(plan.creates) > 0)
	return plan, nil
}

// placeAll decides, for each entry, reservation and waiter of after, the
// object of before that keeps it (in plan.keep or plan.updates) or that is
// created for it (plan.waiterCreates; the seat objects to create are
// returned, without their index, as fresh); the objects of before that keep
// nothing are deleted. It returns what the main ledger keeps.
func (plan *writePlan) placeAll(before *ledgerParts, after *licensingv1alpha1.SeatLedger) (mainSpec licensingv1alpha1.SeatLedgerSpec, fresh []licensingv1alpha1.SeatLedgerSpec) {
	done := make([]bool, len(before.seats))
	entrySeat, resSeats, waiterObj := before.index()
	mainEntries, mainWaiting := map[string]bool{}, map[string]bool{}
	if before.main != nil && !before.migrate {
		for _, e := range before.main.Spec.Entries {
			mainEntries[e.Pod] = true
		}
		for _, w := range before.main.Spec.Waiting {
			mainWaiting[w.Pod] = true
		}
	}
	mainSpec = licensingv1alpha1.SeatLedgerSpec{Assignment: after.Spec.Assignment, Blocked: after.Spec.Blocked}
	setSeat := func(i int, spec licensingv1alpha1.SeatLedgerSpec) {
		done[i] = true
		s := &before.seats[i]
		if sameSpec(&s.Spec, &spec) {
			plan.keep = append(plan.keep, *s)
			return
		}
		u := s.DeepCopy()
		u.Spec = spec
		plan.updates = append(plan.updates, *u)
	}
	// The seat objects of grants in flight (another writer created them and
	// has not deleted its Pods' waiter objects yet) that this write keeps as
	// its own are claimed: updated, so that the other writer's undo, which
	// deletes only the versions it created, leaves them.
	inFlight := func(pod string) bool {
		_, waits := waiterObj[pod]
		return waits || mainWaiting[pod] || (before.main != nil && waiterOf(before.main, pod) >= 0)
	}
	claim := func(i int, spec licensingv1alpha1.SeatLedgerSpec) {
		done[i] = true
		u := before.seats[i].DeepCopy()
		u.Spec = spec
		if u.Annotations == nil {
			u.Annotations = map[string]string{}
		}
		u.Annotations[licensingv1alpha1.SeatClaimAnnotation] = strconv.FormatInt(rand.Int64(), 36)
		plan.updates = append(plan.updates, *u)
	}
	for _, e := range after.Spec.Entries {
		if i, ok := entrySeat[e.Pod]; ok && !done[i] {
			spec := licensingv1alpha1.SeatLedgerSpec{Assignment: after.Spec.Assignment, Entries: []licensingv1alpha1.SeatLedgerEntry{e}}
			if inFlight(e.Pod) && !slices.ContainsFunc(after.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool { return w.Pod == e.Pod }) {
				claim(i, spec) // this write finishes the grant
			} else {
				setSeat(i, spec)
			}
			continue
		}
		if mainEntries[e.Pod] {
			mainSpec.Entries = append(mainSpec.Entries, e)
			continue
		}
		fresh = append(fresh, licensingv1alpha1.SeatLedgerSpec{Assignment: after.Spec.Assignment, Entries: []licensingv1alpha1.SeatLedgerEntry{e}})
	}
	for _, r := range after.Spec.Reservations {
		fresh = append(fresh, planReservation(before, after.Spec.Assignment, r, resSeats[[2]string{r.UID, r.PodSet}], done, setSeat)...)
	}
	for _, w := range after.Spec.Waiting {
		spec := licensingv1alpha1.SeatLedgerSpec{Assignment: after.Spec.Assignment, Waiting: []licensingv1alpha1.SeatLedgerWaiter{w}}
		switch i, ok := waiterObj[w.Pod]; {
		case ok && !done[i]:
			setSeat(i, spec)
		case mainWaiting[w.Pod]:
			mainSpec.Waiting = append(mainSpec.Waiting, w)
		default:
			plan.waiterCreates = append(plan.waiterCreates, waiterObject(before.key, after, spec))
		}
	}
	for i := range before.seats {
		switch {
		case done[i]:
		case licensing.IsWaiterObject(&before.seats[i]):
			plan.waiterDeletes = append(plan.waiterDeletes, before.seats[i])
		default:
			plan.deletes = append(plan.deletes, before.seats[i])
		}
	}
	return mainSpec, fresh
}

// index maps, to their places in p.seats, the seat object of each Pod's
// entry (the first, when several), the seat objects of each reservation (by
// Workload UID and pod set) and the waiter object of each Pod in line.
func (p *ledgerParts) index() (entrySeat map[string]int, resSeats map[[2]string][]int, waiterObj map[string]int) {
	entrySeat, resSeats, waiterObj = map[string]int{}, map[[2]string][]int{}, map[string]int{}
	for i := range p.seats {
		s := &p.seats[i]
		if licensing.IsWaiterObject(s) {
			for _, w := range s.Spec.Waiting {
				if _, ok := waiterObj[w.Pod]; !ok {
					waiterObj[w.Pod] = i
				}
			}
			continue
		}
		for _, e := range s.Spec.Entries {
			if _, ok := entrySeat[e.Pod]; !ok {
				entrySeat[e.Pod] = i
			}
		}
		for _, r := range s.Spec.Reservations {
			k := [2]string{r.UID, r.PodSet}
			resSeats[k] = append(resSeats[k], i)
		}
	}
	return entrySeat, resSeats, waiterObj
}

// planMain decides the write of the main ledger, which keeps mainSpec:
// none when nothing of it changes, unless serialize (seats taken while the
// assignment holds seats without an index below its limit), which writes it
// with a new LedgerSerialAnnotation.
func (plan *writePlan) planMain(before *ledgerParts, after *licensingv1alpha1.SeatLedger, mainSpec licensingv1alpha1.SeatLedgerSpec, serialize bool) {
	switch {
	case before.main == nil:
		if len(mainSpec.Waiting) > 0 || mainSpec.Blocked != "" || serialize {
			m := &licensingv1alpha1.SeatLedger{Spec: mainSpec}
			m.Namespace, m.Name = before.key.Namespace, before.key.Name
			m.OwnerReferences = slices.Clone(after.OwnerReferences)
			plan.main, plan.createMain = m, true
		}
	case !apiequality.Semantic.DeepEqual(before.main.Spec, mainSpec) || serialize:
		m := before.main.DeepCopy()
		m.Spec = mainSpec
		if serialize {
			n, _ := strconv.Atoi(m.Annotations[licensingv1alpha1.LedgerSerialAnnotation])
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[licensingv1alpha1.LedgerSerialAnnotation] = strconv.Itoa(n + 1)
		}
		plan.main = m
	}
}

// freeIndex is the first index from start on that taken does not hold:
// below limit, wrapping round to 0, or without bound when limit is
// unbounded. ok is false when every index below limit is taken.
func freeIndex(taken map[int]bool, limit, start int) (int, bool) {
	if limit == unbounded {
		for i := max(start, 0); ; i++ {
			if !taken[i] {
				return i, true
			}
		}
	}
	if limit <= 0 {
		return 0, false
	}
	for n := range limit {
		if i := (start + n) % limit; !taken[i] {
			return i, true
		}
	}
	return 0, false
}

// sameSpec says whether a seat or waiter object's spec a is b: cheaply for
// the one entry or waiter most hold (a write compares every object of the
// ledger).
func sameSpec(a, b *licensingv1alpha1.SeatLedgerSpec) bool {
	switch {
	case a.Assignment != b.Assignment || len(a.Entries) != len(b.Entries) || len(a.Waiting) != len(b.Waiting) ||
		len(a.Reservations) != len(b.Reservations) || a.Blocked != b.Blocked || a.License != b.License || a.Uses != nil || b.Uses != nil:
		return false
	case len(a.Reservations) > 0:
		return apiequality.Semantic.DeepEqual(a, b)
	}
	for i := range a.Entries {
		x, y := &a.Entries[i], &b.Entries[i]
		if x.Pod != y.Pod || x.UID != y.UID || !x.Admitted.Equal(&y.Admitted) {
			return false
		}
	}
	for i := range a.Waiting {
		x, y := &a.Waiting[i], &b.Waiting[i]
		if x.Pod != y.Pod || x.UID != y.UID || x.Priority != y.Priority || !x.Queued.Equal(&y.Queued) || x.Gang != y.Gang ||
			x.GangSize != y.GangSize || x.Namespace != y.Namespace || !slices.Equal(x.Features, y.Features) {
			return false
		}
	}
	return true
}

// planReservation places the reservation r of after on the seat objects
// idx it has (indices into before.seats), through setSeat, and returns the
// specs of the seat objects to create for it.
func planReservation(before *ledgerParts, assignment string, r licensingv1alpha1.SeatLedgerReservation, idx []int, done []bool,
	setSeat func(int, licensingv1alpha1.SeatLedgerSpec)) []licensingv1alpha1.SeatLedgerSpec {
	want := map[string]licensingv1alpha1.SeatLedgerEntry{}
	for _, ride := range r.Rides {
		want[ride.Pod] = ride
	}
	rideOn := func(i int) (licensingv1alpha1.SeatLedgerEntry, bool) {
		s := &before.seats[i]
		if len(s.Spec.Reservations) == 0 || len(s.Spec.Reservations[0].Rides) == 0 {
			return licensingv1alpha1.SeatLedgerEntry{}, false
		}
		return s.Spec.Reservations[0].Rides[0], true
	}
	// The seat objects kept, those whose ride stays first, then free ones,
	// then those whose ride leaves.
	var kept []int
	placed := map[string]bool{}
	for pass := 0; pass < 3; pass++ {
		for _, i := range idx {
			if done[i] || slices.Contains(kept, i) || len(kept) >= int(r.Count) {
				continue
			}
			ride, rides := rideOn(i)
			_, wanted := want[ride.Pod]
			switch {
			case pass == 0 && rides && wanted && !placed[ride.Pod]:
				placed[ride.Pod] = true
			case pass == 1 && !rides:
			case pass == 2 && rides && (!wanted || placed[ride.Pod]) && !slices.Contains(kept, i):
			default:
				continue
			}
			kept = append(kept, i)
		}
	}
	var pending []licensingv1alpha1.SeatLedgerEntry
	for _, ride := range r.Rides {
		if !placed[ride.Pod] {
			pending = append(pending, ride)
		}
	}
	spec := func(since licensingv1alpha1.SeatLedgerReservation, ride *licensingv1alpha1.SeatLedgerEntry) licensingv1alpha1.SeatLedgerSpec {
		res := licensingv1alpha1.SeatLedgerReservation{Workload: r.Workload, UID: r.UID, PodSet: r.PodSet, Count: 1, Since: since.Since}
		if ride != nil {
			res.Rides = []licensingv1alpha1.SeatLedgerEntry{*ride}
		}
		return licensingv1alpha1.SeatLedgerSpec{Assignment: assignment, Reservations: []licensingv1alpha1.SeatLedgerReservation{res}}
	}
	for _, i := range kept {
		own := before.seats[i].Spec.Reservations[0]
		var ride *licensingv1alpha1.SeatLedgerEntry
		if cur, ok := rideOn(i); ok && placed[cur.Pod] {
			w := want[cur.Pod]
			ride = &w
			delete(placed, cur.Pod) // placed once
		} else if len(pending) > 0 {
			ride, pending = &pending[0], pending[1:]
		}
		setSeat(i, spec(own, ride))
	}
	var out []licensingv1alpha1.SeatLedgerSpec
	for n := len(kept); n < int(r.Count); n++ {
		var ride *licensingv1alpha1.SeatLedgerEntry
		if len(pending) > 0 {
			ride, pending = &pending[0], pending[1:]
		}
		out = append(out, spec(r, ride))
	}
	return out
}

// waiterObject is the waiter object of the one waiter of spec in the line
// of the ledger key, owned as the ledger l is.
func waiterObject(key types.NamespacedName, l *licensingv1alpha1.SeatLedger, spec licensingv1alpha1.SeatLedgerSpec) licensingv1alpha1.SeatLedger {
	return ledgerPart(key, l, licensing.WaiterObjectName(key.Name, spec.Waiting[0].Pod), licensingv1alpha1.SeatWaiterLabel, "true", spec)
}

// seatObject is the seat object of index i of the ledger key, of spec,
// owned as the ledger l is.
func seatObject(key types.NamespacedName, l *licensingv1alpha1.SeatLedger, i int, spec licensingv1alpha1.SeatLedgerSpec) licensingv1alpha1.SeatLedger {
	return ledgerPart(key, l, licensing.SeatObjectName(key.Name, i), licensingv1alpha1.SeatIndexLabel, strconv.Itoa(i), spec)
}

// ledgerPart is an object of the ledger key named name, of spec, labelled as
// the ledger's and with label=value, owned as the ledger l is.
func ledgerPart(key types.NamespacedName, l *licensingv1alpha1.SeatLedger, name, label, value string, spec licensingv1alpha1.SeatLedgerSpec) licensingv1alpha1.SeatLedger {
	o := licensingv1alpha1.SeatLedger{Spec: spec}
	o.Namespace, o.Name = key.Namespace, name
	o.Labels = map[string]string{licensingv1alpha1.SeatLedgerLabel: licensing.SeatLedgerLabelValue(key.Name), label: value}
	o.OwnerReferences = slices.Clone(l.OwnerReferences)
	return o
}

// writeParts writes what the ledger after changed of before (planWrite)
// and returns the ledger as stored after the writes. The deletes of seat
// objects go first (on the UID and resourceVersion read), then updates,
// creates of seat and waiter objects and the main ledger; an error of any (a
// Conflict, AlreadyExists or NotFound when another writer came first) undoes
// the creates of this write, so that a decision either stands whole or takes
// no seat, and is returned as it is. The deletes of waiter objects go last.
func writeParts(ctx context.Context, w client.Writer, before *ledgerParts, after *licensingv1alpha1.SeatLedger, limit, start int) (*ledgerParts, error) {
	if after.Spec.Assignment == "" {
		// The uses of a licence: one object.
		if err := updateLedger(ctx, w, after); err != nil {
			return nil, err
		}
		return &ledgerParts{key: before.key, main: after.DeepCopy()}, nil
	}
	plan, err := planWrite(before, after, limit, start)
	if err != nil {
		return nil, err
	}
	out := &ledgerParts{key: before.key, main: before.main, seats: plan.keep}
	for i := range plan.deletes {
		d := &plan.deletes[i]
		err := w.Delete(ctx, d, client.Preconditions{UID: &d.UID, ResourceVersion: &d.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	for i := range plan.updates {
		u := &plan.updates[i]
		if err := updateLedger(ctx, w, u); err != nil {
			return nil, err
		}
		out.seats = append(out.seats, *u)
	}
	var created []licensingv1alpha1.SeatLedger
	undo := func(err error) (*ledgerParts, error) {
		// Undo without the request's deadline, which may be what ended it.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for i := range created {
			// Only the version created: another writer that claimed it
			// (planWrite) keeps it.
			c := &created[i]
			_ = w.Delete(uctx, c, client.Preconditions{UID: &c.UID, ResourceVersion: &c.ResourceVersion})
		}
		return nil, err
	}
	// The creates of one decision (a batch of admissions, a gang, a
	// reservation) are independent objects: they go at once.
	creates := append(slices.Clone(plan.creates), plan.waiterCreates...)
	errs := make([]error, len(creates))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelCreates)
	for i := range creates {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = w.Create(ctx, &creates[i])
		}()
	}
	wg.Wait()
	var first error
	for i := range creates {
		c := &creates[i]
		switch err := errs[i]; {
		case err == nil:
			created = append(created, *c)
		case first != nil:
		case apierrors.IsAlreadyExists(err) && c.Labels[licensingv1alpha1.SeatIndexLabel] != "":
			first = &seatTakenError{name: c.Name, err: err}
		default:
			first = err
		}
	}
	if first != nil {
		return undo(first)
	}
	if m := plan.main; m != nil {
		if plan.createMain {
			err = w.Create(ctx, m)
		} else {
			err = updateLedger(ctx, w, m)
		}
		if err != nil {
			return undo(err)
		}
		out.main = m
	}
	out.seats = append(out.seats, created...)
	// The places in line go last: a Pod granted a seat leaves the line only
	// once its seat is held, so that no failure leaves it with neither. The
	// decision stands from here: a waiter that another writer changed meanwhile
	// is not undone (the caller reads again; a Pod that holds a seat and still
	// waits is granted nothing twice, its entry being by name).
	for i := range plan.waiterDeletes {
		d := &plan.waiterDeletes[i]
		err := w.Delete(ctx, d, client.Preconditions{UID: &d.UID, ResourceVersion: &d.ResourceVersion})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return out, nil
}

// seatTakenError is the AlreadyExists of the create of the seat object
// name: another writer took that index first.
type seatTakenError struct {
	name string
	err  error
}

func (e *seatTakenError) Error() string { return e.err.Error() }
func (e *seatTakenError) Unwrap() error { return e.err }

// maxParallelCreates bounds the creates of one write in flight at once.
const maxParallelCreates = 16

// isRetryable says whether a write of a ledger failed because another
// writer came first: read again and decide again.
func isRetryable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errNoSeatIndex)
}

// describeWrite wraps an error of writing the ledger key.
func describeWrite(key types.NamespacedName, err error) error {
	return fmt.Errorf("writing seat ledger %s: %w", key, err)
}

// GetLedger reads into l the ledger of an assignment merged from its
// objects (ReadLedger), from r; NotFound when none exists.
func GetLedger(ctx context.Context, r client.Reader, namespace, assignment string, l *licensingv1alpha1.SeatLedger) error {
	m, err := ReadLedger(ctx, r, namespace, assignment)
	if err != nil {
		return err
	}
	*l = *m
	return nil
}

// SeatObjectOf is the seat object of index i of the assignment's ledger
// holding the entry e, as a take creates it (for tests and benchmarks that
// set up a ledger).
func SeatObjectOf(asg *licensingv1alpha1.LicenseAssignment, i int, e licensingv1alpha1.SeatLedgerEntry) *licensingv1alpha1.SeatLedger {
	key := types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}
	s := seatObject(key, NewSeatLedger(asg, key.Name), i, licensingv1alpha1.SeatLedgerSpec{Assignment: asg.Name, Entries: []licensingv1alpha1.SeatLedgerEntry{e}})
	return &s
}

// WaiterObjectOf is the waiter object of w in the line of the assignment's
// ledger, as joining the line creates it (for tests and benchmarks that set
// up a ledger).
func WaiterObjectOf(asg *licensingv1alpha1.LicenseAssignment, w licensingv1alpha1.SeatLedgerWaiter) *licensingv1alpha1.SeatLedger {
	key := types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}
	o := waiterObject(key, NewSeatLedger(asg, key.Name), licensingv1alpha1.SeatLedgerSpec{Assignment: asg.Name, Waiting: []licensingv1alpha1.SeatLedgerWaiter{w}})
	return &o
}
