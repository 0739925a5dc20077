package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// A restarted manager's first pass over a licence whose status is already
// right writes nothing. It used to patch every licence once after a start
// (an empty merge patch: N writes per restart, 83 min of them at 100,000
// licences and 20 QPS) when the computed status differed from the stored
// one only in what JSON does not keep: a time below the second, which the
// API server drops. Here the licence's start (its creationTimestamp, as it
// has no startDate) carries nanoseconds in memory, as an object of this
// process's own can.
func TestSoftwareLicenseRestartWritesNothing(t *testing.T) {
	lic := ut.MakeLicense("cad-1", "team-a").Product("cad").Seats(5).Users("ana@example.com").Obj()
	lic.CreationTimestamp = metav1.NewTime(at(t, "2025-01-01T00:00:00Z"))
	h := newHarness(t, at(t, "2025-01-01T00:00:10Z"), stdProduct(), lic,
		bound(ut.MakeAssignment("a1", "team-a").License("cad-1"), "team-a/cad-1", 2))

	writes := 0
	c := interceptor.NewClient(h.client.(client.WithWatch), interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := cl.Get(ctx, key, obj, opts...); err != nil {
				return err
			}
			if l, ok := obj.(*v1.SoftwareLicense); ok {
				l.CreationTimestamp = metav1.NewTime(l.CreationTimestamp.Add(123456789 * time.Nanosecond))
			}
			return nil
		},
		SubResourcePatch: func(ctx context.Context, cl client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			data, _ := patch.Data(obj)
			t.Logf("status patch of %s: %s", obj.GetName(), data)
			writes++
			return cl.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	run := func() {
		t.Helper()
		h.r = &SoftwareLicenseReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Clock: h.clock, Recorder: events.NewFakeRecorder(100)}
		h.reconcile("team-a", "cad-1")
	}
	run()
	if writes != 1 {
		t.Fatalf("the first pass wrote %d statuses, want 1", writes)
	}
	if got := h.license("team-a", "cad-1").Status.ValidFrom; got == nil || !got.Equal(&metav1.Time{Time: at(t, "2025-01-01T00:00:00Z")}) {
		t.Fatalf("stored validFrom = %v, want the creation second", got)
	}
	writes = 0
	run() // a restart: a new reconciler, nothing remembered
	if writes != 0 {
		t.Errorf("the first pass after a restart wrote %d statuses, want 0", writes)
	}
}
