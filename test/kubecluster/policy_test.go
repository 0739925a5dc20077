package kubecluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The shipped policy names licensing.DefaultOperatorUsername, and the helper
// that test suites use puts their own identity in its place.
func TestSeatLedgerPolicy(t *testing.T) {
	policy, binding, err := SeatLedgerPolicy(licensing.DefaultOperatorUsername)
	if err != nil {
		t.Fatal(err)
	}
	if binding.Spec.PolicyName != policy.Name {
		t.Errorf("binding names policy %q, the policy is %q", binding.Spec.PolicyName, policy.Name)
	}
	if got := policy.Spec.Variables[0].Expression; !strings.Contains(got, "'"+licensing.DefaultOperatorUsername+"'") {
		t.Errorf("the operator variable %q does not name %s", got, licensing.DefaultOperatorUsername)
	}
	other, _, err := SeatLedgerPolicy("envtest-admin")
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Spec.Variables[0].Expression; got != "request.userInfo.username == 'envtest-admin'" {
		t.Errorf("rendered for envtest-admin: %q", got)
	}
	if _, _, err := SeatLedgerPolicy("it's"); err == nil {
		t.Error("a username with a quote was rendered into CEL")
	}
}

// No ClusterRole the project ships, other than the manager's own, grants
// SeatLedgers: the admin, editor and viewer roles of the three kinds people
// write leave the operator's records alone.
func TestNoShippedRoleGrantsSeatLedgers(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(utiltesting.RepoRoot(), "config", "rbac", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no config/rbac files: %v", err)
	}
	for _, f := range files {
		if filepath.Base(f) == "role.yaml" {
			continue // the manager's own ClusterRole
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "seatledgers") {
			t.Errorf("%s grants seatledgers", f)
		}
	}
}
