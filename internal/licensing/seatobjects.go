package licensing

// The layout of an assignment's seat ledger: a main SeatLedger (the line,
// spec.blocked) and one seat object per held seat (a SeatLedger of one entry,
// or of one reservation of count 1), named by its index. These functions name
// the objects and fold them into the one ledger the rules read
// (MergeSeatLedgers); internal/seats reads and writes them.

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

const ledgerPrefix = "seat-ledger-"

// LedgerName is the name of the main SeatLedger of an assignment.
func LedgerName(assignment string) string {
	return boundedName(ledgerPrefix+assignment, assignment)
}

// boundedName is name when it is a valid object name's length, else its
// start and a hash of key.
func boundedName(name, key string) string {
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(key))
	return name[:253-17] + "-" + hex.EncodeToString(sum[:8])
}

// SeatObjectName is the name of the seat object of index i of the ledger
// named ledger: seat-ledger-<assignment>-<i>.
func SeatObjectName(ledger string, i int) string {
	suffix := "-" + strconv.Itoa(i)
	if len(ledger)+len(suffix) <= 253 {
		return ledger + suffix
	}
	sum := sha256.Sum256([]byte(ledger))
	return ledger[:253-17-len(suffix)] + "-" + hex.EncodeToString(sum[:8]) + suffix
}

// SeatLedgerLabelValue is the value of the SeatLedgerLabel of the seat
// objects of the ledger named ledger: the name, or a hash of it when it is
// longer than a label value may be (63).
func SeatLedgerLabelValue(ledger string) string {
	if len(ledger) <= 63 {
		return ledger
	}
	sum := sha256.Sum256([]byte(ledger))
	return "h-" + hex.EncodeToString(sum[:16])
}

// WaiterObjectName is the name of the waiter object of the Pod named pod
// in the line of the ledger named ledger: seat-ledger-<assignment>-w-<pod>.
func WaiterObjectName(ledger, pod string) string {
	return boundedName(ledger+"-w-"+pod, ledger+"/"+pod)
}

// IsWaiterObject says whether l is a waiter object (one Pod's place in the
// line of an assignment's ledger).
func IsWaiterObject(l *licensingv1alpha1.SeatLedger) bool {
	return l.Labels[licensingv1alpha1.SeatWaiterLabel] == "true" && l.Spec.Assignment != ""
}

// IsLedgerPart says whether l is a seat or a waiter object: a part of the
// ledger of its assignment that MergeSeatLedgers folds into the main one.
func IsLedgerPart(l *licensingv1alpha1.SeatLedger) bool {
	_, seat := SeatIndex(l)
	return seat || IsWaiterObject(l)
}

// SeatIndex is the index of a seat object, and whether l is one.
func SeatIndex(l *licensingv1alpha1.SeatLedger) (int, bool) {
	v, ok := l.Labels[licensingv1alpha1.SeatIndexLabel]
	if !ok || l.Spec.Assignment == "" {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, false
	}
	return i, true
}

// MergeSeatLedgers folds the seat and waiter objects among ledgers into the
// main ledger of their assignment (LedgerName of spec.assignment): its
// entries are its own and its seat objects', its reservations are one per
// Workload and pod set, whose count is the seats held for it and whose rides
// are those of its seat objects, and its line is its own and its waiter
// objects'. A main ledger that does not exist while seat objects do
// is made up from them (no resourceVersion; the owner of the seat objects).
// Ledgers that are no seat objects (main ledgers, the uses of a licence) come
// back in their order, made-up main ledgers after them. The input is not
// changed.
func MergeSeatLedgers(ledgers []licensingv1alpha1.SeatLedger) []licensingv1alpha1.SeatLedger {
	type key struct{ namespace, name string }
	out := make([]licensingv1alpha1.SeatLedger, 0, len(ledgers))
	index := map[key]int{}
	var seats []*licensingv1alpha1.SeatLedger
	for i := range ledgers {
		l := &ledgers[i]
		if IsLedgerPart(l) {
			seats = append(seats, l)
			continue
		}
		index[key{l.Namespace, l.Name}] = len(out)
		out = append(out, *l.DeepCopy())
	}
	parts := map[int][]licensingv1alpha1.SeatLedger{}
	for _, s := range seats {
		k := key{s.Namespace, LedgerName(s.Spec.Assignment)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, MainLedgerOf(s))
		}
		parts[i] = append(parts[i], *s) // a shallow copy: FoldSeats only reads it
	}
	for i, p := range parts {
		FoldSeats(&out[i], p)
	}
	return out
}

