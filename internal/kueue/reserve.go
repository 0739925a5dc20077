package kueue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"
	kueueac "sigs.k8s.io/kueue/client-go/applyconfiguration/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
	"github.com/license-operator/license-operator/internal/seats"
)

// reserve tries to reserve every seat the Workload needs, all or nothing:
// each pod set's seats of each product it needs (licensing.SeatDemands) on
// the first counted cover that has them (the covers a Pod of it would take
// a seat on, in the same order). What it reserved is given back when one
// demand cannot be met. The check becomes Ready, Rejected
// (licensing.NeverFits), or stays Pending with the reason until the seat
// wait ends, then Retry.
func (r *WorkloadReconciler) reserve(ctx context.Context, wl *kueuev1beta2.Workload, checks []string) (reconcile.Result, error) {
	in, err := r.reservationInput(ctx, wl)
	if err != nil {
		return reconcile.Result{}, err
	}
	demands := licensing.SeatDemands(in)
	if msg := licensing.NeverFits(demands); msg != "" {
		return reconcile.Result{}, r.setCheck(ctx, wl, checks, kueuev1beta2.CheckStateRejected, msg, ReasonSeatsNeverFit)
	}
	held, err := r.reservedOf(ctx, wl)
	if err != nil {
		return reconcile.Result{}, err
	}
	riders, err := r.ownerPods(ctx, wl, in.Products)
	if err != nil {
		return reconcile.Result{}, err
	}
	p := &reservationPass{r: r, wl: wl, held: held, riders: riders, products: in.Products}
	waiting, err := p.run(ctx, demands)
	if err != nil || waiting != "" {
		p.undo(ctx)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if waiting == "" {
		return reconcile.Result{}, r.setCheck(ctx, wl, checks, kueuev1beta2.CheckStateReady, licensing.ReservedMessage(p.summary()), ReasonSeatsReserved)
	}
	since := r.Clock.Now()
	if c := apimeta.FindStatusCondition(wl.Status.Conditions, kueuev1beta2.WorkloadQuotaReserved); c != nil {
		since = c.LastTransitionTime.Time
	}
	left := since.Add(r.SeatWait).Sub(r.Clock.Now())
	if left <= 0 {
		msg := fmt.Sprintf("waited %s for licence seats, Kueue queues the Workload again: %s", r.SeatWait, waiting)
		return reconcile.Result{}, r.setCheck(ctx, wl, checks, kueuev1beta2.CheckStateRetry, msg, ReasonSeatsBusy)
	}
	if err := r.setCheck(ctx, wl, checks, kueuev1beta2.CheckStatePending, waiting, ReasonWaitingForSeats); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: min(left, recheckInterval)}, nil
}

// reservationPass is one attempt at reserving a Workload's seats: what it
// took, to give back if a later demand cannot be met.
type reservationPass struct {
	r  *WorkloadReconciler
	wl *kueuev1beta2.Workload
	// held are the reservations the ledgers hold for the Workload, by
	// assignment, then pod set: count.
	held     map[string]map[string]int32
	riders   []corev1.Pod
	products []licensingv1alpha1.LicenseProduct
	// taken are the reservations this pass made, by ledger.
	taken []takenReservation
}

type takenReservation struct {
	ledger types.NamespacedName
	podSet string
}

