package seats

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
)

// EventWaitingForSeat is the reason of the Normal event on a Pod that waits
// in line: its position, and who holds the seats.
const EventWaitingForSeat = "WaitingForSeat"

// EventSeatTaken is the reason of the Normal event on a Pod whose seat the
// queue controller took and whose gate it removed.
const EventSeatTaken = "SeatTaken"

// positionEventInterval throttles the position events of one Pod: a Pod
// whose place changes many times a second gets one event a second.
const positionEventInterval = time.Second

// nearHead is how many places at the head of a line are told every change
// of position (throttled by positionEventInterval); a Pod further back, whose
// place changes with every seat freed, is told at most every ten intervals,
// so that a long line does not cost an event per waiting Pod per free.
const nearHead = 10

// positionEventEvery is how often a Pod at pos may be told a new position.
func positionEventEvery(pos int) time.Duration {
	if pos <= nearHead {
		return positionEventInterval
	}
	return 10 * positionEventInterval
}

// QueueController serves the lines of the seat ledgers: when a seat frees
// (a holder's Pod is gone or finished and the releaser removed its entry, the
// assignment grew, the licence was renewed or resumed), it decides with
// licensing.TakeSeats who in line takes it, writes the ledger with
// compare-and-swap (the same ledger and rule as the admission webhook, so
// the Hard limit holds across both, and across replicas), then removes the
// scheduling gate licensingv1alpha1.SeatGate of each Pod that holds a seat
// and is still gated. The last step also makes it crash-safe: a seat taken
// for a Pod whose gate was not removed yet (the operator stopped between
// the two writes) is given to it on the next pass, which every ledger gets
// when the controller starts; a Pod in line that is gone (confirmed with a
// live GET, never from the cache alone) leaves the line.
//
// It writes an event on each waiting Pod whose place in line changed
// (throttled), and observes metrics.SeatWaitSeconds for each Pod it ungates.
type QueueController struct {
	// Cache reads assignments, licences, ledgers and (licensed) Pods.
	Cache client.Reader
	// Reader reads ledgers and Pods live.
	Reader client.Reader
	// Writer updates Pods (the gate).
	Writer client.Client
	Ledger *Ledger
	Clock  clock.PassiveClock
	// Grace spares waiters whose Pod is not stored yet (LedgerGrace).
	Grace    time.Duration
	Recorder events.EventRecorder

	mu sync.Mutex
	// told is the last position event of each waiting Pod (by ledger and Pod name).
	told map[string]toldPosition
}

