package seats

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
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

// EventSeatLedgerRepaired is the reason of the Warning event a recount emits
// on an assignment whose ledger it repaired.
const EventSeatLedgerRepaired = "SeatLedgerRepaired"

// recountDelay is how long after a change a namespace is recounted: the
// changes within it are recounted together.
const recountDelay = time.Second

// recountAfterConflict is how long a recount whose write met a Conflict
// waits before it recounts again.
const recountAfterConflict = 50 * time.Millisecond

// recountExempt are the namespaces the Pod webhooks never see
// (config/webhook/scope_patch.yaml): their Pods were never admitted on a
// seat, so they are never recounted onto one.
var recountExempt = map[string]bool{
	"kube-system": true, "kube-node-lease": true, "kube-public": true, "license-operator-system": true,
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=patch

// SeatRecounter recounts the seat ledgers of a namespace from its live Pods
// (licensing.RecountSeatLedgers): entries of Pods that are gone or finished,
// past the admission grace, are dropped, and running licensed Pods that the
// ledgers miss are added back to the ledger of the assignment admission
// would have charged. Each repair is a Warning event on the assignment. It
// runs for every namespace with ledgers, licensed Pods or assignments when it
// starts, and again when a ledger, a licensed Pod or the binding of an
// assignment of the namespace changes, or the state of a licence; a ledger
// that only the operator may write changes in other ways only by an
// administrator, a bug, or a manager that was down while Pods went.
//
// It decides first on the cache, which costs no API call; only when that
// finds a repair does it read the ledgers live (and the Pods, when an entry
// is to be dropped; Pods first: a Pod is stored after its entry is written),
// decide again on those, and write each ledger with the resourceVersion it
// read (compare-and-swap, as the admission does). A conflict reruns the pass.
type SeatRecounter struct {
	// Cache reads Pods, ledgers, assignments, licences, products and namespaces.
	Cache client.Reader
	// Reader reads Pods and ledgers live.
	Reader client.Reader
	// Writer writes ledgers.
	Writer   client.Client
	Clock    clock.PassiveClock
	Grace    time.Duration
	Recorder events.EventRecorder

	releasing *releasing
	// licensed is the seat releaser's predicate: the Pod needs a licence.
	licensed func(*corev1.Pod) bool
}

// SetupWithManager registers the controller. Its requests name a namespace.
func (r *SeatRecounter) SetupWithManager(mgr ctrl.Manager) error {
	byNamespace := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if !recountExempt[o.GetNamespace()] {
			// Later, not now: a burst of admissions writes a namespace's
			// ledgers many times a second, and one recount after it is
			// worth as much as one after each write.
			q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace()}}, recountDelay)
		}
	}
	ledgers := handler.TypedFuncs[*licensingv1alpha1.SeatLedger, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			byNamespace(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			byNamespace(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			byNamespace(e.Object, q)
		},
	}
	// A Pod's deletion and end are the seat releaser's: its write of the
	// ledger brings the namespace here. A Pod's creation, and a change of its
	// annotations (the products it needs), may leave it without an entry.
	pods := handler.TypedFuncs[*corev1.Pod, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if !licensing.PodTerminal(e.Object) {
				byNamespace(e.Object, q)
			}
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if !licensing.PodTerminal(e.ObjectNew) && !equality.Semantic.DeepEqual(e.ObjectOld.Annotations, e.ObjectNew.Annotations) {
				byNamespace(e.ObjectNew, q)
			}
		},
	}
	// An assignment that binds, or changes its seats, may cover Pods that run
	// without an entry (admitted by a Site licence that has since expired).
	asgs := handler.TypedFuncs[*licensingv1alpha1.LicenseAssignment, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*licensingv1alpha1.LicenseAssignment], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			byNamespace(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.LicenseAssignment], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, n := e.ObjectOld.Status, e.ObjectNew.Status
			if o.State != n.State || o.Seats != n.Seats || o.License != n.License || !equality.Semantic.DeepEqual(o.BoundAssignee, n.BoundAssignee) {
				byNamespace(e.ObjectNew, q)
			}
		},
	}
	// A licence that changes state (a Site licence that expires) moves the
	// Pods it admitted onto the counted covers of the namespaces that have
	// assignments; a change of what it covers may too.
	licences := handler.TypedFuncs[*licensingv1alpha1.SoftwareLicense, reconcile.Request]{
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.SoftwareLicense], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, n := e.ObjectOld.Status, e.ObjectNew.Status
			if o.State == n.State && equality.Semantic.DeepEqual(o.Product, n.Product) && equality.Semantic.DeepEqual(o.EffectivePolicy, n.EffectivePolicy) {
				return
			}
			list := &licensingv1alpha1.LicenseAssignmentList{}
			if err := r.Cache.List(ctx, list); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Listing LicenseAssignments to recount after a licence change", "license", klog.KObj(e.ObjectNew))
				return
			}
			for i := range list.Items {
				byNamespace(&list.Items[i], q)
			}
		},
	}
	licensed := predicate.NewTypedPredicateFuncs(func(p *corev1.Pod) bool { return r.licensed == nil || r.licensed(p) })
	return builder.TypedControllerManagedBy[reconcile.Request](mgr).
		Named("seatrecount").
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.SeatLedger{}, ledgers)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.Pod{}, pods, licensed)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.LicenseAssignment{}, asgs)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.SoftwareLicense{}, licences)).
		Complete(r)
}

