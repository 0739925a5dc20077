package seats

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// PendingUseIndex indexes the use ledgers by their pending uses: each
// entry's UID and its Pod (pendingPodKey). An entry admitted before its Pod
// was stored has an admission UID, not the Pod's, so a new Pod finds its
// entry by namespace and name.
const PendingUseIndex = "admission.spec.uses.pending.uid"

// pendingUseKeys are the PendingUseIndex keys of a ledger.
func pendingUseKeys(led *licensingv1alpha1.SeatLedger) []string {
	if led.Spec.Uses == nil {
		return nil
	}
	out := make([]string, 0, 2*len(led.Spec.Uses.Pending))
	for _, p := range led.Spec.Uses.Pending {
		out = append(out, p.UID, pendingPodKey(p.Namespace, p.Pod))
	}
	return out
}

// pendingPodKey is the PendingUseIndex key of the Pod namespace/name.
func pendingPodKey(namespace, name string) string { return "pod:" + namespace + "/" + name }

// UseRecounter settles the pending uses of the use ledgers
// (licensing.SettleUses): the use of a Pod that is stored is confirmed (it
// leaves the pending list and joins the period's counts), the use of a Pod
// that was never stored (a later admission step refused it) is dropped once
// it is older than the grace, so its use is given back. It runs when a use
// ledger changes, when a Pod with a pending use is created, and at the end
// of the grace of the oldest pending use. It reads the ledger and the Pods
// live and writes with the resourceVersion it read.
type UseRecounter struct {
	Cache  client.Reader
	Reader client.Reader
	Writer client.Client
	Clock  clock.PassiveClock
	Grace  time.Duration
}

// SetupWithManager registers the controller and the index it needs.
func (r *UseRecounter) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &licensingv1alpha1.SeatLedger{}, PendingUseIndex,
		func(o client.Object) []string { return pendingUseKeys(o.(*licensingv1alpha1.SeatLedger)) }); err != nil {
		return err
	}
	isUses := predicate.NewTypedPredicateFuncs(func(l *licensingv1alpha1.SeatLedger) bool { return l.Spec.License != "" })
	pods := handler.TypedFuncs[*corev1.Pod, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// By UID, and by namespace/name for an entry the webhook wrote
			// before the Pod had its UID: without the second, such an entry
			// would wait for the next ledger change or its grace to end.
			for _, key := range []string{string(e.Object.UID), pendingPodKey(e.Object.Namespace, e.Object.Name)} {
				list := &licensingv1alpha1.SeatLedgerList{}
				if err := r.Cache.List(ctx, list, client.MatchingFields{PendingUseIndex: key}); err != nil {
					ctrl.LoggerFrom(ctx).Error(err, "Listing the use ledgers of a new Pod", "pod", klog.KObj(e.Object))
					return
				}
				for i := range list.Items {
					q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
				}
			}
		},
	}
	return builder.TypedControllerManagedBy[reconcile.Request](mgr).
		Named("userecount").
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.SeatLedger{},
			&handler.TypedEnqueueRequestForObject[*licensingv1alpha1.SeatLedger]{}, isUses)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.Pod{}, pods)).
		Complete(r)
}

// Reconcile settles the pending uses of one use ledger.
func (r *UseRecounter) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	led := &licensingv1alpha1.SeatLedger{}
	if err := r.Reader.Get(ctx, req.NamespacedName, led); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if led.Spec.Uses == nil || len(led.Spec.Uses.Pending) == 0 {
		return reconcile.Result{}, nil
	}
	stored := map[string]bool{}
	for _, p := range led.Spec.Uses.Pending {
		pod := &corev1.Pod{}
		err := r.Reader.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Pod}, pod)
		switch {
		case err == nil:
			stored[p.UID] = licensing.EntryOfPod(p.UID, p.Admitted.Time, pod, r.Grace)
		case !apierrors.IsNotFound(err):
			return reconcile.Result{}, fmt.Errorf("reading Pod %s/%s: %w", p.Namespace, p.Pod, err)
		}
	}
	now := r.Clock.Now()
	uses, changed := licensing.SettleUses(*led.Spec.Uses, stored, now, r.Grace)
	if changed {
		led.Spec.Uses = &uses
		err := updateLedger(ctx, r.Writer, led)
		if apierrors.IsConflict(err) {
			return reconcile.Result{RequeueAfter: recountAfterConflict}, nil
		}
		if err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Settled pending uses", "ledger", klog.KObj(led), "confirmed", uses.Confirmed, "pending", len(uses.Pending))
	}
	if at := licensing.NextSettle(uses, r.Grace); at != nil {
		return reconcile.Result{RequeueAfter: at.Sub(now) + time.Second}, nil
	}
	return reconcile.Result{}, nil
}
