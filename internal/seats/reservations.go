package seats

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The reservations of Kueue Workloads (spec.reservations): the seats the
// AdmissionCheck controller (internal/kueue) holds for a Workload's pod set
// on an assignment's ledger, decided with licensing.ReserveSeats on the live
// ledger and written with compare-and-swap, in the same ledger, under the
// same lock of this replica, and by the same rule as the seats Pods take:
// the Hard limit holds across Pods, the line and Workloads.

// WorkloadAsk is the seats one pod set of a Kueue Workload asks of an
// assignment's ledger.
type WorkloadAsk struct {
	// Workload is the Workload's name, UID its UID.
	Workload string
	UID      types.UID
	// PodSet is the pod set's name and Count its Pods admitted.
	PodSet string
	Count  int32
	// Priority is the Workload's spec.priority.
	Priority int32
	// Seats are the assignment's seats; AllowOver reserves beyond them
	// (Soft enforcement).
	Seats     int32
	AllowOver bool
	// Riders ride the reservation from the start, at most Count of them:
	// the Pods that own the Workload (Kueue's plain Pod integration), which
	// were admitted to wait for it (left to Kueue) before it existed.
	Riders []PodRef
}

// WorkloadReservation is the outcome of ReserveWorkload.
type WorkloadReservation struct {
	licensing.ReservationDecision
	// Already is true when the ledger held the reservation before.
	Already bool
}

// ReserveWorkload holds ask.Count seats of the assignment for a Workload's
// pod set, all at once or not at all (licensing.ReserveSeats), unless the
// ledger holds that reservation already. A reservation of the pod set with
// another count (a Workload admitted again with fewer Pods) is replaced when
// the new count fits. Before it says no, it drops the entries and rides of
// Pods that are gone, as admission does.
func (l *Ledger) ReserveWorkload(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, ask WorkloadAsk) (WorkloadReservation, error) {
	key := types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}
	s := l.slot(key)
	if err := s.lock(ctx); err != nil {
		return WorkloadReservation{}, err
	}
	defer s.unlock()
	for {
		cm, before, _, err := l.read(ctx, s, key, true)
		switch {
		case apierrors.IsNotFound(err):
			cm = l.newLedger(asg, key)
		case err != nil:
			return WorkloadReservation{}, fmt.Errorf("reading seat ledger %s: %w", key, err)
		}
		i := reservationOf(cm, string(ask.UID), ask.PodSet)
		if i >= 0 && cm.Spec.Reservations[i].Count == ask.Count {
			return WorkloadReservation{Already: true, ReservationDecision: licensing.ReservationDecision{Reserved: true}}, nil
		}
		trial := cm.DeepCopy()
		if i >= 0 {
			trial.Spec.Reservations = slices.Delete(trial.Spec.Reservations, i, i+1)
		}
		d := l.decideReservation(trial, ask)
		changed := false
		if !d.Reserved {
			pruned, err := l.prune(ctx, trial)
			if err != nil {
				return WorkloadReservation{}, err
			}
			if pruned {
				d, changed = l.decideReservation(trial, ask), true
			}
		}
		if !d.Reserved && !changed {
			return WorkloadReservation{ReservationDecision: d}, nil
		}
		if d.Reserved {
			r := licensingv1alpha1.SeatLedgerReservation{
				Workload: ask.Workload, UID: string(ask.UID), PodSet: ask.PodSet, Count: ask.Count,
				Since: metav1.NewTime(l.Clock.Now()),
			}
			if i >= 0 {
				r.Rides = cm.Spec.Reservations[i].Rides
			}
			for _, p := range ask.Riders {
				if len(r.Rides) >= int(r.Count) {
					break
				}
				if !slices.ContainsFunc(r.Rides, func(e licensingv1alpha1.SeatLedgerEntry) bool { return e.Pod == p.Name }) {
					r.Rides = append(r.Rides, licensingv1alpha1.SeatLedgerEntry{Pod: p.Name, UID: string(p.UID), Admitted: metav1.NewTime(l.Clock.Now())})
				}
			}
			if len(r.Rides) > int(r.Count) {
				r.Rides = r.Rides[:r.Count]
			}
			trial.Spec.Reservations = append(trial.Spec.Reservations, r)
		}
		limit := int(ask.Seats)
		if ask.AllowOver {
			limit = unbounded
		}
		err = l.write(ctx, s, before, trial, limit)
		if isRetryable(err) {
			continue
		}
		if err != nil {
			return WorkloadReservation{}, describeWrite(key, err)
		}
		return WorkloadReservation{ReservationDecision: d}, nil
	}
}

