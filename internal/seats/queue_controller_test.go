package seats

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// A waiter past the admission grace stays in line while its Pod exists, and
// leaves it when its Pod is gone; waiters of a licence's line of uses are
// looked up in their own namespaces. (A waiter older than the grace used to
// be looked up under a name without its namespace, and the line stopped.)
func TestDropGoneKeepsLiveWaitersPastTheGrace(t *testing.T) {
	alive := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "alive", Namespace: ns, UID: "u-alive", CreationTimestamp: metav1.NewTime(t0)}}
	elsewhere := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "shared", UID: "u-other", CreationTimestamp: metav1.NewTime(t0)}}
	h := newLedgerHarness(t, interceptor.Funcs{}, alive, elsewhere)
	h.clock.SetTime(t0.Add(2 * LedgerGrace))
	r := &QueueController{Cache: h.c, Reader: h.c, Writer: h.c, Ledger: h.ledger, Clock: h.clock, Grace: LedgerGrace}

	l := ledgerOf().Waiter("alive", "u-alive", 0, t0).Waiter("gone", "u-gone", 0, t0).Obj()
	l.Spec.Waiting = append(l.Spec.Waiting, licensingv1alpha1.SeatLedgerWaiter{Pod: "other", UID: "u-other", Namespace: "shared", Queued: metav1.NewMicroTime(t0)})
	changed, err := r.dropGone(context.Background(), l)
	if err != nil {
		t.Fatalf("dropGone: %v", err)
	}
	if !changed {
		t.Fatal("the waiter whose Pod is gone was not dropped")
	}
	var left []string
	for _, w := range l.Spec.Waiting {
		left = append(left, waiterNamespace(l, w)+"/"+w.Pod)
	}
	if diff := cmp.Diff([]string{ns + "/alive", "shared/other"}, left); diff != "" {
		t.Errorf("the line after dropGone (-want +got):\n%s", diff)
	}
}