type toldPosition struct {
	position int
	at       time.Time
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;update

// SetupWithManager registers the controller. Its requests name a ledger.
func (r *QueueController) SetupWithManager(mgr ctrl.Manager) error {
	ledgerOf := func(ns, asg string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: LedgerName(asg)}}
	}
	ledgers := handler.TypedFuncs[*licensingv1alpha1.SeatLedger, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// Every main ledger once at start: a seat taken for a Pod still
			// gated is given to it (a Pod that waited has a main ledger).
			// A seat taken is no work for the line.
			// A Pod joining the line is.
			switch {
			case licensing.IsWaiterObject(e.Object):
				q.Add(ledgerOf(e.Object.Namespace, e.Object.Spec.Assignment))
			case licensing.IsLedgerPart(e.Object):
			case e.Object.Spec.Assignment != "" || len(e.Object.Spec.Waiting) > 0:
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)})
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// A seat freed: the head of the line may take it; a Pod left
			// the line: the others' positions changed.
			if licensing.IsLedgerPart(e.Object) {
				q.Add(ledgerOf(e.Object.Namespace, e.Object.Spec.Assignment))
			}
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.SeatLedger], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			// Only a ledger with a line, or one that had one (its last
			// decision granted seats to gated Pods), has work here.
			switch {
			case len(e.ObjectNew.Spec.Waiting) == 0 && len(e.ObjectOld.Spec.Waiting) == 0:
			case e.ObjectNew.Spec.Assignment != "":
				q.Add(ledgerOf(e.ObjectNew.Namespace, e.ObjectNew.Spec.Assignment))
			default: // the uses of a licence
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.ObjectNew)})
			}
		},
	}
	asgs := handler.TypedFuncs[*licensingv1alpha1.LicenseAssignment, reconcile.Request]{
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.LicenseAssignment], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, n := e.ObjectOld, e.ObjectNew
			if o.Status.State != n.Status.State || o.Status.Seats != n.Status.Seats || o.Spec.Seats != n.Spec.Seats || o.Status.License != n.Status.License {
				q.Add(ledgerOf(n.Namespace, n.Name))
			}
		},
	}
	licences := handler.TypedFuncs[*licensingv1alpha1.SoftwareLicense, reconcile.Request]{
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*licensingv1alpha1.SoftwareLicense], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			o, n := e.ObjectOld, e.ObjectNew
			if o.Status.State == n.Status.State && enforcementOf(o) == enforcementOf(n) {
				return
			}
			list := &licensingv1alpha1.LicenseAssignmentList{}
			if err := r.Cache.List(ctx, list); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Listing LicenseAssignments to serve their lines after a licence change", "license", klog.KObj(n))
				return
			}
			// Its line of uses, and the lines of its assignments' seats.
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: n.Namespace, Name: UsesLedgerName(n.Name)}})
			key := licensing.LicenseKey(n)
			for i := range list.Items {
				if list.Items[i].Status.License == key {
					q.Add(ledgerOf(list.Items[i].Namespace, list.Items[i].Name))
				}
			}
		},
	}
	// A gated Pod that the cache sees late (its ledger was served before
	// it was stored) brings its ledgers back.
	pods := handler.TypedFuncs[*corev1.Pod, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if Gated(e.Object) {
				r.enqueueLedgersOf(ctx, e.Object, q)
			}
		},
	}
	return builder.TypedControllerManagedBy[reconcile.Request](mgr).
		Named("seatqueue").
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.SeatLedger{}, ledgers)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.LicenseAssignment{}, asgs)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &licensingv1alpha1.SoftwareLicense{}, licences)).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.Pod{}, pods)).
		Complete(r)
}

func enforcementOf(l *licensingv1alpha1.SoftwareLicense) licensingv1alpha1.Enforcement {
	if p := l.Status.EffectivePolicy; p != nil && p.Enforcement != nil {
		return *p.Enforcement
	}
	return ""
}

// enqueueLedgersOf adds the ledgers of the Pod's namespace that hold or queue a Pod of its name.
func (r *QueueController) enqueueLedgersOf(ctx context.Context, p *corev1.Pod, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	list := &licensingv1alpha1.SeatLedgerList{}
	if err := r.Cache.List(ctx, list, client.InNamespace(p.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	for i := range list.Items {
		l := &list.Items[i]
		if l.Spec.Assignment != "" && (entryOf(l, p.Name) >= 0 || waiterOf(l, p.Name) >= 0) {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: l.Namespace, Name: LedgerName(l.Spec.Assignment)}})
		}
	}
}

// Gated says whether the Pod carries the seat's scheduling gate.
func Gated(p *corev1.Pod) bool { return licensing.SeatGated(p) }

