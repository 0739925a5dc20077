package seats

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The uses of a licence (one per Pod it admits when it is a Consumption
// licence, and one per Pod asking for a feature with maxConsumption) are
// kept in a SeatLedger of the licence's namespace with spec.license, owned
// by the licence, written by the webhook with compare-and-swap exactly like
// the seat ledgers (ledger.go): two replicas cannot both take the last use.
// It holds the counts of the current period plus the uses of the Pods
// admitted in the last moments (spec.uses.pending, one per Pod UID: a
// reinvocation or retry of the same Pod takes no second use); the recount
// (UseRecounter) confirms those against the stored Pods and drops the uses
// of Pods that were never stored. The decisions are licensing.DecideUse and
// licensing.SettleUses.

// UsesLedgerName is the name of the SeatLedger that counts the uses of a licence.
func UsesLedgerName(licence string) string { return licensing.UsesLedgerName(licence) }

// ConsumptionExhaustedReason is the reason of the Warning event on a licence
// whose consumption limit an admitted Pod reached.
const ConsumptionExhaustedReason = "ConsumptionExhausted"

// consumptionExhausted counts the times a licence's consumption limit was
// reached by an admitted Pod (once per period and licence), and
// consumptionRefused the Pods refused because it was.
var (
	consumptionExhausted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_consumption_exhausted_total",
		Help: "Times a Consumption licence reached its limit (maxConsumptions plus the allowed overages) in a period, by licence.",
	}, []string{"namespace", "license"})
	consumptionRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "license_operator_consumption_refused_pods_total",
		Help: "Pods refused because a licence's consumption limit, or a feature's maxConsumption, was reached, by licence.",
	}, []string{"namespace", "license"})
)

func init() {
	metrics.Registry.MustRegister(consumptionExhausted, consumptionRefused)
}

// UseLedger takes and gives back the uses of licences.
type UseLedger struct {
	// Reader reads live from the API server (never a cache).
	Reader   client.Reader
	Writer   client.Client
	Clock    clock.PassiveClock
	Recorder events.EventRecorder

	mu    sync.Mutex
	locks map[types.NamespacedName]*sync.Mutex
}

// lock serialises this replica's writes of one ledger (the API server's
// compare-and-swap protects them across replicas).
func (l *UseLedger) lock(key types.NamespacedName) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[types.NamespacedName]*sync.Mutex{}
	}
	m, ok := l.locks[key]
	if !ok {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// ReportedUsage is the usage the licence's assignments reported in the
// period that starts at start, as the licence's status keeps it (0 when the
// status is of another period).
func ReportedUsage(lic *licensingv1alpha1.SoftwareLicense, start time.Time) int64 {
	c := lic.Status.Consumption
	if c == nil || c.PeriodStart == nil || !licensing.SamePeriodStart(c.PeriodStart.Time, start) {
		return 0
	}
	return c.Reported
}

// Take takes the Pod's use of lic, unless licensing.DecideUse refuses it;
// dryRun decides and writes nothing. key is the ledger written. A write that
// meets another (Conflict) is decided again on the ledger as it is now.
func (l *UseLedger) Take(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, pod PodRef, features []string, dryRun bool) (licensing.UseDecision, types.NamespacedName, error) {
	return l.Ask(ctx, lic, UseAsk{Pod: pod, Features: features}, dryRun)
}

// UseAsk is what one admission asks of a licence's use ledger.
type UseAsk struct {
	Pod      PodRef
	Features []string
	// Queue joins the line of the licence's uses when the limit is
	// reached: the Pod waits, gated, for the next period.
	Queue bool
	// Priority is the Pod's spec.priority (the line's order).
	Priority int32
}

// Ask is Take, and with ask.Queue a Pod refused a use now joins the line of
// the licence's uses instead (spec.waiting of its use ledger): the queue
// controller takes its use when the period resets (use_queue.go).
func (l *UseLedger) Ask(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, ask UseAsk, dryRun bool) (licensing.UseDecision, types.NamespacedName, error) {
	key := types.NamespacedName{Namespace: lic.Namespace, Name: UsesLedgerName(lic.Name)}
	unlock := l.lock(key)
	defer unlock()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return licensing.UseDecision{}, key, errLedgerBusy
			case <-time.After(time.Duration(rand.Int64N(int64(2*time.Millisecond)*int64(min(attempt, 10)))) + time.Millisecond):
			}
		}
		d, written, err := l.try(ctx, lic, key, ask, dryRun)
		if err != nil || written {
			return d, key, err
		}
	}
}

