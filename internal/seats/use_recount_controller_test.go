package seats

import (
	"slices"
	"testing"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// A use the webhook recorded before its Pod was stored carries the
// admission's UID, not the Pod's: the new Pod must still find its ledger,
// by namespace and name, or its use waits for the grace to end (the CI flake
// of the consumption test under load).
func TestPendingUseKeysFindAPodByName(t *testing.T) {
	led := &licensingv1alpha1.SeatLedger{Spec: licensingv1alpha1.SeatLedgerSpec{Uses: &licensingv1alpha1.LicenseUses{
		Pending: []licensingv1alpha1.PendingUse{{UID: "admission:1234", Namespace: "ns", Pod: "m-2"}},
	}}}
	keys := pendingUseKeys(led)
	for _, want := range []string{"admission:1234", pendingPodKey("ns", "m-2")} {
		if !slices.Contains(keys, want) {
			t.Errorf("keys %v lack %q", keys, want)
		}
	}
	if slices.Contains(keys, pendingPodKey("other", "m-2")) {
		t.Errorf("keys %v name a Pod of another namespace", keys)
	}
	if got := pendingUseKeys(&licensingv1alpha1.SeatLedger{}); got != nil {
		t.Errorf("a seat ledger has keys %v", got)
	}
}
