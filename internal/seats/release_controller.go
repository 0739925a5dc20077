package seats

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
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

// podRelease asks to give back the seats one Pod (by UID) holds.
type podRelease struct {
	types.NamespacedName
	UID types.UID
	// Created is the Pod's creation time: an entry written at its admission
	// carries an admission UID (licensing.EntryOfPod).
	Created time.Time
}

// releasing are the Pods (by UID) whose seats the seat releaser has been
// asked to give back and has not given back yet, or gave back less than
// releasedMemory ago. The recount leaves them to it: a recount that raced
// the releaser would report a repair that is none, or put back the entry of
// a Pod its cache still shows although it is gone.
type releasing struct {
	mu sync.Mutex
	// uids maps a UID to when its release finished (zero while it runs).
	uids map[types.UID]time.Time
	now  func() time.Time
}

// releasedMemory is how long a released Pod stays in releasing: far longer
// than a cache lags behind the API server.
const releasedMemory = time.Minute

func (r *releasing) add(uid types.UID) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.uids == nil {
		r.uids = map[types.UID]time.Time{}
	}
	r.uids[uid] = time.Time{}
}

func (r *releasing) done(uid types.UID) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.uids[uid]; ok {
		r.uids[uid] = r.now()
	}
}

// snapshot returns the UIDs being released or just released, and forgets
// those released longer than releasedMemory ago.
func (r *releasing) snapshot() map[string]bool {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make(map[string]bool, len(r.uids))
	for uid, at := range r.uids {
		if !at.IsZero() && now.Sub(at) > releasedMemory {
			delete(r.uids, uid)
			continue
		}
		out[string(uid)] = true
	}
	return out
}

// SeatReleaser gives Concurrent seats back when a Pod that holds one is deleted
// or finishes (Succeeded or Failed). It watches only Pods that need a licence.
type SeatReleaser struct {
	// Cache reads LicenseProducts for the predicate.
	Cache client.Reader
	// Reader lists ledgers live.
	Reader client.Reader
	Ledger *Ledger
	// Grace is the admission grace (licensing.EntryOfPod).
	Grace time.Duration

	releasing *releasing
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=seatledgers,verbs=get;list;watch;create;update;delete

// SetupWithManager registers the controller.
func (r *SeatReleaser) SetupWithManager(mgr ctrl.Manager) error {
	enqueue := func(p *corev1.Pod, q workqueue.TypedRateLimitingInterface[podRelease]) {
		r.releasing.add(p.UID)
		q.Add(podRelease{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, UID: p.UID, Created: p.CreationTimestamp.Time})
	}
	h := handler.TypedFuncs[*corev1.Pod, podRelease]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[podRelease]) {
			if licensing.PodTerminal(e.Object) {
				enqueue(e.Object, q)
			}
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[podRelease]) {
			if licensing.PodTerminal(e.ObjectNew) && !licensing.PodTerminal(e.ObjectOld) {
				enqueue(e.ObjectNew, q)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[podRelease]) {
			enqueue(e.Object, q)
		},
	}
	needs := predicate.NewTypedPredicateFuncs(func(p *corev1.Pod) bool { return r.needsLicence(p) })
	return builder.TypedControllerManagedBy[podRelease](mgr).
		Named("podseats").
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.Pod{}, h, needs)).
		Complete(r)
}

// needsLicence is the narrow predicate: the Pod carries the product annotation
// or runs an image of a product's spec.workloads.images.
func (r *SeatReleaser) needsLicence(p *corev1.Pod) bool {
	if _, ok := p.Annotations[licensingv1alpha1.ProductAnnotation]; ok {
		return true
	}
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.Cache.List(context.Background(), products); err != nil {
		return true
	}
	w := licensing.WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
	return len(licensing.RequiredProducts(&w, products.Items)) > 0
}

// rideOfPod is the ride of the Pod named name on a reservation of cm that is
// pod's (licensing.EntryOfPod).
func rideOfPod(cm *licensingv1alpha1.SeatLedger, name string, pod *corev1.Pod, grace time.Duration) (licensingv1alpha1.SeatLedgerEntry, bool) {
	for i := range cm.Spec.Reservations {
		for _, e := range cm.Spec.Reservations[i].Rides {
			if e.Pod == name && licensing.EntryOfPod(e.UID, e.Admitted.Time, pod, grace) {
				return e, true
			}
		}
	}
	return licensingv1alpha1.SeatLedgerEntry{}, false
}

// Reconcile removes the Pod's entry, its place in a line, or its ride on a
// Kueue Workload's reservation, from every
// ledger of its namespace. The cache's word that the Pod is gone or
// finished is confirmed with a live GET first: a Pod of that UID that is
// stored and still running keeps its seat.
func (r *SeatReleaser) Reconcile(ctx context.Context, req podRelease) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("pod", klog.KRef(req.Namespace, req.Name))
	live := &corev1.Pod{}
	err := r.Reader.Get(ctx, req.NamespacedName, live)
	switch {
	case err == nil && live.UID == req.UID && !licensing.PodTerminal(live):
		log.V(1).Info("Pod still runs: its seat is kept")
		r.releasing.done(req.UID)
		return reconcile.Result{}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return reconcile.Result{}, fmt.Errorf("confirming the end of Pod %s: %w", req.NamespacedName, err)
	}
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := r.Reader.List(ctx, ledgers, client.InNamespace(req.Namespace)); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing seat ledgers: %w", err)
	}
	ledgers.Items = licensing.MergeSeatLedgers(ledgers.Items)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: req.UID, CreationTimestamp: metav1.NewTime(req.Created)}}
	for i := range ledgers.Items {
		cm := &ledgers.Items[i]
		var uid string
		if j := entryOf(cm, req.Name); j >= 0 && licensing.EntryOfPod(cm.Spec.Entries[j].UID, cm.Spec.Entries[j].Admitted.Time, pod, r.Grace) {
			uid = cm.Spec.Entries[j].UID
		} else if w := waiterOf(cm, req.Name); w >= 0 && licensing.EntryOfPod(cm.Spec.Waiting[w].UID, cm.Spec.Waiting[w].Queued.Time, pod, r.Grace) {
			uid = cm.Spec.Waiting[w].UID
		} else if ride, ok := rideOfPod(cm, req.Name, pod, r.Grace); ok {
			uid = ride.UID // a Pod of a Kueue Workload: its place on the reservation frees
		} else {
			continue
		}
		if err := r.Ledger.Release(ctx, client.ObjectKeyFromObject(cm), PodRef{Namespace: req.Namespace, Name: req.Name, UID: types.UID(uid)}); err != nil {
			return reconcile.Result{}, err
		}
		log.V(1).Info("Released seat", "ledger", klog.KObj(cm), "assignment", cm.Spec.Assignment)
	}
	r.releasing.done(req.UID)
	return reconcile.Result{}, nil
}