// try is one attempt of Take on the ledger as read now: written is false
// when the write met another and the decision must be taken again.
func (l *UseLedger) try(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, key types.NamespacedName, ask UseAsk, dryRun bool) (d licensing.UseDecision, written bool, err error) {
	pod, features := ask.Pod, ask.Features
	now := l.Clock.Now()
	period, err := licensing.CurrentUsePeriod(lic, now)
	if err != nil {
		return d, false, fmt.Errorf("the consumption period of licence %s: %w", licensing.LicenseKey(lic), err)
	}
	led := &licensingv1alpha1.SeatLedger{}
	create := false
	if err := l.Reader.Get(ctx, key, led); apierrors.IsNotFound(err) {
		led, create = newUsesLedger(lic, key.Name), true
	} else if err != nil {
		return d, false, fmt.Errorf("reading use ledger %s: %w", key, err)
	}
	uses := licensing.UsesInPeriod(led.Spec.Uses, period.Start)
	if licensing.HasPendingUse(uses, string(pod.UID)) {
		return licensing.UseDecision{Allowed: true}, true, nil // a retry of the same Pod: the use is taken
	}
	if i := useWaiterOf(led, pod); i >= 0 {
		// A retry of a Pod in line: it keeps its place.
		line := Line(led, "")
		licensing.LineOrder(line)
		return licensing.UseDecision{Queued: true, Position: linePosition(line, pod), Waiting: len(line)}, true, nil
	}
	d = licensing.DecideUse(licensing.UseInput{
		License: lic, Pod: fmt.Sprintf("Pod %s/%s", pod.Namespace, pod.Name), Features: features,
		Period: period, Uses: uses, Reported: ReportedUsage(lic, period.Start),
	})
	if !d.Allowed && ask.Queue {
		line := append(Line(led, ""), licensing.Waiter{Pod: pod.Name, UID: string(pod.UID), Priority: ask.Priority, Queued: now})
		licensing.LineOrder(line)
		d.Queued, d.Position, d.Waiting = true, linePosition(line, pod), len(line)
		if dryRun {
			return d, true, nil
		}
		led.Spec.Waiting = append(led.Spec.Waiting, licensingv1alpha1.SeatLedgerWaiter{
			Pod: pod.Name, UID: string(pod.UID), Priority: ask.Priority, Queued: metav1.NewMicroTime(now),
			Namespace: pod.Namespace, Features: features,
		})
		written, err = l.write(ctx, led, create)
		return d, written, err
	}
	if !d.Allowed && !dryRun {
		consumptionRefused.WithLabelValues(lic.Namespace, lic.Name).Inc()
	}
	if !d.Allowed || dryRun {
		return d, true, nil
	}
	uses = licensing.AddPendingUse(uses, licensingv1alpha1.PendingUse{
		UID: string(pod.UID), Namespace: pod.Namespace, Pod: pod.Name, Features: features, Admitted: metav1.NewTime(now),
	})
	led.Spec.Uses = &uses
	if written, err = l.write(ctx, led, create); written && d.Exhausts {
		l.exhausted(lic, period)
	}
	return d, written, err
}

