package kubecluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// PolicyDir is config/policy: the ValidatingAdmissionPolicies (and their
// bindings) that config/default ships.
func PolicyDir() string { return filepath.Join(utiltesting.RepoRoot(), "config", "policy") }

// SeatLedgerPolicyFile is the policy that lets only the operator write
// SeatLedgers.
func SeatLedgerPolicyFile() string { return filepath.Join(PolicyDir(), "seatledger_writers.yaml") }

// PodSeatGatePolicyFile is the policy that lets only the operator remove a
// Pod's seat gate or change its licensed label.
func PodSeatGatePolicyFile() string { return filepath.Join(PolicyDir(), "pod_seat_gate.yaml") }

// OperatorSecretPolicyFile is the policy that limits the operator's Secret
// writes to the key Secrets it owns.
func OperatorSecretPolicyFile() string {
	return filepath.Join(PolicyDir(), "operator_secret_writes.yaml")
}

// PolicyFiles are the files config/policy's kustomization lists, in its
// order: every policy config/default ships.
func PolicyFiles() ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(PolicyDir(), "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("reading config/policy/kustomization.yaml: %w", err)
	}
	files := make([]string, len(k.Resources))
	for i, r := range k.Resources {
		files[i] = filepath.Join(PolicyDir(), r)
	}
	return files, nil
}

// Policy returns the policy and binding of file (one of PolicyFiles) with
// the operator's username (licensing.DefaultOperatorUsername there) replaced
// by operator: test suites run the manager under their own identity.
func Policy(file, operator string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Contains(raw, []byte("'"+licensing.DefaultOperatorUsername+"'")) {
		return nil, nil, fmt.Errorf("%s does not name the operator %s", file, licensing.DefaultOperatorUsername)
	}
	if strings.ContainsAny(operator, `'\`) {
		return nil, nil, fmt.Errorf("username %q cannot be quoted in CEL", operator)
	}
	raw = bytes.ReplaceAll(raw, []byte("'"+licensing.DefaultOperatorUsername+"'"), []byte("'"+operator+"'"))
	var policy *admissionregistrationv1.ValidatingAdmissionPolicy
	var binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	err = eachDocument(bytes.NewReader(raw), func(kind string, doc []byte) error {
		switch kind {
		case "ValidatingAdmissionPolicy":
			policy = &admissionregistrationv1.ValidatingAdmissionPolicy{}
			return yaml.UnmarshalStrict(doc, policy)
		case "ValidatingAdmissionPolicyBinding":
			binding = &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
			return yaml.UnmarshalStrict(doc, binding)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if policy == nil || binding == nil {
		return nil, nil, fmt.Errorf("%s must hold a ValidatingAdmissionPolicy and its binding", file)
	}
	return policy, binding, nil
}

// ApplyPolicies creates (or replaces) every policy of config/policy and its
// binding, for operator, through c, which must be allowed to write them. The
// API server applies a new policy within about a second of its creation:
// callers that test one wait until it refuses.
func ApplyPolicies(ctx context.Context, c client.Client, operator string) error {
	files, err := PolicyFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := applyPolicy(ctx, c, f, operator); err != nil {
			return err
		}
	}
	return nil
}

// ApplySeatLedgerPolicy is ApplyPolicies: it applies every policy of
// config/policy, the seat ledgers' among them, so that the suites that call
// it by its first name run with all of them in force.
func ApplySeatLedgerPolicy(ctx context.Context, c client.Client, operator string) error {
	return ApplyPolicies(ctx, c, operator)
}

// applyPolicy creates (or replaces) the policy of file and its binding.
func applyPolicy(ctx context.Context, c client.Client, file, operator string) error {
	policy, binding, err := Policy(file, operator)
	if err != nil {
		return err
	}
	for _, o := range []client.Object{policy, binding} {
		err := c.Create(ctx, o)
		if apierrors.IsAlreadyExists(err) {
			cur := o.DeepCopyObject().(client.Object)
			if err = c.Get(ctx, client.ObjectKeyFromObject(o), cur); err == nil {
				o.SetResourceVersion(cur.GetResourceVersion())
				err = c.Update(ctx, o)
			}
		}
		if err != nil {
			return fmt.Errorf("applying %s: %w", o.GetName(), err)
		}
	}
	return nil
}

// AggregateClusterRoles fills the rules of the named aggregated ClusterRoles
// (such as the built-in admin, edit and view) from the ClusterRoles their
// aggregationRule selects, as the clusterrole-aggregation controller of
// kube-controller-manager does; envtest runs no controller manager, so
// without this they grant nothing. Name them in aggregation order: view is
// aggregated into edit, and edit into admin.
func AggregateClusterRoles(ctx context.Context, c client.Client, names ...string) error {
	for _, name := range names {
		role := &rbacv1.ClusterRole{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, role); err != nil {
			return err
		}
		if role.AggregationRule == nil {
			return fmt.Errorf("ClusterRole %s is not aggregated", name)
		}
		var rules []rbacv1.PolicyRule
		seen := map[string]bool{}
		for _, sel := range role.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return err
			}
			list := &rbacv1.ClusterRoleList{}
			if err := c.List(ctx, list, client.MatchingLabelsSelector{Selector: s}); err != nil {
				return err
			}
			for _, r := range list.Items {
				if r.Name == name || seen[r.Name] {
					continue
				}
				seen[r.Name] = true
				rules = append(rules, r.Rules...)
			}
		}
		role.Rules = rules
		if err := c.Update(ctx, role); err != nil {
			return fmt.Errorf("aggregating ClusterRole %s: %w", name, err)
		}
	}
	return nil
}