// decideReservation is licensing.ReserveSeats on cm for ask.
func (l *Ledger) decideReservation(cm *licensingv1alpha1.SeatLedger, ask WorkloadAsk) licensing.ReservationDecision {
	enforcement := licensingv1alpha1.EnforcementHard
	if ask.AllowOver {
		enforcement = licensingv1alpha1.EnforcementSoft
	}
	state := licensing.SeatState{Holders: licensing.HeldSeats(&cm.Spec), Seats: ask.Seats, Enforcement: enforcement}
	return licensing.ReserveSeats(state, Line(cm, ""), licensing.ReservationAsk{
		Workload: ask.Workload, PodSet: ask.PodSet, Count: ask.Count, Priority: ask.Priority, Now: l.Clock.Now(),
	})
}

// reservationOf returns the index of the reservation of the Workload uid's
// pod set, or -1.
func reservationOf(cm *licensingv1alpha1.SeatLedger, uid, podSet string) int {
	return slices.IndexFunc(cm.Spec.Reservations, func(r licensingv1alpha1.SeatLedgerReservation) bool {
		return r.UID == uid && r.PodSet == podSet
	})
}

// WorkloadRelease is the outcome of ReleaseWorkload.
type WorkloadRelease struct {
	// Released is the number of seats given back.
	Released int32
	// Riding are the Pods that still ride a reservation of the Workload:
	// while one does, its reservation stays (a terminating Pod still runs).
	Riding []string
}

// ReleaseWorkload gives back the seats the reservations of the Workload uid
// hold in the ledger key (of podSets only, when given). With whenGone, a
// reservation stays while a Pod rides it: the rides of Pods that are gone or
// finished (licensing.StaleLedgerEntries, read live) are dropped first, and
// the Pods that remain are returned. Without it (a reservation made in
// vain, whose Workload never started) it goes at once.
func (l *Ledger) ReleaseWorkload(ctx context.Context, key types.NamespacedName, uid types.UID, whenGone bool, podSets ...string) (WorkloadRelease, error) {
	s := l.slot(key)
	if err := s.lock(ctx); err != nil {
		return WorkloadRelease{}, err
	}
	defer s.unlock()
	for {
		cm, before, _, err := l.read(ctx, s, key, true)
		if apierrors.IsNotFound(err) {
			return WorkloadRelease{}, nil
		}
		if err != nil {
			return WorkloadRelease{}, fmt.Errorf("reading seat ledger %s: %w", key, err)
		}
		mine := func(r licensingv1alpha1.SeatLedgerReservation) bool {
			return r.UID == string(uid) && (len(podSets) == 0 || slices.Contains(podSets, r.PodSet))
		}
		if !slices.ContainsFunc(cm.Spec.Reservations, mine) {
			return WorkloadRelease{}, nil
		}
		changed := false
		if whenGone && slices.ContainsFunc(cm.Spec.Reservations, func(r licensingv1alpha1.SeatLedgerReservation) bool { return mine(r) && len(r.Rides) > 0 }) {
			if changed, err = l.prune(ctx, cm); err != nil {
				return WorkloadRelease{}, err
			}
		}
		var out WorkloadRelease
		kept := cm.Spec.Reservations[:0:0]
		for _, r := range cm.Spec.Reservations {
			switch {
			case !mine(r):
				kept = append(kept, r)
			case whenGone && len(r.Rides) > 0:
				kept = append(kept, r)
				for _, ride := range r.Rides {
					out.Riding = append(out.Riding, ride.Pod)
				}
			default:
				out.Released += r.Count
				changed = true
			}
		}
		if !changed {
			return out, nil
		}
		if len(kept) == 0 {
			kept = nil
		}
		cm.Spec.Reservations = kept
		err = l.write(ctx, s, before, cm, unbounded)
		if isRetryable(err) {
			continue
		}
		if err != nil {
			return WorkloadRelease{}, describeWrite(key, err)
		}
		return out, nil
	}
}
