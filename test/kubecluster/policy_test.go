package kubecluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// Every shipped policy names licensing.DefaultOperatorUsername, and the
// helper that test suites use puts their own identity in its place.
func TestPolicies(t *testing.T) {
	files, err := PolicyFiles()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{SeatLedgerPolicyFile(), PodSeatGatePolicyFile(), OperatorSecretPolicyFile()}; !slices.Equal(files, want) {
		t.Errorf("config/policy lists %v, want %v", files, want)
	}
	for _, f := range files {
		policy, binding, err := Policy(f, licensing.DefaultOperatorUsername)
		if err != nil {
			t.Fatal(err)
		}
		if binding.Spec.PolicyName != policy.Name {
			t.Errorf("%s: binding names policy %q, the policy is %q", f, binding.Spec.PolicyName, policy.Name)
		}
		if _, _, err := Policy(f, "it's"); err == nil {
			t.Errorf("%s: a username with a quote was rendered into CEL", f)
		}
	}
}

func TestSeatLedgerPolicy(t *testing.T) {
	policy, _, err := Policy(SeatLedgerPolicyFile(), licensing.DefaultOperatorUsername)
	if err != nil {
		t.Fatal(err)
	}
	if got := policy.Spec.Variables[0].Expression; !strings.Contains(got, "'"+licensing.DefaultOperatorUsername+"'") {
		t.Errorf("the operator variable %q does not name %s", got, licensing.DefaultOperatorUsername)
	}
	other, _, err := Policy(SeatLedgerPolicyFile(), "envtest-admin")
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Spec.Variables[0].Expression; got != "request.userInfo.username == 'envtest-admin'" {
		t.Errorf("rendered for envtest-admin: %q", got)
	}
}

// The seat gate policy skips the operator with the webhooks' own
// not-the-operator condition, and names the gate and the label of api/.
func TestPodSeatGatePolicy(t *testing.T) {
	for _, operator := range []string{licensing.DefaultOperatorUsername, "envtest-admin"} {
		policy, _, err := Policy(PodSeatGatePolicyFile(), operator)
		if err != nil {
			t.Fatal(err)
		}
		want := []admissionregistrationv1.MatchCondition{{Name: licensing.NotTheOperatorCondition, Expression: licensing.NotTheOperatorExpression(operator)}}
		if diff := cmp.Diff(want, policy.Spec.MatchConditions); diff != "" {
			t.Errorf("matchConditions for %s (-want +got):\n%s", operator, diff)
		}
	}
	raw, err := os.ReadFile(PodSeatGatePolicyFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{licensingv1alpha1.SeatGate, licensingv1alpha1.UseGate, licensingv1alpha1.LicensedLabel} {
		if !strings.Contains(string(raw), "'"+name+"'") {
			t.Errorf("%s does not name %s", PodSeatGatePolicyFile(), name)
		}
	}
}

// The Secret policy applies to the operator alone (its matchCondition names
// it) and names the key label of internal/controller.
func TestOperatorSecretPolicy(t *testing.T) {
	policy, _, err := Policy(OperatorSecretPolicyFile(), "envtest-admin")
	if err != nil {
		t.Fatal(err)
	}
	want := []admissionregistrationv1.MatchCondition{{Name: "the-operator", Expression: "request.userInfo.username == 'envtest-admin'"}}
	if diff := cmp.Diff(want, policy.Spec.MatchConditions); diff != "" {
		t.Errorf("matchConditions (-want +got):\n%s", diff)
	}
	raw, err := os.ReadFile(OperatorSecretPolicyFile())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "'"+controller.KeySecretLabel+"'") {
		t.Errorf("%s does not name %s", OperatorSecretPolicyFile(), controller.KeySecretLabel)
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
