package kueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
	"github.com/license-operator/license-operator/internal/seats"
)

// The reasons of the Workload events and of its condition ConditionSeats.
const (
	// ReasonSeatsReserved (Normal): every seat the Workload needs is
	// reserved; its check is Ready.
	ReasonSeatsReserved = "SeatsReserved"
	// ReasonWaitingForSeats (Normal): the seats are busy; its check is
	// Pending while Kueue holds its quota, at most the seat wait.
	ReasonWaitingForSeats = "WaitingForSeats"
	// ReasonSeatsBusy (Warning): the seat wait passed; its check is Retry,
	// and Kueue releases its quota and queues it again.
	ReasonSeatsBusy = "SeatsBusy"
	// ReasonSeatsNeverFit (Warning): it needs more seats than its
	// assignments hold; its check is Rejected.
	ReasonSeatsNeverFit = "SeatsNeverFit"
	// ReasonSeatsReleased (Normal): its seats went back once it finished,
	// was evicted or deleted and its Pods were gone.
	ReasonSeatsReleased = "SeatsReleased"
)

// ConditionSeats is the condition the operator keeps on the Workloads it
// checks: True while their seats are reserved.
const ConditionSeats = licensingv1alpha1.LabelPrefix + "SeatsReserved"

// recheckInterval is how often a Pending Workload tries again when no seat
// ledger of its namespace changed.
const recheckInterval = 10 * time.Second

// WorkloadReconciler is the AdmissionCheck controller of Workloads: for a
// Workload whose status lists a check of ControllerName and that Kueue has
// reserved quota for, it reserves the seats of all its pod sets together
// (reserve) and sets the check Ready; while they are busy it keeps the check
// Pending for up to SeatWait, then sets it Retry; a Workload that needs more
// seats than its assignments hold is Rejected. Once the Workload has
// finished, was evicted, lost its quota or is deleted, it gives the seats
// back as soon as no Pod rides them. It writes only its check's state and
// its condition on the Workload (server-side apply, FieldOwner) and the
// reservations in the seat ledgers (compare-and-swap, seats.Ledger).
//
// The seat ledgers' events bring it every Workload named in a reservation,
// also when it starts: a reservation whose Workload was deleted while the
// operator was down is released then.
type WorkloadReconciler struct {
	// Cache reads Workloads, AdmissionChecks, ClusterQueues, the licensing
	// objects and licensed Pods; its Status() applies Workload status.
	Cache client.Client
	// Live lists seat ledgers from the API server.
	Live     client.Reader
	Ledger   *seats.Ledger
	Clock    clock.PassiveClock
	SeatWait time.Duration
	Recorder events.EventRecorder
}

// SetupWithManager registers the controller.
func (r *WorkloadReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("kueue-workload").
		For(&kueuev1beta2.Workload{}, builder.WithPredicates(workloadStatusChanged)).
		Watches(&kueuev1beta2.AdmissionCheck{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfCheck)).
		Watches(&kueuev1beta2.ClusterQueue{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfClusterQueue),
			builder.WithPredicates(clusterQueueChecksChanged)).
		Watches(&licensingv1alpha1.SeatLedger{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfLedger),
			builder.WithPredicates(predicate.Funcs{GenericFunc: func(event.GenericEvent) bool { return false }})).
		Watches(&licensingv1alpha1.LicenseAssignment{}, handler.EnqueueRequestsFromMapFunc(r.waitingInNamespace),
			builder.WithPredicates(assignmentSeatsChanged)).
		Complete(r)
}

// workloadStatusChanged passes creations, deletions and the updates that
// change a Workload's conditions, admission or checks.
var workloadStatusChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*kueuev1beta2.Workload)
		n, ok2 := e.ObjectNew.(*kueuev1beta2.Workload)
		return !ok1 || !ok2 || !equality.Semantic.DeepEqual(o.Status.Conditions, n.Status.Conditions) ||
			!equality.Semantic.DeepEqual(o.Status.Admission, n.Status.Admission) ||
			!equality.Semantic.DeepEqual(o.Status.AdmissionChecks, n.Status.AdmissionChecks) ||
			!equality.Semantic.DeepEqual(o.Spec.Active, n.Spec.Active)
	},
}

var clusterQueueChecksChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*kueuev1beta2.ClusterQueue)
		n, ok2 := e.ObjectNew.(*kueuev1beta2.ClusterQueue)
		return !ok1 || !ok2 || !equality.Semantic.DeepEqual(o.Spec.AdmissionChecksStrategy, n.Spec.AdmissionChecksStrategy)
	},
}

var assignmentSeatsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licensingv1alpha1.LicenseAssignment)
		n, ok2 := e.ObjectNew.(*licensingv1alpha1.LicenseAssignment)
		return !ok1 || !ok2 || o.Status.State != n.Status.State || o.Status.Seats != n.Status.Seats || o.Status.License != n.Status.License
	},
}

// workloadsOfCheck maps an AdmissionCheck of ControllerName to the
// Workloads that list it, and to those admitted on a ClusterQueue that lists
// it (IndexClusterQueueChecks): a check created after them concerns them.
func (r *WorkloadReconciler) workloadsOfCheck(ctx context.Context, o client.Object) []reconcile.Request {
	ac, ok := o.(*kueuev1beta2.AdmissionCheck)
	if !ok || ac.Spec.ControllerName != ControllerName {
		return nil
	}
	out := r.listRequests(ctx, client.MatchingFields{IndexWorkloadChecks: ac.Name})
	cqs := &kueuev1beta2.ClusterQueueList{}
	if err := r.Cache.List(ctx, cqs, client.MatchingFields{IndexClusterQueueChecks: ac.Name}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the ClusterQueues of an AdmissionCheck", "admissionCheck", ac.Name)
		return out
	}
	for i := range cqs.Items {
		out = append(out, r.listRequests(ctx, client.MatchingFields{IndexWorkloadClusterQueue: cqs.Items[i].Name})...)
	}
	return out
}

func (r *WorkloadReconciler) workloadsOfClusterQueue(ctx context.Context, o client.Object) []reconcile.Request {
	return r.listRequests(ctx, client.MatchingFields{IndexWorkloadClusterQueue: o.GetName()})
}

// workloadsOfLedger maps a seat ledger to the Workloads its reservations
// name (to give their seats back), and to the Workloads of its namespace
// waiting for seats (a change may have freed some).
func (r *WorkloadReconciler) workloadsOfLedger(ctx context.Context, o client.Object) []reconcile.Request {
	l, ok := o.(*licensingv1alpha1.SeatLedger)
	if !ok || l.Spec.Assignment == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []reconcile.Request
	for _, res := range l.Spec.Reservations {
		if !seen[res.Workload] {
			seen[res.Workload] = true
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: l.Namespace, Name: res.Workload}})
		}
	}
	for _, req := range r.waitingInNamespace(ctx, o) {
		if !seen[req.Name] {
			seen[req.Name] = true
			out = append(out, req)
		}
	}
	return out
}

// waitingInNamespace maps an object to the Workloads of its namespace that
// hold quota without being admitted: those that may be waiting for seats.
func (r *WorkloadReconciler) waitingInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list := &kueuev1beta2.WorkloadList{}
	if err := r.Cache.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the Workloads of a namespace", "namespace", o.GetNamespace())
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		wl := &list.Items[i]
		if hasQuota(wl) && !apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueuev1beta2.WorkloadAdmitted) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(wl)})
		}
	}
	return out
}

func (r *WorkloadReconciler) listRequests(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := &kueuev1beta2.WorkloadList{}
	if err := r.Cache.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing Workloads")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

func hasQuota(wl *kueuev1beta2.Workload) bool {
	return apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueuev1beta2.WorkloadQuotaReserved)
}

// holdsNoLonger says why a Workload no longer needs its seats ("" while it does).
func holdsNoLonger(wl *kueuev1beta2.Workload) string {
	switch {
	case !wl.DeletionTimestamp.IsZero():
		return "it is being deleted"
	case apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueuev1beta2.WorkloadFinished):
		return "it has finished"
	case apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueuev1beta2.WorkloadEvicted):
		return "it was evicted"
	case !ptr.Deref(wl.Spec.Active, true):
		return "it was deactivated"
	case !hasQuota(wl):
		return "it holds no quota"
	}
	return ""
}

