package licensing

// The rules of the seats a Kueue Workload reserves through the operator's
// AdmissionCheck (docs/kueue.md): which seats each pod set needs and on which
// assignment (the products of its pod template, and the cover a Pod of it
// would be admitted on), whether they can ever be held (Rejected), whether
// they can be held now (ReserveSeats, TakeSeats' rule with the Workload as
// one waiter of count seats), and what the Workload is told. The AdmissionCheck
// controller (internal/kueue) reads the objects and the seat ledger (internal/seats)
// stores what ReserveSeats returns; neither decides anything here.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// reservationWaiterPrefix starts the name a reservation carries as a waiter
// in TakeSeats' line, "workload <name>/<pod set>", which its messages show.
const reservationWaiterPrefix = "workload "

// ReservedSeats is the number of seats the reservations of a ledger hold.
func ReservedSeats(spec *licensingv1alpha1.SeatLedgerSpec) int {
	n := 0
	for _, r := range spec.Reservations {
		n += int(r.Count)
	}
	return n
}

// HeldSeats is the number of seats held on an assignment's ledger: one per
// entry (a Pod holding a seat) plus the count of each reservation (the Pods
// riding a reservation hold no seat of their own). Every path that counts
// seats (admission, the queue, the status) counts these, so that the Hard
// limit holds across Pods and Kueue Workloads.
//
// An entry of a Pod that still waits in line is a grant in flight (a seat
// object is created before its Pod's waiter object is deleted, and is
// undone if the rest of its write fails): it is not held yet, and the Pod
// is decided as one in line. The seat indices keep the seats taken below the
// assignment's whatever such a count says.
func HeldSeats(spec *licensingv1alpha1.SeatLedgerSpec) int {
	return len(spec.Entries) - len(PendingGrants(spec)) + ReservedSeats(spec)
}

// PendingGrants are the Pods that hold an entry and wait in line: grants in
// flight (HeldSeats).
func PendingGrants(spec *licensingv1alpha1.SeatLedgerSpec) map[string]bool {
	if len(spec.Waiting) == 0 || len(spec.Entries) == 0 {
		return nil
	}
	waiting := make(map[string]bool, len(spec.Waiting))
	for _, w := range spec.Waiting {
		waiting[w.Pod] = true
	}
	var out map[string]bool
	for _, e := range spec.Entries {
		if waiting[e.Pod] {
			if out == nil {
				out = map[string]bool{}
			}
			out[e.Pod] = true
		}
	}
	return out
}

// PodSetSeats is one pod set of a Kueue Workload as the AdmissionCheck sees it.
type PodSetSeats struct {
	// Name of the pod set.
	Name string
	// Count is the number of Pods admitted for it
	// (status.admission.podSetAssignments[].count).
	Count int32
	// Template is the pod template as admission judges a Pod of it
	// (WorkloadFromPodSpec of the template, Kind "Workload").
	Template Workload
}

// ReservationInput is everything SeatDemands needs, all of the Workload's namespace except the licences.
type ReservationInput struct {
	PodSets         []PodSetSeats
	Products        []licensingv1alpha1.LicenseProduct
	NamespaceLabels map[string]string
	// Licenses are the licences that may cover the pod sets.
	Licenses []licensingv1alpha1.SoftwareLicense
	// Assignments are the namespace's LicenseAssignments.
	Assignments []licensingv1alpha1.LicenseAssignment
}

// SeatDemand is the seats one pod set needs of one product.
type SeatDemand struct {
	PodSet string
	Count  int32
	Need   ProductNeed
	// Covers are the counted covers a Pod of the pod set could take a seat
	// on, in FindCovers' order: the first is the one whose line a Pod
	// would join (LineOf). Empty when the product is not covered (Uncovered)
	// or its first cover counts no Pods (nothing to reserve).
	Covers []Cover
	// Uncovered, when not empty, is why no licence covers the pod set for
	// the product (DenialMessage): nothing can be reserved until an
	// assignment covers it.
	Uncovered string
}

