package licensing

// The rules of the seat ledgers (SeatLedger objects): which entries no longer
// hold a seat, and how a namespace's ledgers are recounted from its live Pods.
// The webhook's ledger store and the recount controller read the objects and
// write what these functions return; they decide nothing themselves.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// AdmissionUIDPrefix marks the UID of a ledger entry or pending use written
// at a Pod's CREATE on the mutating Pod path: the API server gives a Pod its
// UID only after the mutating webhooks (with its creation time), so the
// entry carries the admission request's UID, and the stored Pod is matched
// to it by name and creation time (EntryOfPod), for the Pod's life. The
// recount finds which entries the stored Pods adopt (RecountSeatLedgers'
// Adopted) and does not write them: it would cost a write per admitted Pod.
const AdmissionUIDPrefix = "admission:"

// AdmissionUID is the UID of the entries of the Pod whose CREATE is the
// admission request requestUID: one request takes one seat and one use,
// whatever retries of the decision it makes.
func AdmissionUID(requestUID string) string { return AdmissionUIDPrefix + requestUID }

// creationSlack is how far a Pod's creationTimestamp (whole seconds, from
// the API server's clock) may lie before the admission time of its entry
// (the webhook's clock) although the Pod was created after it.
const creationSlack = 2 * time.Second

// EntryOfPod says whether the entry with uid written at admitted is pod's:
// it carries pod's UID, or the admission UID of a create and pod was created
// after its admission and within grace of it (a Pod is stored right after
// its admission; its name is its own among the stored Pods).
func EntryOfPod(uid string, admitted time.Time, pod *corev1.Pod, grace time.Duration) bool {
	if string(pod.UID) == uid {
		return true
	}
	if !strings.HasPrefix(uid, AdmissionUIDPrefix) {
		return false
	}
	created := pod.CreationTimestamp.Time
	return !created.Before(admitted.Add(-creationSlack)) && !created.After(admitted.Add(grace))
}

// DropReason says why a ledger entry no longer holds a seat.
type DropReason string

const (
	// DropPodGone: no Pod of the entry's name exists.
	DropPodGone DropReason = "PodGone"
	// DropPodTerminal: the Pod has Succeeded or Failed.
	DropPodTerminal DropReason = "PodTerminal"
	// DropPodReplaced: a Pod of the entry's name but another UID exists, created
	// more than the grace after the entry was written.
	DropPodReplaced DropReason = "PodReplaced"
)

// DroppedEntry is a ledger entry to remove and why.
type DroppedEntry struct {
	Entry licensingv1alpha1.SeatLedgerEntry
	Why   DropReason
}

// StaleLedgerEntries returns the entries that no longer hold a seat: those
// written more than grace ago whose Pod is gone, terminal, or replaced by
// another Pod of the same name. podsByName are the namespace's Pods, read
// after the entries (a Pod is stored after its entry is written, so a Pod
// missing from a list read later than the entry, past the grace, is gone).
// An entry inside its grace is always spared: its Pod may still be on its way
// through admission to storage. A Pod of the entry's name with another UID
// counts as a replacement only when it was created more than the grace after
// the entry: one created before may be the Pod that holds the seat while the
// entry carries the UID of a concurrent create of the same name that the
// storage refused.
func StaleLedgerEntries(entries []licensingv1alpha1.SeatLedgerEntry, podsByName map[string]*corev1.Pod, now time.Time, grace time.Duration) []DroppedEntry {
	var out []DroppedEntry
	for _, e := range entries {
		if now.Sub(e.Admitted.Time) < grace {
			continue
		}
		p, ok := podsByName[e.Pod]
		switch {
		case !ok:
			out = append(out, DroppedEntry{Entry: e, Why: DropPodGone})
		case string(p.UID) != e.UID && p.CreationTimestamp.After(e.Admitted.Add(grace)):
			out = append(out, DroppedEntry{Entry: e, Why: DropPodReplaced})
		case PodTerminal(p):
			out = append(out, DroppedEntry{Entry: e, Why: DropPodTerminal})
		}
	}
	return out
}

// SeatGated says whether the Pod carries the seat's scheduling gate: it waits in line.
func SeatGated(p *corev1.Pod) bool { return HasSchedulingGate(p, licensingv1alpha1.SeatGate) }

// HasSchedulingGate says whether the Pod carries the named scheduling gate
// (the operator's are licensingv1alpha1.SeatGate and UseGate).
func HasSchedulingGate(p *corev1.Pod, gate string) bool {
	return slices.ContainsFunc(p.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == gate })
}