// staleRetry is how soon a Workload whose status apply met a newer version is decided again.
const staleRetry = 200 * time.Millisecond

// Reconcile reserves or releases the seats of one Workload.
func (r *WorkloadReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	res, err := r.reconcile(ctx, req)
	if errors.Is(err, errStale) {
		return reconcile.Result{RequeueAfter: staleRetry}, nil
	}
	return res, err
}

func (r *WorkloadReconciler) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("workload", klog.KRef(req.Namespace, req.Name))
	ctx = ctrl.LoggerInto(ctx, log)
	wl := &kueuev1beta2.Workload{}
	err := r.Cache.Get(ctx, req.NamespacedName, wl)
	if apierrors.IsNotFound(err) {
		// Deleted (or never ours): what any Workload of this name holds goes
		// once its Pods are gone.
		return r.releaseOthers(ctx, req.NamespacedName, "", "it was deleted")
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	// A Workload of the same name before this one is gone.
	if res, err := r.releaseOthers(ctx, req.NamespacedName, wl.UID, "it was deleted"); err != nil || !res.IsZero() {
		return res, err
	}
	checks, err := r.ourChecks(ctx, wl)
	if err != nil {
		return reconcile.Result{}, err
	}
	why := holdsNoLonger(wl)
	if len(checks) == 0 && why == "" {
		why = "its ClusterQueue no longer lists an AdmissionCheck of " + ControllerName
	}
	if why != "" {
		return r.release(ctx, wl, checks, why)
	}
	switch checkState(wl, checks) {
	case kueuev1beta2.CheckStatePending:
		return r.reserve(ctx, wl, checks)
	default:
		// Ready: its seats are held. Retry and Rejected: Kueue releases its
		// quota, and the check is Pending again when it holds quota anew.
		return reconcile.Result{}, nil
	}
}

// ourChecks are the names of the Workload's checks whose AdmissionCheck has
// ControllerName.
func (r *WorkloadReconciler) ourChecks(ctx context.Context, wl *kueuev1beta2.Workload) ([]string, error) {
	var out []string
	for _, c := range wl.Status.AdmissionChecks {
		ac := &kueuev1beta2.AdmissionCheck{}
		err := r.Cache.Get(ctx, types.NamespacedName{Name: string(c.Name)}, ac)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, err
		case ac.Spec.ControllerName == ControllerName:
			out = append(out, string(c.Name))
		}
	}
	return out, nil
}

// checkState is the state of the first of the Workload's checks.
func checkState(wl *kueuev1beta2.Workload, checks []string) kueuev1beta2.CheckState {
	if c := checkOf(wl, checks[0]); c != nil {
		return c.State
	}
	return ""
}

// checkOf is the Workload's state of the check name, or nil.
func checkOf(wl *kueuev1beta2.Workload, name string) *kueuev1beta2.AdmissionCheckState {
	for i := range wl.Status.AdmissionChecks {
		if string(wl.Status.AdmissionChecks[i].Name) == name {
			return &wl.Status.AdmissionChecks[i]
		}
	}
	return nil
}