// SeatDemands are the seats each pod set needs, one demand per pod set and
// product whose seats are counted, by pod set then product; a product whose
// first cover counts no Pods (a Site licence, a NodeLocked seat, a person's
// NamedUser seat) admits every Pod without a seat and needs none, exactly as
// for a Pod. A freeToUse product needs nothing.
func SeatDemands(in ReservationInput) []SeatDemand {
	var out []SeatDemand
	for i := range in.PodSets {
		ps := &in.PodSets[i]
		if ps.Count <= 0 {
			continue
		}
		for _, need := range RequiredProducts(&ps.Template, in.Products) {
			product := productByName(in.Products, need.Product)
			if FreeToUse(product) {
				continue
			}
			auth := licensingv1alpha1.AuthorizationMethod("")
			if product != nil {
				auth = product.Spec.Authorization
			}
			covers, considered := FindCovers(CoverageInput{
				Workload: &ps.Template, Product: need.Product, NamespaceLabels: in.NamespaceLabels,
				Licenses: in.Licenses, Assignments: in.Assignments, Authorization: auth,
			})
			d := SeatDemand{PodSet: ps.Name, Count: ps.Count, Need: need}
			switch {
			case len(covers) == 0:
				d.Uncovered = DenialMessage(&ps.Template, need, nil, considered, nil)
			case LineOf(covers) == nil:
				continue // an uncounted cover admits every Pod
			default:
				for _, c := range covers {
					if c.Counted {
						d.Covers = append(d.Covers, c)
					}
				}
			}
			out = append(out, d)
		}
	}
	return out
}

func productByName(products []licensingv1alpha1.LicenseProduct, name string) *licensingv1alpha1.LicenseProduct {
	for i := range products {
		if products[i].Name == name {
			return &products[i]
		}
	}
	return nil
}