// Reconcile recounts the ledgers of the namespace req.Namespace.
func (r *SeatRecounter) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := req.Namespace
	in, parts, err := r.input(ctx, ns, r.Cache, r.Cache)
	if err != nil {
		return reconcile.Result{}, err
	}
	repairs := withoutAdoptions(licensing.RecountSeatLedgers(in))
	if len(repairs) == 0 && !needsMigration(parts) {
		return reconcile.Result{RequeueAfter: r.graceEnd(in)}, nil
	}
	// Decide again on the ledgers as the API server has them now. Pods are
	// read live too when an entry is to be dropped (its Pod must be gone);
	// Pods the cache shows exist, or were deleted so recently that the seat
	// releaser is still releasing them.
	pods := r.Cache
	if slices.ContainsFunc(repairs, func(rep licensing.LedgerRepair) bool { return len(rep.Dropped) > 0 }) {
		pods = r.Reader
	}
	if in, parts, err = r.input(ctx, ns, pods, r.Reader); err != nil {
		return reconcile.Result{}, err
	}
	if pods == r.Reader {
		if err := r.labelHolders(ctx, in); err != nil {
			return reconcile.Result{}, err
		}
	}
	repairs = withoutAdoptions(licensing.RecountSeatLedgers(in))
	byName := map[string]*licensingv1alpha1.SeatLedger{}
	for i := range in.Ledgers {
		byName[in.Ledgers[i].Name] = &in.Ledgers[i]
	}
	if res, err := r.migrate(ctx, parts); err != nil || !res.IsZero() {
		return res, err
	}
	asgs := map[string]*licensingv1alpha1.LicenseAssignment{}
	for i := range in.Assignments {
		asgs[in.Assignments[i].Name] = &in.Assignments[i]
	}
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", ns)
	for _, rep := range repairs {
		asg := asgs[rep.Assignment]
		name := LedgerName(rep.Assignment)
		l, exists := byName[name]
		before := parts[types.NamespacedName{Namespace: ns, Name: name}]
		if !exists {
			if asg == nil {
				continue // nothing to own it: an entry can only be added for an assignment that covers
			}
			l = NewSeatLedger(asg, name)
			before = &ledgerParts{key: types.NamespacedName{Namespace: ns, Name: name}}
		}
		drop := map[string]bool{}
		for _, d := range rep.Dropped {
			drop[d.Entry.Pod] = true
		}
		removeEntries(l, drop)
		applyRides(l, rep)
		l.Spec.Entries = append(l.Spec.Entries, rep.Added...)
		// The Pods added run already: they hold their seats whatever the
		// seats, and the repair says when that is more than the seats.
		_, err = writeParts(ctx, r.Writer, before, l, unbounded, 0)
		if isRetryable(err) {
			// Admission (or another replica) changed the ledger since it
			// was read: recount on the new one, shortly and without an error.
			return reconcile.Result{RequeueAfter: recountAfterConflict}, nil
		}
		if err != nil {
			return reconcile.Result{}, fmt.Errorf("writing seat ledger %s/%s: %w", ns, name, err)
		}
		if !rep.Repairs() {
			log.V(1).Info("Dropped the rides of Pods gone", "ledger", klog.KObj(l), "droppedRides", len(rep.DroppedRides))
			continue
		}
		msg := licensing.RepairMessage(rep)
		log.Info("Repaired seat ledger", "ledger", klog.KObj(l), "assignment", rep.Assignment,
			"dropped", len(rep.Dropped), "added", len(rep.Added), "holders", rep.Holders, "seats", rep.Seats)
		if asg != nil && r.Recorder != nil {
			r.Recorder.Eventf(asg, nil, corev1.EventTypeWarning, EventSeatLedgerRepaired, "Recount", "%s", msg)
		}
	}
	return reconcile.Result{RequeueAfter: r.graceEnd(in)}, nil
}

