package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/metrics"
)

// SoftwareLicenseReconciler computes the status of SoftwareLicenses: the
// effective policy, validity, lifecycle state, seats, compliance, cost,
// consumption and key fingerprint. It is the only writer of that status. It
// requeues a licence exactly at its next lifecycle boundary, measured on
// Clock, and never polls.
type SoftwareLicenseReconciler struct {
	client.Client
	// APIReader reads, uncached, the user Secrets the manager's cache does not
	// hold (those without KeySecretLabel). Nil reads only through Client.
	APIReader client.Reader
	// Scheme sets the owner reference of generated key Secrets.
	Scheme *runtime.Scheme
	// Clock is the only source of "now".
	Clock clock.PassiveClock
	// Recorder emits events.k8s.io Events on lifecycle and seat transitions.
	Recorder events.EventRecorder

	// seats is what seat accounting keeps in memory (see assignment_status.go).
	seats seatState
}

// Reconcile computes the status of one licence from the licence, its
// product, its key Secret and its assignments, patches it once when it
// changed, emits an event for each transition and requeues at the next
// boundary.
func (r *SoftwareLicenseReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	lic := &licensingv1alpha1.SoftwareLicense{}
	if err := r.Get(ctx, req.NamespacedName, lic); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.ForgetLicense(req.Namespace, req.Name)
			r.seats.licences.forget(req.NamespacedName)
			// Assignments may still name the missing licence (or product).
			return seatResult(r.reconcileOrphans(ctx, req))
		}
		return ctrl.Result{}, err
	}
	// A cache that has not shown our last write of this licence yet would
	// make the status patch below fail its optimistic lock (and compare
	// against a status we already replaced): use the licence as we left it.
	if own := r.seats.licences.view(lic); own != lic {
		lic = own.DeepCopy()
	}
	now := r.Clock.Now()

	var d licenseDecision
	if lic.DeletionTimestamp.IsZero() {
		in, err := r.gatherInputs(ctx, lic)
		if err != nil {
			return seatResult(err)
		}
		if d, err = computeStatus(lic, in, now); err != nil {
			return ctrl.Result{}, err
		}
	} else {
		in, err := r.gatherSeats(ctx, lic)
		if err != nil {
			return seatResult(err)
		}
		if d, err = computeDeletionStatus(lic, in, now); err != nil {
			return ctrl.Result{}, err
		}
	}
	if d.costProblem != "" {
		log.Info("Cannot compute the licence's cost", "license", klog.KObj(lic), "reason", d.costProblem)
	}
	if err := r.apply(ctx, lic, &d); err != nil {
		return seatResult(err)
	}
	if d.next == nil {
		return ctrl.Result{}, nil
	}
	// Requeue exactly at the boundary: the workqueue fires at or after it, and
	// at the boundary the licence is already in its next state.
	return ctrl.Result{RequeueAfter: max(d.next.Sub(now), time.Nanosecond)}, nil
}

// apply makes every write a pass decided, in one place: the seat plan's
// (finalizer, assignment statuses, applySeats), then the licence's status,
// patched once when it changed, and an event for each transition.
func (r *SoftwareLicenseReconciler) apply(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, d *licenseDecision) error {
	gone, err := r.applySeats(ctx, lic, &d.seats)
	if err != nil || gone {
		return err
	}
	deleting := !lic.DeletionTimestamp.IsZero()
	if d.status != nil {
		old := lic.Status.DeepCopy()
		if !equality.Semantic.DeepEqual(*old, *d.status) && !sameJSON(old, d.status) {
			// The optimistic lock makes a reconcile that read a stale licence
			// fail instead of writing (and announcing) a transition twice.
			base := lic.DeepCopy()
			patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
			lic.Status = *d.status
			if err := r.Status().Patch(ctx, lic, patch); err != nil {
				err = fmt.Errorf("patching the status: %w", err)
				if deleting {
					return client.IgnoreNotFound(err)
				}
				return err
			}
			r.seats.licences.wrote(base, lic)
			ctrl.LoggerFrom(ctx).V(1).Info("Updated licence status", "license", klog.KObj(lic), "state", d.status.State, "compliance", d.status.Compliance)
			r.recordTransitions(lic, old, d.status)
		}
	}
	if !deleting {
		metrics.RecordLicense(lic)
	}
	return nil
}

// sameJSON says whether a and b are the same JSON. A status that differs
// from the stored one only in what JSON does not keep (a time below the
// second) is not written: its patch would be empty, and it was one useless
// write per licence on every restart.
func sameJSON(a, b any) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		return false
	}
	jb, err := json.Marshal(b)
	return err == nil && bytes.Equal(ja, jb)
}