// NeverFits says why the demands can never all be held together, or "": a
// pod set needs more seats than every counted cover of its product has
// (under Hard enforcement), or the pod sets that only one assignment covers
// need more together than it has. Such a Workload is Rejected: waiting would
// not help; its count or the assignment's seats must change.
func NeverFits(demands []SeatDemand) string {
	var msgs []string
	only := map[string]int32{} // assignment -> seats demanded of it by pod sets it alone covers
	onlyCover := map[string]Cover{}
	var order []string
	for _, d := range demands {
		if len(d.Covers) == 0 {
			continue
		}
		fits := false
		for _, c := range d.Covers {
			if c.Enforcement == licensingv1alpha1.EnforcementSoft || d.Count <= c.Seats {
				fits = true
				break
			}
		}
		if !fits {
			c := d.Covers[0]
			msgs = append(msgs, fmt.Sprintf("pod set %s needs %d seats of %s; assignment %s holds %d (licence %s)",
				d.PodSet, d.Count, d.Need.Product, c.Assignment.Name, c.Seats, LicenseKey(c.License)))
			continue
		}
		if len(d.Covers) == 1 && d.Covers[0].Enforcement != licensingv1alpha1.EnforcementSoft {
			a := d.Covers[0].Assignment.Name
			if _, ok := only[a]; !ok {
				order = append(order, a)
			}
			only[a] += d.Count
			onlyCover[a] = d.Covers[0]
		}
	}
	for _, a := range order {
		// A pod set needing two products of one assignment holds one seat
		// there per Pod, as a Pod does: count each pod set once.
		total := int32(0)
		seen := map[string]bool{}
		for _, d := range demands {
			if len(d.Covers) == 1 && d.Covers[0].Assignment.Name == a && !seen[d.PodSet] {
				seen[d.PodSet] = true
				total += d.Count
			}
		}
		if c := onlyCover[a]; total > c.Seats {
			msgs = append(msgs, fmt.Sprintf("its pod sets need %d seats together on assignment %s, which holds %d (licence %s)",
				total, a, c.Seats, LicenseKey(c.License)))
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return "never fits: " + strings.Join(msgs, "; ") +
		". To fix: lower the Job's parallelism, or raise spec.seats of the assignment (the licence needs the seats)"
}

// ReservationAsk is one pod set's seats asked of an assignment's ledger.
type ReservationAsk struct {
	// Workload and PodSet name the reservation (in messages).
	Workload, PodSet string
	// Count seats are held together.
	Count int32
	// Priority is the Workload's spec.priority: its place among the Pods in
	// line, as a Pod of that priority.
	Priority int32
	// Now is when it asks: its place among the Pods in line of its priority.
	Now time.Time
}

// ReservationDecision is ReserveSeats' answer.
type ReservationDecision struct {
	// Reserved is true when the count seats are held from now on.
	Reserved bool
	// Over is true when a Soft assignment reserved beyond its seats.
	Over bool
	// Free are the seats free before the decision (never below 0).
	Free int
	// Waiting is the number of Pods in the ledger's line.
	Waiting int
	// Stopped says why the seats could not be reserved.
	Stopped string
}

// ReserveSeats decides whether a Workload's pod set takes count seats of an
// assignment at once, with TakeSeats: the reservation is a newcomer of count
// seats that does not join the line (Kueue keeps the Workload in its own
// queue): it is served only when nobody in line is ahead of it (priority,
// then who came first) and count seats are free, and never passes a Pod that
// waits for a seat, exactly as a Pod with whenNoSeat Refuse. state.Holders
// must count the held seats without this reservation (HeldSeats less its own
// count when it exists already).
func ReserveSeats(state SeatState, line []Waiter, ask ReservationAsk) ReservationDecision {
	w := Waiter{
		Pod: reservationWaiterPrefix + ask.Workload + "/" + ask.PodSet, Priority: ask.Priority, Queued: ask.Now,
		Seats: ask.Count, Refuse: true,
	}
	d := TakeSeats(state, append(append([]Waiter(nil), line...), w))
	out := ReservationDecision{Free: max(0, int(state.Seats)-state.Holders), Waiting: len(line), Stopped: d.Stopped}
	for _, g := range d.Granted {
		if g.Pod == w.Pod {
			out.Reserved, out.Stopped = true, ""
		}
	}
	for _, o := range d.Over {
		if o.Pod == w.Pod {
			out.Over = true
		}
	}
	if !out.Reserved && out.Stopped == "" {
		out.Stopped = state.Blocked
	}
	return out
}

// ReservationWaitMessage tells a Workload why its seats are not reserved
// yet: "needs 8 seats of cfd-solver; 3 free on licence hpc/hpc-2026 …".
func ReservationWaitMessage(d SeatDemand, c Cover, rd ReservationDecision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "needs %d seats of %s (pod set %s); %d free on licence %s (assignment %s holds %d",
		d.Count, d.Need.Product, d.PodSet, rd.Free, LicenseKey(c.License), c.Assignment.Name, c.Seats)
	if rd.Waiting > 0 {
		fmt.Fprintf(&b, ", %d Pods waiting in its line", rd.Waiting)
	}
	b.WriteString(")")
	if rd.Stopped != "" && !strings.HasPrefix(rd.Stopped, reservationWaiterPrefix) {
		fmt.Fprintf(&b, ": %s", rd.Stopped)
	}
	return b.String()
}

// ReservedMessage tells a Workload which seats it holds, by assignment.
func ReservedMessage(held map[string]int32) string {
	if len(held) == 0 {
		return "no licence seats needed: no pod set needs a counted seat"
	}
	names := make([]string, 0, len(held))
	for a := range held {
		names = append(names, a)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, a := range names {
		parts = append(parts, fmt.Sprintf("%d on assignment %s", held[a], a))
	}
	return "licence seats reserved: " + strings.Join(parts, ", ")
}

// FindRide is where a Pod of a Workload rides: the reservation of the
// Workload uid (and of podSet, when not empty) that has a free place, or
// that the Pod (by name) rides already. It returns the index of the
// reservation, and whether the Pod rides it already; -1 when none has room.
func FindRide(spec *licensingv1alpha1.SeatLedgerSpec, uid, podSet, pod string) (index int, already bool) {
	free := -1
	for i := range spec.Reservations {
		r := &spec.Reservations[i]
		if r.UID != uid || (podSet != "" && r.PodSet != podSet) {
			continue
		}
		for _, ride := range r.Rides {
			if ride.Pod == pod {
				return i, true
			}
		}
		if free < 0 && len(r.Rides) < int(r.Count) {
			free = i
		}
	}
	return free, false
}