// run meets each demand in turn and returns why the first it cannot meet
// waits ("" when every one is met).
func (p *reservationPass) run(ctx context.Context, demands []licensing.SeatDemand) (string, error) {
	for _, d := range demands {
		if d.Uncovered != "" {
			return d.Uncovered, nil
		}
		if p.holds(d) {
			continue
		}
		var first licensing.ReservationDecision
		met := false
		for i, c := range d.Covers {
			res, err := p.r.Ledger.ReserveWorkload(ctx, c.Assignment, seats.WorkloadAsk{
				Workload: p.wl.Name, UID: p.wl.UID, PodSet: d.PodSet, Count: d.Count,
				Priority: ptr.Deref(p.wl.Spec.Priority, 0),
				Seats:    c.Seats, AllowOver: c.Enforcement == licensingv1alpha1.EnforcementSoft,
				Riders: ridersFor(p.riders, p.products, d), // the Workload's own Pods (plain Pods), at most count
			})
			if err != nil {
				return "", err
			}
			if i == 0 {
				first = res.ReservationDecision
			}
			if !res.Reserved {
				continue
			}
			if !res.Already {
				p.taken = append(p.taken, takenReservation{ledger: types.NamespacedName{Namespace: c.Assignment.Namespace, Name: seats.LedgerName(c.Assignment.Name)}, podSet: d.PodSet})
				metrics.KueueReservedSeats.WithLabelValues(c.Product, "reserved").Add(float64(d.Count))
				if res.Over {
					ctrl.LoggerFrom(ctx).Info("Reserved seats beyond the assignment's (Soft enforcement)", "assignment", klog.KObj(c.Assignment), "podSet", d.PodSet)
				}
			}
			p.hold(c.Assignment.Name, d.PodSet, d.Count)
			met = true
			break
		}
		if !met {
			return licensing.ReservationWaitMessage(d, d.Covers[0], first), nil
		}
	}
	return "", nil
}

// holds says whether a reservation of d's pod set of its count is held on one of its covers.
func (p *reservationPass) holds(d licensing.SeatDemand) bool {
	for _, c := range d.Covers {
		if p.held[c.Assignment.Name][d.PodSet] == d.Count {
			return true
		}
	}
	return false
}

func (p *reservationPass) hold(asg, podSet string, count int32) {
	if p.held[asg] == nil {
		p.held[asg] = map[string]int32{}
	}
	p.held[asg][podSet] = count
}

// summary is the seats held by assignment.
func (p *reservationPass) summary() map[string]int32 {
	out := map[string]int32{}
	for a, sets := range p.held {
		for _, n := range sets {
			out[a] += n
		}
	}
	return out
}

// undo gives back what the pass reserved (also after its deadline: what it
// cannot give back, the next pass finds held and keeps, or releases).
func (p *reservationPass) undo(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, t := range p.taken {
		if _, err := p.r.Ledger.ReleaseWorkload(ctx, t.ledger, p.wl.UID, false, t.podSet); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Giving back the seats of a Workload that waits", "ledger", t.ledger, "podSet", t.podSet)
		}
	}
	p.taken = nil
}

// ridersFor are the Pods of riders that need d's product, at most its count.
func ridersFor(riders []corev1.Pod, products []licensingv1alpha1.LicenseProduct, d licensing.SeatDemand) []seats.PodRef {
	var out []seats.PodRef
	for i := range riders {
		p := &riders[i]
		w := licensing.WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
		for _, n := range licensing.RequiredProducts(&w, products) {
			if n.Product == d.Need.Product && len(out) < int(d.Count) {
				out = append(out, seats.PodRef{Namespace: p.Namespace, Name: p.Name, UID: p.UID})
			}
		}
	}
	return out
}

// reservedOf are the reservations the namespace's ledgers (read live) hold
// for the Workload, by assignment, then pod set.
func (r *WorkloadReconciler) reservedOf(ctx context.Context, wl *kueuev1beta2.Workload) (map[string]map[string]int32, error) {
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := r.Live.List(ctx, ledgers, client.InNamespace(wl.Namespace)); err != nil {
		return nil, fmt.Errorf("listing seat ledgers: %w", err)
	}
	ledgers.Items = licensing.MergeSeatLedgers(ledgers.Items)
	out := map[string]map[string]int32{}
	for i := range ledgers.Items {
		l := &ledgers.Items[i]
		for _, res := range l.Spec.Reservations {
			if types.UID(res.UID) != wl.UID {
				continue
			}
			if out[l.Spec.Assignment] == nil {
				out[l.Spec.Assignment] = map[string]int32{}
			}
			out[l.Spec.Assignment][res.PodSet] = res.Count
		}
	}
	return out, nil
}

