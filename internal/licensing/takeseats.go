package licensing

// The one rule of Concurrent seats: who may take the next seat of an
// assignment. The admission webhook (a Pod asking for a seat), the queue
// controller (a seat freed for the Pods in line), a dry run (Peek) and the
// Kueue AdmissionCheck (a Workload's reservation, ReserveSeats) all decide
// with TakeSeats; the seat ledger only stores what it returns and swaps it
// in with compare-and-swap.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Names of the line's gate and annotations, for messages.
const (
	SeatGateName             = licensingv1alpha1.SeatGate
	WhenNoSeatAnnotationName = licensingv1alpha1.WhenNoSeatAnnotation
	GangAnnotationName       = licensingv1alpha1.GangAnnotation
)

// Waiter is a Pod that asks for a seat: one in line, or a newcomer.
type Waiter struct {
	Pod string
	UID string
	// Priority is the Pod's spec.priority: higher is served first.
	Priority int32
	// Queued is when the Pod joined the line (for a newcomer, now).
	Queued time.Time
	// Gang and GangSize: the Pod starts only together with GangSize Pods
	// of its gang (GangSize 0: no gang).
	Gang     string
	GangSize int32
	// Refuse marks a newcomer that does not join the line: it takes a seat
	// now or is refused (whenNoSeat Refuse, or a seat tried on a cover
	// other than the one whose line the Pod would join).
	Refuse bool
	// Seats is how many seats the waiter takes at once (0 means 1): a Kueue
	// Workload's pod set reserves its count together (ReserveSeats). Such a
	// waiter is never in a gang.
	Seats int32
}

// seats is how many seats w takes when served.
func (w Waiter) seats() int { return max(1, int(w.Seats)) }

// SeatState is an assignment's seats as its ledger and its licence have them.
type SeatState struct {
	// Holders is the number of Pods holding a seat.
	Holders int
	// Seats is the assignment's seats.
	Seats int32
	// Enforcement: Soft grants beyond the seats (Over).
	Enforcement licensingv1alpha1.Enforcement
	// Blocked, when not empty, says why no seat may be taken now (the
	// licence is expired, suspended or revoked): nobody is served, the line
	// stays, newcomers that do not join it are refused.
	Blocked string
}

// SeatDecision is TakeSeats' answer.
type SeatDecision struct {
	// Granted take a seat each, in line order.
	Granted []Waiter
	// Over are the granted Pods beyond the seats (Soft enforcement only).
	Over []Waiter
	// Line is the line after the decision, in order: position i+1.
	Line []Waiter
	// Refused are the newcomers marked Refuse that got no seat.
	Refused []Waiter
	// Stopped says why the head of the line was not served ("" when the
	// line is empty or every Pod in it was served).
	Stopped string
}

// noSeatFree starts the Stopped of a line whose head finds every seat held.
const noSeatFree = "no seat is free"

// LineOrder sorts a line: higher priority first, then who queued first, then
// the Pod name (so that two replicas order alike).
func LineOrder(line []Waiter) {
	sort.SliceStable(line, func(i, j int) bool {
		a, b := line[i], line[j]
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		if !a.Queued.Equal(b.Queued) {
			return a.Queued.Before(b.Queued)
		}
		return a.Pod < b.Pod
	})
}

