package seats

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
)

// EventUseTaken is the reason of the Normal event on a Pod whose use of a
// consumption licence the queue controller took and whose gate it removed.
const EventUseTaken = "UseTaken"

// serveUses serves the line of a licence's uses (the use ledger key of
// licence): Pods that found the consumption limit reached wait, gated, for
// the next period. In line order (licensing.LineOrder), each Pod takes a use
// while licensing.DecideUse allows it in the current period, the first
// refusal stopping the line (strict, as for seats); the uses are written
// with compare-and-swap in the same ledger as admission's, then the Pods
// are ungated. A licence that admits nothing in its state keeps its line.
// It comes back at the period's reset while Pods wait.
func (r *QueueController) serveUses(ctx context.Context, key types.NamespacedName, licence string) (reconcile.Result, error) {
	lic := &licensingv1alpha1.SoftwareLicense{}
	if err := r.Cache.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: licence}, lic); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil // the ledger goes with it
		}
		return reconcile.Result{}, err
	}
	now := r.Clock.Now()
	period, err := licensing.CurrentUsePeriod(lic, now)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("the consumption period of licence %s: %w", licensing.LicenseKey(lic), err)
	}
	var (
		granted []licensingv1alpha1.SeatLedgerWaiter
		waiting int
	)
	err = r.Ledger.Serve(ctx, key, func(led *licensingv1alpha1.SeatLedger) (bool, error) {
		granted = nil
		changed, err := r.dropGone(ctx, led)
		if err != nil {
			return false, err
		}
		blocked := ""
		if !licensing.UsableForAdmission(lic.Status.State) {
			blocked = fmt.Sprintf("licence %s is %s", licensing.LicenseKey(lic), lic.Status.State)
		} else {
			uses := licensing.UsesInPeriod(led.Spec.Uses, period.Start)
			for _, w := range useLine(led) {
				ns := waiterNamespace(led, w)
				d := licensing.DecideUse(licensing.UseInput{
					License: lic, Pod: fmt.Sprintf("Pod %s/%s", ns, w.Pod), Features: w.Features,
					Period: period, Uses: uses, Reported: ReportedUsage(lic, period.Start),
				})
				if !d.Allowed {
					break
				}
				uses = licensing.AddPendingUse(uses, licensingv1alpha1.PendingUse{
					UID: w.UID, Namespace: ns, Pod: w.Pod, Features: w.Features, Admitted: metav1.NewTime(w.Queued.Time),
				})
				granted = append(granted, w)
			}
			if len(granted) > 0 {
				led.Spec.Uses = &uses
				led.Spec.Waiting = slices.DeleteFunc(led.Spec.Waiting, func(w licensingv1alpha1.SeatLedgerWaiter) bool {
					return slices.ContainsFunc(granted, func(g licensingv1alpha1.SeatLedgerWaiter) bool { return g.UID == w.UID })
				})
				changed = true
			}
		}
		if led.Spec.Blocked != blocked {
			led.Spec.Blocked, changed = blocked, true
		}
		waiting = len(led.Spec.Waiting)
		return changed, nil
	})
	if apierrors.IsNotFound(err) {
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	for _, w := range granted {
		ns := w.Namespace
		if ns == "" {
			ns = key.Namespace
		}
		p, err := r.ungatePod(ctx, types.NamespacedName{Namespace: ns, Name: w.Pod}, licensingv1alpha1.UseGate, w.UID, w.Queued.Time)
		if err != nil {
			return reconcile.Result{}, err
		}
		if p == nil {
			continue
		}
		waited := now.Sub(w.Queued.Time)
		metrics.SeatWaitSeconds.WithLabelValues(productOf(lic)).Observe(waited.Seconds())
		if r.Recorder != nil {
			r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, EventUseTaken, "TakeUse",
				"Took a use of licence %s in the consumption period from %s after %s in line; scheduling gate %s removed",
				licensing.LicenseKey(lic), period.Start.UTC().Format(time.RFC3339), waited.Round(time.Millisecond), licensingv1alpha1.UseGate)
		}
	}
	if len(granted) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("Took uses for Pods in line", "pods", len(granted), "waiting", waiting)
	}
	if waiting > 0 && period.Next != nil {
		// The next period resets the counts: come back then.
		return reconcile.Result{RequeueAfter: max(period.Next.Sub(now), 0) + 10*time.Millisecond}, nil
	}
	return reconcile.Result{}, nil
}

// useLine is the line of a use ledger in licensing.LineOrder (its Pods
// named namespace/name, as the line holds Pods of several namespaces).
func useLine(led *licensingv1alpha1.SeatLedger) []licensingv1alpha1.SeatLedgerWaiter {
	line := make([]licensing.Waiter, 0, len(led.Spec.Waiting))
	byUID := make(map[string]licensingv1alpha1.SeatLedgerWaiter, len(led.Spec.Waiting))
	for _, w := range led.Spec.Waiting {
		line = append(line, licensing.Waiter{Pod: waiterNamespace(led, w) + "/" + w.Pod, UID: w.UID, Priority: w.Priority, Queued: w.Queued.Time})
		byUID[w.UID] = w
	}
	licensing.LineOrder(line)
	out := make([]licensingv1alpha1.SeatLedgerWaiter, 0, len(line))
	for _, w := range line {
		out = append(out, byUID[w.UID])
	}
	return out
}