// PodTerminal says whether the Pod has finished (Succeeded or Failed): it
// holds no seat.
func PodTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// RecountInput is everything RecountSeatLedgers needs, all of one namespace
// except the licences.
type RecountInput struct {
	Now time.Time
	// Grace spares entries younger than it (see StaleLedgerEntries).
	Grace           time.Duration
	Namespace       string
	NamespaceLabels map[string]string
	// Pods are the namespace's Pods, read before Ledgers.
	Pods []corev1.Pod
	// Ledgers are the namespace's SeatLedgers.
	Ledgers []licensingv1alpha1.SeatLedger
	// Releasing are the UIDs of Pods whose deletion or end the seat releaser
	// has seen and is releasing, or has just released: their entries are its
	// to remove, and a view of the Pods that lags behind it may still show
	// them. A recount that raced it would report a repair that is none.
	Releasing map[string]bool
	Products  []licensingv1alpha1.LicenseProduct
	// Licenses are the licences that may cover the namespace's Pods.
	Licenses []licensingv1alpha1.SoftwareLicense
	// Assignments are the namespace's LicenseAssignments.
	Assignments []licensingv1alpha1.LicenseAssignment
}

// LedgerRepair is what a recount changes in the ledger of one assignment.
type LedgerRepair struct {
	// Assignment names the LicenseAssignment whose ledger this is.
	Assignment string
	// Dropped are the entries to remove.
	Dropped []DroppedEntry
	// Added are the entries of live Pods to add, sorted by Pod name.
	Added []licensingv1alpha1.SeatLedgerEntry
	// Adopted are entries written at admission with an admission UID whose
	// Pod is stored now, with the Pod's own UID: bookkeeping, not a repair
	// (no event), which the seat recount does not write.
	Adopted []licensingv1alpha1.SeatLedgerEntry
	// DroppedRides are the rides of reservations to remove: their Pods are
	// gone or finished (StaleLedgerEntries). The reservation keeps its seats;
	// its place frees for another Pod of the Workload (a Job's replacement
	// Pod). Bookkeeping, not a repair: the seats held do not change.
	DroppedRides []ReservationRide
	// AdoptedRides are rides written at admission with an admission UID
	// whose Pod is stored now, with the Pod's own UID.
	AdoptedRides []ReservationRide
	// Holders is the number of seats held after the repair (HeldSeats).
	Holders int
	// Seats are the assignment's seats (0 when the assignment is not known).
	Seats int32
}

// ReservationRide is one ride of a Kueue Workload's reservation: the
// reservation (the Workload's UID and the pod set) and the Pod's entry.
type ReservationRide struct {
	UID, PodSet string
	Entry       licensingv1alpha1.SeatLedgerEntry
	Why         DropReason
}