// reservationInput reads what licensing.SeatDemands needs: the pod sets
// with their admitted counts, and the products, licences, assignments and
// namespace labels admission reads.
func (r *WorkloadReconciler) reservationInput(ctx context.Context, wl *kueuev1beta2.Workload) (licensing.ReservationInput, error) {
	var in licensing.ReservationInput
	counts := map[kueuev1beta2.PodSetReference]*int32{}
	if wl.Status.Admission != nil {
		for _, a := range wl.Status.Admission.PodSetAssignments {
			counts[a.Name] = a.Count
		}
	}
	for _, ps := range wl.Spec.PodSets {
		// Partial admission may lower the count: the admission's count
		// wins; a Workload admitted before it was recorded has the spec's.
		count := ps.Count
		if c, ok := counts[ps.Name]; ok && c != nil {
			count = *c
		}
		t := ps.Template
		in.PodSets = append(in.PodSets, licensing.PodSetSeats{
			Name: string(ps.Name), Count: count,
			Template: licensing.WorkloadFromPodSpec("Workload", wl.Name, wl.Namespace, t.ObjectMeta, &t.Spec, nil),
		})
	}
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.Cache.List(ctx, products); err != nil {
		return in, err
	}
	licences := &licensingv1alpha1.SoftwareLicenseList{}
	if err := r.Cache.List(ctx, licences); err != nil {
		return in, err
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	if err := r.Cache.List(ctx, asgs, client.InNamespace(wl.Namespace)); err != nil {
		return in, err
	}
	ns := &corev1.Namespace{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Name: wl.Namespace}, ns); err == nil {
		in.NamespaceLabels = ns.Labels
	} else if !apierrors.IsNotFound(err) {
		return in, err
	}
	in.Products, in.Licenses, in.Assignments = products.Items, licences.Items, asgs.Items
	return in, nil
}