// needsMigration says whether a ledger's main ledger, written by an
// earlier version, lists the entries, reservations or waiters that seat
// and waiter objects hold now.
func needsMigration(parts map[types.NamespacedName]*ledgerParts) bool {
	for _, p := range parts {
		if p.unmigrated() {
			return true
		}
	}
	return false
}

// migrate moves the entries, reservations and waiters that main ledgers
// written by an earlier version list into seat and waiter objects of their
// own (planWrite moves the reservations; migrating moves the entries and
// waiters), one ledger at a time. The
// objects are read live; a write that another writer beat is tried again
// shortly.
func (r *SeatRecounter) migrate(ctx context.Context, parts map[types.NamespacedName]*ledgerParts) (reconcile.Result, error) {
	for key, p := range parts {
		if !p.unmigrated() {
			continue
		}
		merged := p.merged()
		p.migrate = true
		_, err := writeParts(ctx, r.Writer, p, merged, unbounded, 0)
		if isRetryable(err) {
			return reconcile.Result{RequeueAfter: recountAfterConflict}, nil
		}
		if err != nil {
			return reconcile.Result{}, describeWrite(key, err)
		}
		ctrl.LoggerFrom(ctx).Info("Moved the seats of a ledger written by an earlier version into seat objects", "ledger", klog.KRef(key.Namespace, key.Name),
			"entries", len(p.main.Spec.Entries), "reservations", len(p.main.Spec.Reservations), "waiting", len(p.main.Spec.Waiting))
		// The recount goes on from the ledger as it is now.
		return reconcile.Result{RequeueAfter: recountAfterConflict}, nil
	}
	return reconcile.Result{}, nil
}

// withoutAdoptions leaves out of the repairs the admission UIDs to adopt
// (LedgerRepair.Adopted, AdoptedRides), and the repairs that had nothing
// else: an entry or a ride written with its Pod's admission UID matches
// that Pod for the Pod's life (licensing.EntryOfPod: by name, and a
// creation time within the grace of the admission), so writing the Pod's
// own UID into it would cost one write per admitted Pod, a seat object each,
// and change nothing anyone decides.
func withoutAdoptions(repairs []licensing.LedgerRepair) []licensing.LedgerRepair {
	out := repairs[:0]
	for _, rep := range repairs {
		rep.Adopted, rep.AdoptedRides = nil, nil
		if len(rep.Dropped)+len(rep.Added)+len(rep.DroppedRides) > 0 {
			out = append(out, rep)
		}
	}
	return out
}

// applyRides writes a recount's changes of the rides of Kueue Workloads'
// reservations into l: the rides of Pods that are gone go.
func applyRides(l *licensingv1alpha1.SeatLedger, rep licensing.LedgerRepair) {
	for _, d := range rep.DroppedRides {
		if i := reservationOf(l, d.UID, d.PodSet); i >= 0 {
			r := &l.Spec.Reservations[i]
			r.Rides = slices.DeleteFunc(r.Rides, func(e licensingv1alpha1.SeatLedgerEntry) bool { return e.Pod == d.Entry.Pod && e.UID == d.Entry.UID })
			if len(r.Rides) == 0 {
				r.Rides = nil
			}
		}
	}
}