// SortLedger orders a merged ledger's lists as they were taken: entries and
// rides by admission time, then by Pod name, waiters in LineOrder
// (the objects come in the order of their names, which says nothing).
func SortLedger(l *licensingv1alpha1.SeatLedger) {
	byAdmitted := func(a, b licensingv1alpha1.SeatLedgerEntry) int {
		if c := a.Admitted.Compare(b.Admitted.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Pod, b.Pod)
	}
	slices.SortStableFunc(l.Spec.Entries, byAdmitted)
	for i := range l.Spec.Reservations {
		slices.SortStableFunc(l.Spec.Reservations[i].Rides, byAdmitted)
	}
	// The line in LineOrder: priority, then who queued first, then name.
	slices.SortStableFunc(l.Spec.Waiting, func(a, b licensingv1alpha1.SeatLedgerWaiter) int {
		if a.Priority != b.Priority {
			return int(b.Priority) - int(a.Priority)
		}
		if c := a.Queued.Compare(b.Queued.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Pod, b.Pod)
	})
}

// MainLedgerOf is the main ledger of the seat object s as it would be
// created: empty, owned as s is.
func MainLedgerOf(s *licensingv1alpha1.SeatLedger) licensingv1alpha1.SeatLedger {
	m := licensingv1alpha1.SeatLedger{Spec: licensingv1alpha1.SeatLedgerSpec{Assignment: s.Spec.Assignment}}
	m.Namespace, m.Name = s.Namespace, LedgerName(s.Spec.Assignment)
	m.OwnerReferences = slices.Clone(s.OwnerReferences)
	return m
}

// FoldSeats adds the entries and reservation seats of the seat objects
// among parts, and the waiters of its waiter objects, to the ledger main,
// and orders its lists (SortLedger). An entry or a waiter of a Pod that main
// lists already is not added twice (the first stands).
func FoldSeats(main *licensingv1alpha1.SeatLedger, parts []licensingv1alpha1.SeatLedger) {
	if len(parts) == 0 {
		return
	}
	entries, waiters := map[string]bool{}, map[string]bool{}
	for _, e := range main.Spec.Entries {
		entries[e.Pod] = true
	}
	for _, w := range main.Spec.Waiting {
		waiters[w.Pod] = true
	}
	res := map[[2]string]int{}
	for i, r := range main.Spec.Reservations {
		res[[2]string{r.UID, r.PodSet}] = i
	}
	for i := range parts {
		s := &parts[i]
		for _, w := range s.Spec.Waiting {
			if !waiters[w.Pod] {
				waiters[w.Pod] = true
				main.Spec.Waiting = append(main.Spec.Waiting, *w.DeepCopy())
			}
		}
		for _, e := range s.Spec.Entries {
			if !entries[e.Pod] {
				entries[e.Pod] = true
				main.Spec.Entries = append(main.Spec.Entries, e)
			}
		}
		for _, r := range s.Spec.Reservations {
			k := [2]string{r.UID, r.PodSet}
			j, ok := res[k]
			if !ok {
				res[k] = len(main.Spec.Reservations)
				main.Spec.Reservations = append(main.Spec.Reservations, *r.DeepCopy())
				continue
			}
			m := &main.Spec.Reservations[j]
			m.Count += r.Count
			m.Rides = append(m.Rides, r.Rides...)
			if r.Since.Before(&m.Since) {
				m.Since = r.Since
			}
		}
	}
	SortLedger(main)
}
