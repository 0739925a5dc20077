package seats

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The recount leaves to the releaser the Pods it is releasing, and those it
// released a moment ago (a cache may still show them), then forgets them.
func TestReleasing(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	r := &releasing{now: func() time.Time { return now }}
	r.add("a")
	r.add("b")
	r.done("b")
	r.done("never-added")
	if diff := cmp.Diff(map[string]bool{"a": true, "b": true}, r.snapshot()); diff != "" {
		t.Errorf("while releasing (-want +got):\n%s", diff)
	}
	now = now.Add(releasedMemory + time.Second)
	if diff := cmp.Diff(map[string]bool{"a": true}, r.snapshot()); diff != "" {
		t.Errorf("after releasedMemory (-want +got):\n%s", diff)
	}
	var none *releasing
	none.add("x")
	none.done("x")
	if got := none.snapshot(); got != nil {
		t.Errorf("a nil releasing holds %v", got)
	}
}