// Reconcile serves the line of one ledger and ungates its holders.
func (r *QueueController) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("ledger", klog.KRef(req.Namespace, req.Name))
	ctx = ctrl.LoggerInto(ctx, log)
	cached, err := r.cachedLedger(ctx, req.NamespacedName)
	if err == nil && len(cached.Spec.Waiting) == 0 && !r.anyGatedHolder(ctx, cached) {
		// Nothing in line and nobody gated: no work, and no API call.
		r.forgetLedger(req.NamespacedName)
		return reconcile.Result{}, nil
	}
	if cached.Spec.License != "" {
		return r.serveUses(ctx, req.NamespacedName, cached.Spec.License)
	}
	asgName := cached.Spec.Assignment
	asg := &licensingv1alpha1.LicenseAssignment{}
	var asgp *licensingv1alpha1.LicenseAssignment
	if asgName != "" {
		if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: asgName}, asg); err == nil {
			asgp = asg
		} else if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
	}
	var lic *licensingv1alpha1.SoftwareLicense
	if asgp != nil && asgp.Status.License != "" {
		l := &licensingv1alpha1.SoftwareLicense{}
		ns, name := splitKey(asgp.Status.License)
		if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, l); err == nil {
			lic = l
		} else if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
	}

	var (
		decision licensing.SeatDecision
		granted  []licensing.Waiter
		after    *licensingv1alpha1.SeatLedger
		state    licensing.SeatState
	)
	err = r.Ledger.ServeWithin(ctx, req.NamespacedName, func() int { return seatLimit(state) }, func(cm *licensingv1alpha1.SeatLedger) (bool, error) {
		changed, err := r.dropGone(ctx, cm)
		if err != nil {
			return false, err
		}
		state = licensing.LineState(licensing.HeldSeats(&cm.Spec), asgp, lic)
		decision = licensing.TakeSeats(state, Line(cm, ""))
		granted = decision.Granted
		if ApplySeatDecision(cm, decision, r.Clock.Now()) {
			changed = true
		}
		if cm.Spec.Blocked != state.Blocked && (len(cm.Spec.Waiting) > 0 || state.Blocked == "") {
			cm.Spec.Blocked, changed = state.Blocked, true
		}
		after = cm
		return changed, nil
	})
	if apierrors.IsNotFound(err) {
		r.forgetLedger(req.NamespacedName)
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(granted) > 0 {
		log.V(1).Info("Took seats for Pods in line", "pods", len(granted), "waiting", len(decision.Line))
	}
	product := productOf(lic)
	if err := r.ungate(ctx, after, product); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: r.tellPositions(ctx, after, decision, asgName, lic, product)}, nil
}

// cachedLedger is the ledger key as the cache has it, merged from its
// objects (a licence's uses ledger is one object). It is an empty ledger when
// none exists, with the error NotFound.
func (r *QueueController) cachedLedger(ctx context.Context, key types.NamespacedName) (*licensingv1alpha1.SeatLedger, error) {
	l, err := readMerged(ctx, r.Cache, key)
	if err != nil {
		return &licensingv1alpha1.SeatLedger{}, err
	}
	return l, nil
}

// seatLimit is the seat indices a grant of state may take: its seats, or
// unbounded under Soft enforcement.
func seatLimit(state licensing.SeatState) int {
	if state.Enforcement == licensingv1alpha1.EnforcementSoft {
		return unbounded
	}
	return int(state.Seats)
}

// anyGatedHolder says whether a holder's Pod, as the cache has it, is still gated.
func (r *QueueController) anyGatedHolder(ctx context.Context, l *licensingv1alpha1.SeatLedger) bool {
	for _, e := range l.Spec.Entries {
		p := &corev1.Pod{}
		if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: e.Pod}, p); err == nil && Gated(p) {
			return true
		}
	}
	return false
}

// dropGone removes from the line the Pods that are gone, finished or
// replaced (licensing.StaleLedgerEntries, past the admission grace),
// confirmed by reading each live.
func (r *QueueController) dropGone(ctx context.Context, cm *licensingv1alpha1.SeatLedger) (bool, error) {
	now := r.Clock.Now()
	asEntries := make([]licensingv1alpha1.SeatLedgerEntry, 0, len(cm.Spec.Waiting))
	for _, w := range cm.Spec.Waiting {
		if now.Sub(w.Queued.Time) >= r.Grace {
			// Keyed namespace/name: a licence's line of uses holds Pods of
			// the namespaces the licence is shared with.
			asEntries = append(asEntries, licensingv1alpha1.SeatLedgerEntry{Pod: waiterNamespace(cm, w) + "/" + w.Pod, UID: w.UID, Admitted: metav1.NewTime(w.Queued.Time)})
		}
	}
	if len(asEntries) == 0 {
		return false, nil
	}
	byName := map[string]*corev1.Pod{}
	for _, e := range asEntries {
		ns, name, _ := strings.Cut(e.Pod, "/")
		key := types.NamespacedName{Namespace: ns, Name: name}
		cached := &corev1.Pod{}
		err := r.Cache.Get(ctx, key, cached)
		if err == nil && !licensing.PodTerminal(cached) && licensing.EntryOfPod(e.UID, e.Admitted.Time, cached, r.Grace) {
			byName[e.Pod] = cached
			continue // the cache shows it alive: no need to ask the API server
		}
		live := &corev1.Pod{}
		err = r.Reader.Get(ctx, key, live)
		switch {
		case err == nil:
			byName[e.Pod] = live
		case !apierrors.IsNotFound(err):
			return false, fmt.Errorf("reading Pod %s: %w", key, err)
		}
	}
	stale := licensing.StaleLedgerEntries(asEntries, byName, now, r.Grace)
	if len(stale) == 0 {
		return false, nil
	}
	drop := map[string]bool{}
	for _, d := range stale {
		drop[d.Entry.Pod] = true
	}
	cm.Spec.Waiting = slices.DeleteFunc(cm.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool { return drop[waiterNamespace(cm, w)+"/"+w.Pod] })
	return true, nil
}

