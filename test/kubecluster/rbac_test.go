package kubecluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/internal/webhook/workload"
)

// readRole reads the rules of a Role or ClusterRole file of config/rbac.
func readRole(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole // a Role has the same rules
	if err := yaml.Unmarshal(raw, &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// granted lists the verbs rules grant on group/resource, and the
// resourceNames each verb is limited to (nil: every name).
func granted(rules []rbacv1.PolicyRule, group, resource string) map[string][]string {
	out := map[string][]string{}
	for _, r := range rules {
		if !slices.Contains(r.APIGroups, group) || !slices.Contains(r.Resources, resource) {
			continue
		}
		for _, v := range r.Verbs {
			out[v] = r.ResourceNames
		}
	}
	return out
}

// The manager's ClusterRole as docs/security.md ("Permissions") lists it: the
// grants an auditor found too wide stay narrowed (issue 12 §2).
func TestManagerRoleIsNarrow(t *testing.T) {
	rules := readRole(t, "role.yaml")
	verbs := func(group, resource string) []string {
		var vs []string
		for v := range granted(rules, group, resource) {
			vs = append(vs, v)
		}
		slices.Sort(vs)
		return vs
	}
	for _, tc := range []struct {
		group, resource string
		want            []string
	}{
		// Generated key Secrets are created, never updated or deleted; the
		// policy operator_secret_writes.yaml narrows the create to them.
		{"", "secrets", []string{"create", "get", "list", "watch"}},
		{"", "configmaps", nil},
		{"", "serviceaccounts", nil},
		// Core events only come from leader election, in the Role.
		{"", "events", nil},
		// Leases only in the operator's namespace (leader_election_role.yaml).
		{"coordination.k8s.io", "leases", nil},
		// The operator creates and deletes none of the licensing objects.
		{"licensing.license-operator.dev", "licenseproducts", []string{"get", "list", "update", "watch"}},
		{"licensing.license-operator.dev", "softwarelicenses", []string{"get", "list", "update", "watch"}},
		{"licensing.license-operator.dev", "licenseassignments", []string{"get", "list", "watch"}},
		// delete: freeing a seat deletes its seat object (issue 15).
		{"licensing.license-operator.dev", "seatledgers", []string{"create", "delete", "get", "list", "update", "watch"}},
		// Each status writer uses one verb: an assignment's status is a full
		// update guarded by its resourceVersion, a product's and a licence's a
		// merge patch.
		{"licensing.license-operator.dev", "licenseassignments/status", []string{"update"}},
		{"licensing.license-operator.dev", "licenseproducts/status", []string{"patch"}},
		{"licensing.license-operator.dev", "softwarelicenses/status", []string{"patch"}},
		// The syncer (and the certificate rotator) read the two
		// configurations through field-selected caches: no uncached get.
		{"admissionregistration.k8s.io", "validatingwebhookconfigurations", []string{"list", "update", "watch"}},
		{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", []string{"list", "update", "watch"}},
		// The Kueue AdmissionCheck controller reads Kueue's objects and
		// writes only its check's state on Workloads and the Active
		// condition of its AdmissionChecks (server-side apply: patch); it
		// reads a Pod's Job, never changes one.
		// Through the cache only: no uncached get.
		{"kueue.x-k8s.io", "workloads", []string{"list", "watch"}},
		{"kueue.x-k8s.io", "admissionchecks", []string{"list", "watch"}},
		{"kueue.x-k8s.io", "clusterqueues", []string{"list", "watch"}},
		{"kueue.x-k8s.io", "localqueues", []string{"list", "watch"}},
		{"kueue.x-k8s.io", "workloads/status", []string{"patch"}},
		{"kueue.x-k8s.io", "admissionchecks/status", []string{"patch"}},
		{"kueue.x-k8s.io", "clusterqueues/status", nil},
		{"batch", "jobs", []string{"get"}},
	} {
		if got := verbs(tc.group, tc.resource); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q: verbs %v, want %v", tc.resource, tc.group, got, tc.want)
		}
	}
	for resource, name := range map[string]string{
		"validatingwebhookconfigurations": workload.DefaultValidatingWebhookConfiguration,
		"mutatingwebhookconfigurations":   workload.DefaultMutatingWebhookConfiguration,
	} {
		g := granted(rules, "admissionregistration.k8s.io", resource)
		if len(g) == 0 {
			t.Errorf("%s: not granted", resource)
		}
		for v, names := range g {
			if !slices.Equal(names, []string{name}) {
				t.Errorf("%s %s: resourceNames %v, want [%s]", resource, v, names, name)
			}
		}
	}
}

// The leader-election Role grants the Lease alone, get and update by the
// name cmd/main.go defaults --leader-election-id to (cmd's test checks that
// name), and no ConfigMaps.
func TestLeaderElectionRole(t *testing.T) {
	rules := readRole(t, "leader_election_role.yaml")
	if g := granted(rules, "", "configmaps"); len(g) > 0 {
		t.Errorf("configmaps granted: %v", g)
	}
	g := granted(rules, "coordination.k8s.io", "leases")
	if _, ok := g["create"]; !ok || len(g) != 3 {
		t.Errorf("leases: %v, want create, get and update", g)
	}
	for _, v := range []string{"get", "update"} {
		if len(g[v]) != 1 {
			t.Errorf("leases %s: resourceNames %v, want the one Lease", v, g[v])
		}
	}
}

// The suites install config/webhook's configurations, which config/default
// prefixes with its namePrefix into the names the ClusterRole grants.
func TestWebhookConfigurationNames(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		NamePrefix string `json:"namePrefix"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if got, want := k.NamePrefix+WebhookConfigurations.Validating, workload.DefaultValidatingWebhookConfiguration; got != want {
		t.Errorf("config/default deploys %s, the operator edits %s", got, want)
	}
	if got, want := k.NamePrefix+WebhookConfigurations.Mutating, workload.DefaultMutatingWebhookConfiguration; got != want {
		t.Errorf("config/default deploys %s, the operator edits %s", got, want)
	}
}