// ownerPods are the Pods that own the Workload (Kueue's plain Pod
// integration makes the Workload of a Pod, or of a group of Pods, owned by
// them) and that need a product, as the operator's cache of licensed Pods
// has them: they were admitted to wait for Kueue without a seat (see
// Integration.LeftToKueue) and ride the reservation from the start. A Job's
// Workload has none: its Pods ride when the webhook admits them.
func (r *WorkloadReconciler) ownerPods(ctx context.Context, wl *kueuev1beta2.Workload, products []licensingv1alpha1.LicenseProduct) ([]corev1.Pod, error) {
	var out []corev1.Pod
	for _, ref := range wl.OwnerReferences {
		if ref.Kind != "Pod" || ref.APIVersion != "v1" {
			continue
		}
		p := &corev1.Pod{}
		err := r.Cache.Get(ctx, types.NamespacedName{Namespace: wl.Namespace, Name: ref.Name}, p)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		w := licensing.WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
		if p.UID == ref.UID && len(licensing.RequiredProducts(&w, products)) > 0 {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// setCheck sets the state and message of the Workload's checks (and the
// condition ConditionSeats) when they change, with an event of reason.
func (r *WorkloadReconciler) setCheck(ctx context.Context, wl *kueuev1beta2.Workload, checks []string, state kueuev1beta2.CheckState, msg, reason string) error {
	msg = truncate(msg, 32768)
	changed, transition := false, false
	for _, name := range checks {
		for _, c := range wl.Status.AdmissionChecks {
			if string(c.Name) == name && (c.State != state || c.Message != msg) {
				changed = true
				transition = transition || c.State != state
			}
		}
	}
	if !changed {
		return nil
	}
	// The reason is news too: Kueue sets the check Pending, the operator
	// says why it stays so.
	cur := apimeta.FindStatusCondition(wl.Status.Conditions, ConditionSeats)
	told := transition || cur == nil || cur.Reason != reason
	states := map[string]checkWrite{}
	for _, name := range checks {
		states[name] = checkWrite{state: state, message: msg}
	}
	if err := r.applyStatus(ctx, wl, states, conditionOf(state == kueuev1beta2.CheckStateReady, reason, msg)); err != nil {
		return err
	}
	log := ctrl.LoggerFrom(ctx)
	if transition {
		metrics.KueueCheckTransitions.WithLabelValues(string(state)).Inc()
	}
	if told {
		log.Info("Set the seat check of a Workload", "state", state, "message", msg)
		if r.Recorder != nil {
			kind := corev1.EventTypeNormal
			if state == kueuev1beta2.CheckStateRetry || state == kueuev1beta2.CheckStateRejected {
				kind = corev1.EventTypeWarning
			}
			r.Recorder.Eventf(wl, nil, kind, reason, "CheckSeats", "%s", truncate(msg, 1024))
		}
	} else {
		log.V(1).Info("Updated the message of the seat check of a Workload", "state", state, "message", msg)
	}
	return nil
}

// condition is the Workload condition ConditionSeats to apply.
type condition struct {
	status          metav1.ConditionStatus
	reason, message string
}

func conditionOf(reserved bool, reason, msg string) condition {
	c := condition{status: metav1.ConditionFalse, reason: reason, message: truncate(msg, 32768)}
	if reserved {
		c.status = metav1.ConditionTrue
	}
	return c
}

// checkWrite is the state and message to write into one of the Workload's checks.
type checkWrite struct {
	state   kueuev1beta2.CheckState
	message string
}

// applyStatus applies, as FieldOwner, the state and message of the
// Workload's checks of ControllerName (every one: a server-side apply that
// left out a field this manager owns would remove it) and the condition
// ConditionSeats; the fields of Kueue's own managers are left alone. The
// lastTransitionTime of each changes only when its state or status does.
// The apply carries the resourceVersion the decision was taken on: when
// Kueue changed the Workload since (evicted it, reset its checks), it is
// refused and the change brings the Workload back to be decided again.
func (r *WorkloadReconciler) applyStatus(ctx context.Context, wl *kueuev1beta2.Workload, checks map[string]checkWrite, cond condition) error {
	now := metav1.NewTime(r.Clock.Now())
	status := kueueac.WorkloadStatus()
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w := checks[name]
		since := now
		for _, c := range wl.Status.AdmissionChecks {
			if string(c.Name) == name && c.State == w.state {
				since = c.LastTransitionTime
			}
		}
		status.WithAdmissionChecks(kueueac.AdmissionCheckState().WithName(kueuev1beta2.AdmissionCheckReference(name)).
			WithState(w.state).WithMessage(w.message).WithLastTransitionTime(since))
	}
	since := now
	if c := apimeta.FindStatusCondition(wl.Status.Conditions, ConditionSeats); c != nil && c.Status == cond.status {
		since = c.LastTransitionTime
	}
	status.WithConditions(metav1ac.Condition().WithType(ConditionSeats).WithStatus(cond.status).
		WithReason(cond.reason).WithMessage(cond.message).WithLastTransitionTime(since).WithObservedGeneration(wl.Generation))
	apply := kueueac.Workload(wl.Name, wl.Namespace).WithUID(wl.UID).WithResourceVersion(wl.ResourceVersion).WithStatus(status)
	err := r.Cache.Status().Apply(ctx, apply, client.FieldOwner(FieldOwner), client.ForceOwnership)
	switch {
	case apierrors.IsNotFound(err):
		return nil // gone: its deletion brings it back
	case apierrors.IsConflict(err):
		return errStale
	case err != nil:
		return fmt.Errorf("setting the seat check of Workload %s/%s: %w", wl.Namespace, wl.Name, err)
	}
	return nil
}

// errStale is a status apply refused because the Workload changed since the
// decision was taken on it: the Workload is decided again shortly (the
// change may be one the controller's predicate does not pass).
var errStale = errors.New("the Workload changed since it was read")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