// TakeSeats decides which Pods of the line (the Pods waiting plus any
// newcomers, in any order) take a seat. The line is served strictly in
// LineOrder, with no backfill: when its head cannot be served, nobody
// behind it is, so a newcomer never takes a seat that somebody ahead of it
// waits for, and a gang at the head is not starved by single Pods behind it.
//   - A single Pod at the head takes a free seat; a waiter of several Seats
//     (a Workload's reservation) takes that many free seats at once. One
//     that needs more seats than the assignment has is passed over, as a
//     gang that can never start is.
//   - A gang at the head (its position is that of its first member) takes
//     GangSize seats at once for its first GangSize members when that many
//     have joined and that many seats are free; otherwise it waits, and so
//     does the line. Members beyond GangSize form the gang's next instance.
//     A gang larger than the assignment's seats can never start: it is
//     passed over (it keeps its place and says so in Stopped) instead of
//     blocking the line for ever.
//   - Soft enforcement serves every Pod (gangs still start only whole): the
//     ones beyond the seats are also in Over.
//   - Blocked serves nobody.
//
// Newcomers marked Refuse that are not served are Refused, never in Line.
func TakeSeats(state SeatState, line []Waiter) SeatDecision {
	line = append([]Waiter(nil), line...)
	LineOrder(line)
	var d SeatDecision
	free := int(state.Seats) - state.Holders
	soft := state.Enforcement == licensingv1alpha1.EnforcementSoft
	served := make([]bool, len(line))
	stopped := state.Blocked
	passed := map[string]bool{}
	firstPassed := ""     // the first gang passed over, in line order: Stopped names it
	var passedSeats []int // waiters of more seats than the assignment has
	held := state.Holders // after the grants so far
	grant := func(i int) {
		n := line[i].seats()
		served[i] = true
		d.Granted = append(d.Granted, line[i])
		if free < n {
			d.Over = append(d.Over, line[i])
		}
		free -= n
		held += n
	}
	for i := 0; i < len(line) && stopped == ""; i++ {
		w := line[i]
		if served[i] || passed[w.Gang] && w.GangSize > 0 {
			continue
		}
		if w.GangSize <= 0 {
			switch stop, never := singleStop(w, state, free, held, soft); {
			case never:
				passedSeats = append(passedSeats, i) // never servable: does not block the line
			case stop == "":
				grant(i)
			default:
				stopped = stop
			}
			continue
		}
		if w.GangSize > state.Seats && !soft {
			passed[w.Gang] = true // never startable: does not block the line
			if firstPassed == "" {
				firstPassed = w.Gang
			}
			continue
		}
		var members []int
		for j := i; j < len(line) && len(members) < int(w.GangSize); j++ {
			if !served[j] && line[j].GangSize > 0 && line[j].Gang == w.Gang {
				members = append(members, j)
			}
		}
		switch {
		case len(members) < int(w.GangSize):
			stopped = fmt.Sprintf("gang %s at the head has %d of its %d Pods", w.Gang, len(members), w.GangSize)
		case free < int(w.GangSize) && !soft:
			stopped = fmt.Sprintf("gang %s at the head needs %d seats together, %d free", w.Gang, w.GangSize, max(free, 0))
		default:
			for _, j := range members {
				grant(j)
			}
		}
	}
	for i, w := range line {
		switch {
		case served[i]:
		case w.Refuse:
			d.Refused = append(d.Refused, w)
		default:
			d.Line = append(d.Line, w)
		}
	}
	if stopped == "" {
		stopped = passedOver(state, line, firstPassed, passedSeats)
	}
	if len(d.Line) > 0 || len(d.Refused) > 0 {
		d.Stopped = stopped
	}
	return d
}

// passedOver says which waiter the line passed over because it can never
// start: the first gang, else the first waiter of several seats ("" when none).
func passedOver(state SeatState, line []Waiter, gang string, seats []int) string {
	switch {
	case gang != "":
		return fmt.Sprintf("gang %s needs more seats together than the assignment has (%d)", gang, state.Seats)
	case len(seats) > 0:
		w := line[seats[0]]
		return fmt.Sprintf("%s needs %d seats together, more than the assignment has (%d)", w.Pod, w.seats(), state.Seats)
	}
	return ""
}

// singleStop says why a waiter that is no gang member, at the head of the
// line, cannot be served now ("" when it can), or that it never can (more
// seats at once than the assignment has).
func singleStop(w Waiter, state SeatState, free, held int, soft bool) (stop string, never bool) {
	n := w.seats()
	switch {
	case soft || free >= n:
		return "", false
	case n > 1 && n > int(state.Seats):
		return "", true
	case n == 1:
		return fmt.Sprintf("%s: %d of %d held", noSeatFree, held, state.Seats), false
	}
	return fmt.Sprintf("%s at the head needs %d seats together, %d free", w.Pod, n, max(free, 0)), false
}

// Position is the 1-based place of the Pod in the line, or 0.
func (d SeatDecision) Position(pod string) int {
	for i, w := range d.Line {
		if w.Pod == pod {
			return i + 1
		}
	}
	return 0
}

// IsGranted says whether the Pod takes a seat.
func (d SeatDecision) IsGranted(pod string) bool {
	for _, w := range d.Granted {
		if w.Pod == pod {
			return true
		}
	}
	return false
}