// ungate removes the seat gate of every holder's Pod that still has it:
// the seat is taken for it. It reads each such Pod live and updates it with
// that resourceVersion; a Pod of the entry's name that is not the entry's
// Pod is left alone.
func (r *QueueController) ungate(ctx context.Context, l *licensingv1alpha1.SeatLedger, product string) error {
	if l == nil {
		return nil
	}
	now := r.Clock.Now()
	// A Pod that holds an entry and still waits is a grant another writer
	// has not finished (licensing.PendingGrants): its seat may be undone.
	pending := licensing.PendingGrants(&l.Spec)
	for _, e := range l.Spec.Entries {
		if pending[e.Pod] {
			continue
		}
		p, err := r.ungatePod(ctx, types.NamespacedName{Namespace: l.Namespace, Name: e.Pod}, licensingv1alpha1.SeatGate, e.UID, e.Admitted.Time)
		if err != nil {
			return err
		}
		if p == nil {
			continue
		}
		waited := now.Sub(e.Admitted.Time)
		metrics.SeatWaitSeconds.WithLabelValues(product).Observe(waited.Seconds())
		if r.Recorder != nil {
			r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, EventSeatTaken, "TakeSeat",
				"Took a seat of product %q on assignment %s after %s in line; scheduling gate %s removed",
				product, l.Spec.Assignment, waited.Round(time.Millisecond), licensingv1alpha1.SeatGate)
		}
		r.forgetPod(l, e.Pod)
	}
	return nil
}

// ungatePod removes the scheduling gate gate of the Pod key when it still has it
// and is the Pod of uid (admitted then, licensing.EntryOfPod), reading it
// live and updating it with that resourceVersion. It returns the Pod it
// ungated, or nil when there was nothing to do (not gated, gone, or
// another Pod of that name).
func (r *QueueController) ungatePod(ctx context.Context, key types.NamespacedName, gate, uid string, admitted time.Time) (*corev1.Pod, error) {
	has := func(p *corev1.Pod) bool { return licensing.HasSchedulingGate(p, gate) }
	cached := &corev1.Pod{}
	if err := r.Cache.Get(ctx, key, cached); err == nil && !has(cached) {
		return nil, nil
	}
	// Gated, or not in the cache yet (just stored): read it live.
	for attempt := 0; ; attempt++ {
		p := &corev1.Pod{}
		if err := r.Reader.Get(ctx, key, p); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil // gone: the releaser gives its seat back
			}
			return nil, fmt.Errorf("reading Pod %s: %w", key, err)
		}
		if !has(p) || !licensing.EntryOfPod(uid, admitted, p, r.Grace) {
			return nil, nil
		}
		p.Spec.SchedulingGates = slices.DeleteFunc(p.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == gate })
		err := r.Writer.Update(ctx, p)
		switch {
		case apierrors.IsConflict(err) && attempt < 5:
			continue
		case apierrors.IsNotFound(err):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("removing the seat gate of Pod %s: %w", key, err)
		}
		return p, nil
	}
}