// RecountSeatLedgers recounts a namespace's ledgers from its live Pods and
// returns the repairs, one per ledger that changes, by assignment name:
//   - an entry that StaleLedgerEntries finds stale is dropped, unless the
//     seat releaser is releasing it;
//   - a live, non-terminal Pod (that the releaser is not releasing) that
//     needs a product whose covers are counted
//     (the covers of FindCovers, as admission finds them) and that is in the
//     ledger of none of them is added to the ledger of the first, as admission
//     would have taken its seat there. It is added even when that ledger is
//     full: the Pod runs and holds the seat, and the assignment shows more
//     holders than seats. A Pod that rides a Kueue Workload's reservation
//     holds its seat there; a Pod that Kueue still gates (KueueGate) runs
//     nothing yet and is not added;
//   - the reservations of Kueue Workloads are never dropped (the
//     AdmissionCheck controller releases them); the rides of Pods that are
//     gone are (DroppedRides), and admission UIDs are adopted (AdoptedRides).
//
// A Pod is looked for by name: an entry of its name with another UID, still
// inside its grace, stands for it.
func RecountSeatLedgers(in RecountInput) []LedgerRepair {
	podsByName := make(map[string]*corev1.Pod, len(in.Pods))
	for i := range in.Pods {
		podsByName[in.Pods[i].Name] = &in.Pods[i]
	}
	// holders[assignment][pod] after the drops.
	holders := map[string]map[string]bool{}
	waiting := map[string]bool{}
	repairs := map[string]*LedgerRepair{}
	repair := func(asg string) *LedgerRepair {
		r, ok := repairs[asg]
		if !ok {
			r = &LedgerRepair{Assignment: asg}
			repairs[asg] = r
		}
		return r
	}
	for i := range in.Ledgers {
		l := &in.Ledgers[i]
		asg := l.Spec.Assignment
		if asg == "" {
			continue // a licence's uses (SettleUses), not seats
		}
		h := holders[asg]
		if h == nil {
			h = map[string]bool{}
			holders[asg] = h
		}
		for _, e := range l.Spec.Entries {
			h[e.Pod] = true
		}
		for _, w := range l.Spec.Waiting {
			waiting[w.Pod] = true // in a line: the queue controller's, never added as a holder
		}
		if dropped, adopted := recountRides(in, l, podsByName, h); len(dropped)+len(adopted) > 0 {
			r := repair(asg)
			r.DroppedRides, r.AdoptedRides = append(r.DroppedRides, dropped...), append(r.AdoptedRides, adopted...)
		}
		dropped := StaleLedgerEntries(l.Spec.Entries, podsByName, in.Now, in.Grace)
		dropped = slices.DeleteFunc(dropped, func(d DroppedEntry) bool { return in.Releasing[d.Entry.UID] })
		for _, e := range l.Spec.Entries {
			if p, ok := podsByName[e.Pod]; ok && string(p.UID) != e.UID && EntryOfPod(e.UID, e.Admitted.Time, p, in.Grace) &&
				!slices.ContainsFunc(dropped, func(d DroppedEntry) bool { return d.Entry.Pod == e.Pod }) {
				e.UID = string(p.UID)
				repair(asg).Adopted = append(repair(asg).Adopted, e)
			}
		}
		if len(dropped) > 0 {
			r := repair(asg)
			r.Dropped = append(r.Dropped, dropped...)
			for _, d := range dropped {
				delete(h, d.Entry.Pod)
			}
		}
	}

	pods := append([]corev1.Pod(nil), in.Pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for i := range pods {
		p := &pods[i]
		if !holdsSeatUnlessWaiting(in, p, waiting) {
			continue
		}
		w := WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
		for _, need := range RequiredProducts(&w, in.Products) {
			covers, _ := FindCovers(CoverageInput{
				Workload: &w, Product: need.Product, NamespaceLabels: in.NamespaceLabels,
				Licenses: in.Licenses, Assignments: in.Assignments,
			})
			if len(covers) == 0 || !covers[0].Counted {
				continue // no seat, or one admission does not count
			}
			held := false
			for _, c := range covers {
				if holders[c.Assignment.Name][p.Name] {
					held = true
					break
				}
			}
			if held {
				continue
			}
			asg := covers[0].Assignment.Name
			if holders[asg] == nil {
				holders[asg] = map[string]bool{}
			}
			holders[asg][p.Name] = true
			r := repair(asg)
			r.Added = append(r.Added, licensingv1alpha1.SeatLedgerEntry{Pod: p.Name, UID: string(p.UID), Admitted: metav1.NewTime(in.Now)})
		}
	}

	seats := seatsByAssignment(in.Assignments)
	reserved := map[string]int{}
	for i := range in.Ledgers {
		l := &in.Ledgers[i]
		reserved[l.Spec.Assignment] += ReservedSeats(&l.Spec)
	}
	out := make([]LedgerRepair, 0, len(repairs))
	for asg, r := range repairs {
		// The Pods holding an entry, plus the seats of the reservations
		// (whose riders are among holders but hold no seat of their own).
		r.Holders, r.Seats = len(holders[asg])-riders(in.Ledgers, asg, holders[asg])+reserved[asg], seats[asg]
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Assignment < out[j].Assignment })
	return out
}

// holdsSeatUnlessWaiting says whether the recount counts a live Pod as
// holding a seat: it runs (not finished, not released, in the namespace)
// and waits in no line, ours or Kueue's (a waiting Pod holds no seat and
// runs nothing).
func holdsSeatUnlessWaiting(in RecountInput, p *corev1.Pod, waiting map[string]bool) bool {
	return !PodTerminal(p) && p.Namespace == in.Namespace && !in.Releasing[string(p.UID)] && !waiting[p.Name] &&
		!SeatGated(p) && !HasSchedulingGate(p, KueueGate)
}

