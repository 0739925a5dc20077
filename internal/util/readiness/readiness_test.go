package readiness

import (
	"net/http/httptest"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
)

// Not ready while the informers sync, ready once they have, and it stays
// ready: a later informer (a kind the webhooks read for the first time)
// waits for its own sync in the read that starts it.
func TestCacheSynced(t *testing.T) {
	synced := false
	check := CacheSynced(&informertest.FakeInformers{Synced: &synced})
	req := httptest.NewRequest("GET", "/readyz", nil)
	if err := check(req); err == nil {
		t.Fatal("ready before the caches synced")
	}
	synced = true
	if err := check(req); err != nil {
		t.Fatalf("not ready once synced: %v", err)
	}
	synced = false
	if err := check(req); err != nil {
		t.Fatalf("not ready again after a new informer: %v", err)
	}
}