// write creates or updates the ledger with the resourceVersion it was read
// at; written is false when another write came first.
func (l *UseLedger) write(ctx context.Context, led *licensingv1alpha1.SeatLedger, create bool) (written bool, err error) {
	if create {
		err = l.Writer.Create(ctx, led)
	} else {
		err = updateLedger(ctx, l.Writer, led)
	}
	switch {
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("writing use ledger %s/%s: %w", led.Namespace, led.Name, err)
	}
	return true, nil
}

// exhausted marks the use that reached the licence's limit: exactly one per
// period, as the compare-and-swap lets only one Pod take it.
func (l *UseLedger) exhausted(lic *licensingv1alpha1.SoftwareLicense, period licensing.UsePeriod) {
	consumptionExhausted.WithLabelValues(lic.Namespace, lic.Name).Inc()
	if l.Recorder == nil {
		return
	}
	next := "never (no consumption.resetPeriod)"
	if period.Next != nil {
		next = period.Next.UTC().Format(time.RFC3339)
	}
	l.Recorder.Eventf(lic, nil, corev1.EventTypeWarning, ConsumptionExhaustedReason, "Admit",
		"Consumption limit reached (%s): further Pods are refused until the period resets at %s",
		licensing.ConsumptionLimitText(lic.Status.EffectivePolicy.Consumption), next)
}

// Release gives back the use of the Pod with uid (it was refused after its use was taken).
func (l *UseLedger) Release(ctx context.Context, key types.NamespacedName, uid types.UID) error {
	unlock := l.lock(key)
	defer unlock()
	for {
		led := &licensingv1alpha1.SeatLedger{}
		if err := l.Reader.Get(ctx, key, led); err != nil {
			return client.IgnoreNotFound(err)
		}
		waits := slices.ContainsFunc(led.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool { return w.UID == string(uid) })
		if !waits && (led.Spec.Uses == nil || !licensing.HasPendingUse(*led.Spec.Uses, string(uid))) {
			return nil
		}
		if waits {
			led.Spec.Waiting = slices.DeleteFunc(led.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool { return w.UID == string(uid) })
		} else {
			u := licensing.RemovePendingUse(*led.Spec.Uses, string(uid))
			led.Spec.Uses = &u
		}
		err := updateLedger(ctx, l.Writer, led)
		if apierrors.IsConflict(err) {
			continue
		}
		return client.IgnoreNotFound(err)
	}
}

// useWaiterOf is the index of the Pod's place in the line of a use ledger
// (by namespace and name, with the Pod's UID), or -1.
func useWaiterOf(led *licensingv1alpha1.SeatLedger, pod PodRef) int {
	for i, w := range led.Spec.Waiting {
		if w.Pod == pod.Name && waiterNamespace(led, w) == pod.Namespace && w.UID == string(pod.UID) {
			return i
		}
	}
	return -1
}

// waiterNamespace is the namespace of a waiting Pod.
func waiterNamespace(led *licensingv1alpha1.SeatLedger, w licensingv1alpha1.SeatLedgerWaiter) string {
	if w.Namespace != "" {
		return w.Namespace
	}
	return led.Namespace
}

// linePosition is the place (from 1) of the Pod in an ordered line, or 0.
func linePosition(line []licensing.Waiter, pod PodRef) int {
	for i, w := range line {
		if w.Pod == pod.Name && w.UID == string(pod.UID) {
			return i + 1
		}
	}
	return 0
}

// newUsesLedger is an empty use ledger of the licence, owned by it.
func newUsesLedger(lic *licensingv1alpha1.SoftwareLicense, name string) *licensingv1alpha1.SeatLedger {
	return &licensingv1alpha1.SeatLedger{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: lic.Namespace,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: licensingv1alpha1.GroupVersion.String(),
				Kind:       "SoftwareLicense",
				Name:       lic.Name,
				UID:        lic.UID,
				Controller: ptr.To(true),
			}},
		},
		Spec: licensingv1alpha1.SeatLedgerSpec{License: lic.Name},
	}
}