// recountRides is RecountSeatLedgers for the rides of the reservations of
// ledger l: its riders are holders h (they hold their seat on the
// reservation), the rides of Pods that are gone are dropped unless the seat
// releaser is releasing them, and admission UIDs are adopted.
func recountRides(in RecountInput, l *licensingv1alpha1.SeatLedger, podsByName map[string]*corev1.Pod, h map[string]bool) (dropped, adopted []ReservationRide) {
	for _, res := range l.Spec.Reservations {
		for _, ride := range res.Rides {
			h[ride.Pod] = true
		}
		stale := StaleLedgerEntries(res.Rides, podsByName, in.Now, in.Grace)
		stale = slices.DeleteFunc(stale, func(d DroppedEntry) bool { return in.Releasing[d.Entry.UID] })
		for _, d := range stale {
			delete(h, d.Entry.Pod)
			dropped = append(dropped, ReservationRide{UID: res.UID, PodSet: res.PodSet, Entry: d.Entry, Why: d.Why})
		}
		for _, ride := range res.Rides {
			if p, ok := podsByName[ride.Pod]; ok && string(p.UID) != ride.UID && EntryOfPod(ride.UID, ride.Admitted.Time, p, in.Grace) &&
				!slices.ContainsFunc(stale, func(d DroppedEntry) bool { return d.Entry.Pod == ride.Pod }) {
				ride.UID = string(p.UID)
				adopted = append(adopted, ReservationRide{UID: res.UID, PodSet: res.PodSet, Entry: ride})
			}
		}
	}
	return dropped, adopted
}

// riders is the number of Pods among holders that ride a reservation of the ledger of asg.
func riders(ledgers []licensingv1alpha1.SeatLedger, asg string, holders map[string]bool) int {
	n := 0
	for i := range ledgers {
		if ledgers[i].Spec.Assignment != asg {
			continue
		}
		for _, res := range ledgers[i].Spec.Reservations {
			for _, ride := range res.Rides {
				if holders[ride.Pod] {
					n++
				}
			}
		}
	}
	return n
}

// seatsByAssignment maps each assignment's name to its seats (AssignmentSeats).
func seatsByAssignment(asgs []licensingv1alpha1.LicenseAssignment) map[string]int32 {
	seats := make(map[string]int32, len(asgs))
	for i := range asgs {
		seats[asgs[i].Name] = AssignmentSeats(&asgs[i])
	}
	return seats
}

// maxNamedInRepair is how many Pods a repair message names per list.
const maxNamedInRepair = 10

// Repairs says whether the recount found something to repair (an entry to
// drop or to add), not only UIDs to adopt.
func (r LedgerRepair) Repairs() bool { return len(r.Dropped) > 0 || len(r.Added) > 0 }

// RepairMessage tells the assignment's readers what a recount found and
// fixed. It names Pods: they are all in the assignment's own namespace.
func RepairMessage(r LedgerRepair) string {
	var parts []string
	byWhy := map[DropReason][]string{}
	for _, d := range r.Dropped {
		byWhy[d.Why] = append(byWhy[d.Why], d.Entry.Pod)
	}
	for _, why := range []DropReason{DropPodGone, DropPodTerminal, DropPodReplaced} {
		if names := byWhy[why]; len(names) > 0 {
			parts = append(parts, fmt.Sprintf("removed %s of %s (%s)", countText(len(names), "entry", "entries"), dropText(why, len(names)), nameList(names)))
		}
	}
	if len(r.Added) > 0 {
		names := make([]string, 0, len(r.Added))
		for _, e := range r.Added {
			names = append(names, e.Pod)
		}
		what := "Pods that run"
		if len(names) == 1 {
			what = "Pod that runs"
		}
		parts = append(parts, fmt.Sprintf("added %d %s on this assignment's seats without an entry (%s)",
			len(names), what, nameList(names)))
	}
	msg := "Seat ledger repaired from the live Pods: " + strings.Join(parts, "; ")
	if r.Seats > 0 && r.Holders > int(r.Seats) {
		msg += fmt.Sprintf(". %d Pods now hold the %s of this assignment: over-allocated by %d", r.Holders, countText(int(r.Seats), "seat", "seats"), r.Holders-int(r.Seats))
	} else {
		msg += fmt.Sprintf(". %d of %s held", r.Holders, countText(int(r.Seats), "seat", "seats"))
	}
	return msg
}

func dropText(why DropReason, n int) string {
	one := n == 1
	switch why {
	case DropPodGone:
		// A Pod that a later admission plugin (ResourceQuota) refused after
		// its seat was taken was never stored: the same entry.
		if one {
			return "a Pod that does not exist, deleted or refused after its admission"
		}
		return "Pods that do not exist, deleted or refused after their admission"
	case DropPodTerminal:
		if one {
			return "a Pod that has finished"
		}
		return "Pods that have finished"
	default:
		if one {
			return "a Pod replaced by another of its name"
		}
		return "Pods replaced by others of their name"
	}
}

// countText is "1 one" or "n many".
func countText(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func nameList(names []string) string {
	names = append([]string(nil), names...)
	sort.Strings(names)
	if len(names) <= maxNamedInRepair {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxNamedInRepair], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamedInRepair)
}