// release gives back the seats the Workload holds, once no Pod rides them.
func (r *WorkloadReconciler) release(ctx context.Context, wl *kueuev1beta2.Workload, checks []string, why string) (reconcile.Result, error) {
	released, riding, err := r.releaseUID(ctx, wl.Namespace, wl.UID)
	if err != nil {
		return reconcile.Result{}, err
	}
	if released > 0 {
		msg := fmt.Sprintf("released %d licence seats: %s and its Pods are gone", released, why)
		ctrl.LoggerFrom(ctx).Info("Released the seats of a Workload", "seats", released, "why", why)
		if r.Recorder != nil {
			r.Recorder.Eventf(wl, nil, corev1.EventTypeNormal, ReasonSeatsReleased, "Release", "%s", msg)
		}
		if c := apimeta.FindStatusCondition(wl.Status.Conditions, ConditionSeats); c != nil && c.Status == metav1.ConditionTrue && len(checks) > 0 {
			// The checks' state stays as it is (Kueue's to reset); the
			// condition says the seats went back.
			states := map[string]checkWrite{}
			for _, name := range checks {
				if s := checkOf(wl, name); s != nil {
					states[name] = checkWrite{state: s.State, message: s.Message}
				}
			}
			if err := r.applyStatus(ctx, wl, states, conditionOf(false, ReasonSeatsReleased, msg)); err != nil {
				return reconcile.Result{}, err
			}
		}
	}
	if riding > 0 {
		// Its Pods still run: the seat releaser's write of the ledger as
		// they go brings the Workload back; this is the fallback.
		return reconcile.Result{RequeueAfter: recheckInterval}, nil
	}
	return reconcile.Result{}, nil
}

// releaseOthers gives back, once no Pod rides them, the seats of the
// Workloads named key whose UID is not keep (a Workload deleted, or
// replaced by another of its name).
func (r *WorkloadReconciler) releaseOthers(ctx context.Context, key types.NamespacedName, keep types.UID, why string) (reconcile.Result, error) {
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := r.Cache.List(ctx, ledgers, client.InNamespace(key.Namespace)); err != nil {
		return reconcile.Result{}, err
	}
	ledgers.Items = licensing.MergeSeatLedgers(ledgers.Items)
	uids := map[types.UID]bool{}
	for i := range ledgers.Items {
		for _, res := range ledgers.Items[i].Spec.Reservations {
			if res.Workload == key.Name && types.UID(res.UID) != keep {
				uids[types.UID(res.UID)] = true
			}
		}
	}
	result := reconcile.Result{}
	for uid := range uids {
		released, riding, err := r.releaseUID(ctx, key.Namespace, uid)
		if err != nil {
			return reconcile.Result{}, err
		}
		if released > 0 {
			ctrl.LoggerFrom(ctx).Info("Released the seats of a Workload that is gone", "uid", uid, "seats", released, "why", why)
		}
		if riding > 0 {
			result.RequeueAfter = recheckInterval
		}
	}
	return result, nil
}

// releaseUID releases the reservations of the Workload uid in every seat
// ledger of namespace (read live) whose Pods no longer ride them, and
// returns the seats released and the Pods still riding.
func (r *WorkloadReconciler) releaseUID(ctx context.Context, namespace string, uid types.UID) (released int32, riding int, err error) {
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := r.Live.List(ctx, ledgers, client.InNamespace(namespace)); err != nil {
		return 0, 0, fmt.Errorf("listing seat ledgers: %w", err)
	}
	ledgers.Items = licensing.MergeSeatLedgers(ledgers.Items)
	for i := range ledgers.Items {
		l := &ledgers.Items[i]
		has := false
		for _, res := range l.Spec.Reservations {
			has = has || types.UID(res.UID) == uid
		}
		if !has {
			continue
		}
		out, err := r.Ledger.ReleaseWorkload(ctx, client.ObjectKeyFromObject(l), uid, true)
		if err != nil {
			return 0, 0, err
		}
		released += out.Released
		riding += len(out.Riding)
		if out.Released > 0 {
			metrics.KueueReservedSeats.WithLabelValues(r.productOfAssignment(ctx, namespace, l.Spec.Assignment), "released").Add(float64(out.Released))
		}
	}
	return released, riding, nil
}

// productOfAssignment is the product of the licence an assignment is bound to, for metrics ("" when unknown).
func (r *WorkloadReconciler) productOfAssignment(ctx context.Context, namespace, name string) string {
	a := &licensingv1alpha1.LicenseAssignment{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, a); err != nil || a.Status.License == "" {
		return ""
	}
	l := &licensingv1alpha1.SoftwareLicense{}
	ns, n := splitKey(a.Status.License)
	if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: n}, l); err != nil || l.Status.Product == nil {
		return ""
	}
	return l.Status.Product.Name
}

func splitKey(key string) (string, string) {
	for i := range key {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