// Gang is a parsed licensing.license-operator.dev/gang annotation.
type Gang struct {
	Name string
	Size int32
}

// MaxGangSize bounds a gang: no assignment line holds more than the ledger's 10000 entries.
const MaxGangSize = 10000

// ParseGang reads the gang annotation of a Pod or pod template: absent is
// no gang; "<name>/<size>" with a name and a size from 1 to MaxGangSize.
func ParseGang(annotations map[string]string) (Gang, error) {
	v, ok := annotations[licensingv1alpha1.GangAnnotation]
	if !ok {
		return Gang{}, nil
	}
	name, size, found := strings.Cut(strings.TrimSpace(v), "/")
	n, err := strconv.ParseInt(size, 10, 32)
	if !found || name == "" || err != nil || n < 1 || n > MaxGangSize {
		return Gang{}, fmt.Errorf("annotation %s: %q is not <name>/<size> with a size from 1 to %d (for example trainers/4)",
			licensingv1alpha1.GangAnnotation, v, MaxGangSize)
	}
	return Gang{Name: name, Size: int32(n)}, nil
}

// ParseWhenNoSeat reads the when-no-seat annotation of a Pod or pod
// template: "" when absent, else Queue or Refuse.
func ParseWhenNoSeat(annotations map[string]string) (licensingv1alpha1.WhenNoSeat, error) {
	v, ok := annotations[licensingv1alpha1.WhenNoSeatAnnotation]
	if !ok {
		return "", nil
	}
	switch w := licensingv1alpha1.WhenNoSeat(v); w {
	case licensingv1alpha1.WhenNoSeatQueue, licensingv1alpha1.WhenNoSeatRefuse:
		return w, nil
	}
	return "", fmt.Errorf("annotation %s: %q is neither Queue nor Refuse", licensingv1alpha1.WhenNoSeatAnnotation, v)
}

// WhenNoSeatOf is what happens to a Pod that finds no free seat on a cover:
// the policy's whenNoSeat (Queue by default), or Refuse when the Pod asks
// for it with the annotation. A Pod cannot turn a policy's Refuse into Queue.
func WhenNoSeatOf(l *licensingv1alpha1.SoftwareLicense, annotations map[string]string) licensingv1alpha1.WhenNoSeat {
	if annotations[licensingv1alpha1.WhenNoSeatAnnotation] == string(licensingv1alpha1.WhenNoSeatRefuse) {
		return licensingv1alpha1.WhenNoSeatRefuse
	}
	if l != nil && l.Status.EffectivePolicy != nil && l.Status.EffectivePolicy.WhenNoSeat != nil {
		return *l.Status.EffectivePolicy.WhenNoSeat
	}
	return DefaultWhenNoSeat
}

// AssignmentSeats are the seats an assignment holds: status.seats once the
// controller has bound it, else spec.seats.
func AssignmentSeats(a *licensingv1alpha1.LicenseAssignment) int32 {
	if a.Status.Seats != 0 {
		return a.Status.Seats
	}
	return a.Spec.Seats
}

// LineState is the SeatState of the line of assignment a, whose licence is
// l (nil when not found), with holders Pods holding its seats: Blocked
// says why nobody in line may take a seat now (the assignment is not
// Bound, or its licence admits nothing in its state); the line stays.
func LineState(holders int, a *licensingv1alpha1.LicenseAssignment, l *licensingv1alpha1.SoftwareLicense) SeatState {
	s := SeatState{Holders: holders, Enforcement: licensingv1alpha1.EnforcementHard}
	switch {
	case a == nil:
		s.Blocked = "the assignment does not exist"
		return s
	case a.Status.State != licensingv1alpha1.AssignmentStateBound:
		s.Blocked = fmt.Sprintf("assignment %s is %s", a.Name, orText(string(a.Status.State), "not bound yet"))
	case l == nil:
		s.Blocked = fmt.Sprintf("licence %s does not exist", a.Status.License)
	case !UsableForAdmission(l.Status.State):
		s.Blocked = fmt.Sprintf("licence %s is %s", LicenseKey(l), stateText(l.Status.State))
	}
	s.Seats = AssignmentSeats(a)
	if l != nil {
		s.Enforcement = EnforcementOf(l)
	}
	return s
}