// SetupWithManager registers the controller. It watches:
//   - its licences, when their spec (generation) or annotations change: a
//     changed annotation (for example `kubectl annotate ... touch=$(date +%s)`)
//     forces a recount; the status the controller writes itself does not
//     trigger it again;
//   - LicenseProducts, mapped through IndexLicenseProduct to the licences of
//     the product, so a policy change reaches them at once without listing
//     every licence. A licence of a bundle reads only the bundle's own spec
//     (its members are names in it), so a change of a member product changes
//     nothing in the bundle's licences and does not requeue them;
//   - LicenseAssignments, mapped to the licence they are bound to and the one
//     their spec.licenseRef names, when seats, state or consumption change;
//   - Secrets in the manager's cache, which holds only Secrets labelled
//     KeySecretLabel (see CacheOptions): the generated key Secrets the
//     licences own, and user Secrets labelled so, mapped by name through
//     IndexLicenseKeySecret. See reconcileKey for unlabelled user Secrets;
//   - what seat accounting needs besides (watchSeats): productRef
//     assignments, assignee transfers, namespace labels, and kicks between
//     the licences of a product.
func (r *SoftwareLicenseReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.setupWithManager(mgr, 0)
}

// setupWithManager registers the controller with workers concurrent
// reconciles (0: DefaultLicenceConcurrency). See Options.LicenceConcurrency
// for why concurrent passes of different licences are safe.
func (r *SoftwareLicenseReconciler) setupWithManager(mgr ctrl.Manager, workers int) error {
	if workers <= 0 {
		workers = DefaultLicenceConcurrency
	}
	b := ctrl.NewControllerManagedBy(mgr).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		For(&licensingv1alpha1.SoftwareLicense{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.licensesForSecret)).
		Watches(&licensingv1alpha1.LicenseProduct{}, handler.EnqueueRequestsFromMapFunc(r.licensesForProduct),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&licensingv1alpha1.LicenseAssignment{}, handler.EnqueueRequestsFromMapFunc(licensesForAssignment),
			builder.WithPredicates(assignmentSeatsChanged))
	return watchConsumption(r.watchSeats(b)).
		Named("softwarelicense").
		Complete(r)
}

// licensesForProduct maps a product to its licences.
func (r *SoftwareLicenseReconciler) licensesForProduct(ctx context.Context, obj client.Object) []reconcile.Request {
	var list licensingv1alpha1.SoftwareLicenseList
	// Only the names are read: no deep copies of what may be thousands of licences.
	if err := r.List(ctx, &list, client.MatchingFields{IndexLicenseProduct: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the licences of a product", "product", obj.GetName())
		return nil
	}
	return licenseRequests(list.Items)
}

// licensesForSecret maps a key Secret to the licences whose spec.key names it.
func (r *SoftwareLicenseReconciler) licensesForSecret(ctx context.Context, obj client.Object) []reconcile.Request {
	var list licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{IndexLicenseKeySecret: obj.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the licences of a key Secret", "secret", klog.KObj(obj))
		return nil
	}
	return licenseRequests(list.Items)
}

func licenseRequests(items []licensingv1alpha1.SoftwareLicense) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(items))
	for i := range items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&items[i])})
	}
	return reqs
}

// licensesForAssignment maps an assignment to the licence it is bound to and
// the licence it references. On an update controller-runtime maps the old
// and the new object, so a licence an assignment left is recounted too.
func licensesForAssignment(_ context.Context, obj client.Object) []reconcile.Request {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, key := range []string{a.Status.License, LicenseRefKey(a)} {
		ns, name, found := cutKey(key)
		if !found {
			continue
		}
		req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
		if len(reqs) == 0 || reqs[0] != req {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

// cutKey splits "namespace/name".
func cutKey(key string) (string, string, bool) {
	ns, name, ok := strings.Cut(key, "/")
	return ns, name, ok && ns != "" && name != ""
}

// assignmentSeatsChanged passes assignment updates that change what a
// licence counts: requested or bound seats, state, the licence bound to or
// referenced, and reported consumption.
var assignmentSeatsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licensingv1alpha1.LicenseAssignment)
		n, ok2 := e.ObjectNew.(*licensingv1alpha1.LicenseAssignment)
		if !ok1 || !ok2 {
			return true
		}
		return o.Spec.Seats != n.Spec.Seats ||
			!equality.Semantic.DeepEqual(o.Spec.Consumption, n.Spec.Consumption) ||
			LicenseRefKey(o) != LicenseRefKey(n) ||
			o.Status.State != n.Status.State ||
			o.Status.License != n.Status.License ||
			o.Status.Seats != n.Status.Seats ||
			!equality.Semantic.DeepEqual(o.Status.Consumption, n.Status.Consumption)
	},
}