// labelHolders labels licensingv1alpha1.LicensedLabel the live Pods that
// hold a seat without it: Pods admitted before the operator labelled the
// Pods it admits, and running Pods whose update made them need a seat (a
// validating webhook cannot label them). The operator's Pod cache holds
// only labelled Pods: unlabelled holders are invisible to it, and the
// recount's view of them from the cache is that they are gone, which is
// what brought it here to read them live.
func (r *SeatRecounter) labelHolders(ctx context.Context, in licensing.RecountInput) error {
	byName := make(map[string]*corev1.Pod, len(in.Pods))
	for i := range in.Pods {
		byName[in.Pods[i].Name] = &in.Pods[i]
	}
	for i := range in.Ledgers {
		for _, e := range in.Ledgers[i].Spec.Entries {
			p, ok := byName[e.Pod]
			if !ok || p.Labels[licensingv1alpha1.LicensedLabel] == licensingv1alpha1.LicensedLabelValue || licensing.PodTerminal(p) || !licensing.EntryOfPod(e.UID, e.Admitted.Time, p, r.Grace) {
				continue
			}
			patch := client.MergeFrom(p.DeepCopy())
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			p.Labels[licensingv1alpha1.LicensedLabel] = licensingv1alpha1.LicensedLabelValue
			if err := r.Writer.Patch(ctx, p, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("labelling seat holder %s/%s: %w", p.Namespace, p.Name, err)
			}
			ctrl.LoggerFrom(ctx).V(1).Info("Labelled a seat holder the Pod cache did not see", "pod", klog.KObj(p))
		}
	}
	return nil
}

// input reads what the recount of namespace ns needs. Pods come from
// podReader and ledgers from ledgerReader (the cache, or the API server),
// Pods first: a Pod is stored after its entry is written, so a ledger read
// after a Pod shows the Pod's entry.
func (r *SeatRecounter) input(ctx context.Context, ns string, podReader, ledgerReader client.Reader) (licensing.RecountInput, map[types.NamespacedName]*ledgerParts, error) {
	in := licensing.RecountInput{Now: r.Clock.Now(), Grace: r.Grace, Namespace: ns, Releasing: r.releasing.snapshot()}
	pods := &corev1.PodList{}
	if err := podReader.List(ctx, pods, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return in, nil, fmt.Errorf("listing Pods: %w", err)
	}
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := ledgerReader.List(ctx, ledgers, client.InNamespace(ns)); err != nil {
		return in, nil, fmt.Errorf("listing seat ledgers: %w", err)
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	if err := r.Cache.List(ctx, asgs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return in, nil, fmt.Errorf("listing LicenseAssignments: %w", err)
	}
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.Cache.List(ctx, products, client.UnsafeDisableDeepCopy); err != nil {
		return in, nil, fmt.Errorf("listing LicenseProducts: %w", err)
	}
	licences := &licensingv1alpha1.SoftwareLicenseList{}
	if err := r.Cache.List(ctx, licences, client.UnsafeDisableDeepCopy); err != nil {
		return in, nil, fmt.Errorf("listing SoftwareLicenses: %w", err)
	}
	namespace := &corev1.Namespace{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Name: ns}, namespace); err == nil {
		in.NamespaceLabels = namespace.Labels
	}
	in.Pods, in.Ledgers, in.Assignments, in.Products, in.Licenses = pods.Items, licensing.MergeSeatLedgers(ledgers.Items), asgs.Items, products.Items, licences.Items
	return in, splitLedgers(ledgers.Items), nil
}

// graceEnd is when the first entry whose Pod does not exist leaves its
// admission grace (the recount then drops it), or 0 when there is none.
func (r *SeatRecounter) graceEnd(in licensing.RecountInput) time.Duration {
	exists := make(map[string]bool, len(in.Pods))
	for i := range in.Pods {
		exists[in.Pods[i].Name] = true
	}
	var next time.Duration
	for i := range in.Ledgers {
		entries := in.Ledgers[i].Spec.Entries
		for _, r := range in.Ledgers[i].Spec.Reservations {
			entries = append(slices.Clip(entries), r.Rides...)
		}
		for _, e := range entries {
			if exists[e.Pod] {
				continue
			}
			if d := e.Admitted.Add(r.Grace).Sub(in.Now) + time.Second; d > 0 && (next == 0 || d < next) {
				next = d
			}
		}
	}
	return next
}