// tellPositions writes an event on each waiting Pod whose place changed
// since it was last told, at most one per positionEventInterval; it
// returns when to come back for a Pod whose event was held back (0: none).
func (r *QueueController) tellPositions(ctx context.Context, l *licensingv1alpha1.SeatLedger, d licensing.SeatDecision, asg string, lic *licensingv1alpha1.SoftwareLicense, product string) time.Duration {
	if l == nil || r.Recorder == nil {
		return 0
	}
	now := r.Clock.Now()
	holders := holders(l)
	seats := int32(0)
	licence := ""
	if lic != nil {
		licence = licensing.LicenseKey(lic)
	}
	var later time.Duration
	stopped := d.Stopped
	if l.Spec.Blocked != "" {
		stopped = l.Spec.Blocked
	}
	for i, w := range d.Line {
		pos := i + 1
		key := l.Namespace + "/" + l.Name + "/" + w.Pod
		r.mu.Lock()
		last, ok := r.told[key]
		r.mu.Unlock()
		if ok && last.position == pos {
			continue
		}
		if every := positionEventEvery(pos); ok && now.Sub(last.at) < every {
			if wait := every - now.Sub(last.at); later == 0 || wait < later {
				later = wait
			}
			continue
		}
		p := &corev1.Pod{}
		if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: w.Pod}, p); err != nil {
			continue // not in the cache yet: its creation brings the ledger back
		}
		if seats == 0 {
			seats = seatsOf(r, ctx, l)
		}
		msg := licensing.WaitingEventMessage(product, asg, licence, licensing.LinePlace{
			Position: pos, Waiting: len(d.Line), Used: licensing.HeldSeats(&l.Spec), Seats: seats, Holders: holders, Stopped: stopped,
		})
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, EventWaitingForSeat, waitingAction(pos), "%s", msg)
		r.mu.Lock()
		if r.told == nil {
			r.told = map[string]toldPosition{}
		}
		r.told[key] = toldPosition{position: pos, at: now}
		r.mu.Unlock()
	}
	return later
}

// waitingAction is the action of the position event of a Pod at position
// pos. The events.k8s.io recorder turns an event whose type, reason, action
// and regarding object are those of one it wrote less than 6 minutes ago
// into a series of that event, which keeps the first note: with one action
// for every position, a Pod would show the position it was first told for
// minutes. Each position is its own event.
func waitingAction(pos int) string { return fmt.Sprintf("QueuePosition%d", pos) }

func seatsOf(r *QueueController, ctx context.Context, l *licensingv1alpha1.SeatLedger) int32 {
	a := &licensingv1alpha1.LicenseAssignment{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: l.Spec.Assignment}, a); err != nil {
		return 0
	}
	return licensing.AssignmentSeats(a)
}

func (r *QueueController) forgetPod(l *licensingv1alpha1.SeatLedger, pod string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.told, l.Namespace+"/"+l.Name+"/"+pod)
}

func (r *QueueController) forgetLedger(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prefix := key.Namespace + "/" + key.Name + "/"
	for k := range r.told {
		if strings.HasPrefix(k, prefix) {
			delete(r.told, k)
		}
	}
}

// productOf is the product label of a licence's Pods ("" when unknown).
func productOf(l *licensingv1alpha1.SoftwareLicense) string {
	if l == nil {
		return ""
	}
	if l.Status.Product != nil && l.Status.Product.Name != "" {
		return l.Status.Product.Name
	}
	if l.Spec.ProductRef != nil {
		return l.Spec.ProductRef.Name
	}
	return ""
}

// splitKey splits a licence key "namespace/name" (licensing.LicenseKey).
func splitKey(key string) (namespace, name string) {
	namespace, name, _ = strings.Cut(key, "/")
	return namespace, name
}

// Serve reads the ledger live under this replica's lock of it, lets change
// edit it, and writes it with the resourceVersion it read when change says
// it changed (compare-and-swap); on a conflict it reads and changes again.
// It returns NotFound when the ledger does not exist.
func (l *Ledger) Serve(ctx context.Context, key types.NamespacedName, change func(*licensingv1alpha1.SeatLedger) (bool, error)) error {
	return l.ServeWithin(ctx, key, func() int { return unbounded }, change)
}

// ServeWithin is Serve for a change that may take seats: limit, called
// after change, is the number of seats the ledger's assignment has (the
// seat indices a write may take), or unbounded.
func (l *Ledger) ServeWithin(ctx context.Context, key types.NamespacedName, limit func() int, change func(*licensingv1alpha1.SeatLedger) (bool, error)) error {
	s := l.slot(key)
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	for {
		cm, before, _, err := l.read(ctx, s, key, true)
		if err != nil {
			return err
		}
		changed, err := change(cm)
		if err != nil || !changed {
			return err
		}
		err = l.write(ctx, s, before, cm, limit())
		if isRetryable(err) {
			continue
		}
		if err != nil {
			return describeWrite(key, err)
		}
		return nil
	}
}
