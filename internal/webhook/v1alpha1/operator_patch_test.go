package v1alpha1

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// webhookDocs reads the webhook configurations of a YAML file of config/webhook:
// for each webhook name, its matchConditions as the file writes them (nil when
// the file does not set them).
func webhookDocs(t *testing.T, file string) map[string][]admissionregistrationv1.MatchCondition {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "webhook", file))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]admissionregistrationv1.MatchCondition{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Webhooks []struct {
				Name            string                                   `json:"name"`
				MatchConditions []admissionregistrationv1.MatchCondition `json:"matchConditions"`
			} `json:"webhooks"`
		}
		if err := yaml.Unmarshal(doc, &cfg); err != nil {
			t.Fatal(err)
		}
		for _, w := range cfg.Webhooks {
			out[w.Name] = w.MatchConditions
		}
	}
	return out
}

// Every webhook of the operator, in both configurations, lets the operator's
// own writes skip it, with the static form of licensing.DefaultOperatorUsername:
// else a webhook that is down would hold up the operator's finalizers, and
// every deletion waiting for them. kustomize replaces a webhook's
// matchConditions list as a whole, so the list of each webhook comes from
// exactly one patch (kustomization.yaml applies scope_patch.yaml, then
// operator_patch.yaml), and that list must carry the condition.
func TestEveryWebhookSkipsTheOperator(t *testing.T) {
	want := admissionregistrationv1.MatchCondition{
		Name:       licensing.NotTheOperatorCondition,
		Expression: licensing.NotTheOperatorExpression(licensing.DefaultOperatorUsername),
	}
	if want.Expression != "request.userInfo.username != 'system:serviceaccount:license-operator-system:license-operator-controller-manager'" {
		t.Fatalf("unexpected expression %q", want.Expression)
	}
	generated := webhookDocs(t, "manifests.yaml")
	if len(generated) == 0 {
		t.Fatal("no webhooks in manifests.yaml")
	}
	patches := []string{"scope_patch.yaml", "scope_mutating_patch.yaml", "operator_patch.yaml"}
	lists := map[string][]admissionregistrationv1.MatchCondition{}
	from := map[string]string{}
	for _, p := range patches {
		for name, conds := range webhookDocs(t, p) {
			if conds == nil {
				continue
			}
			if prev, ok := from[name]; ok {
				t.Errorf("webhook %s: both %s and %s set matchConditions; kustomize keeps only the last list", name, prev, p)
			}
			lists[name], from[name] = conds, p
		}
	}
	// The generated set plus whatever the patches add (a webhook the
	// generator does not know would be a patch of nothing).
	for name := range lists {
		if _, ok := generated[name]; !ok {
			t.Errorf("%s patches webhook %s, which manifests.yaml does not have", from[name], name)
		}
	}
	for name := range generated {
		found := false
		for _, c := range lists[name] {
			if c.Name == want.Name {
				found = true
				if c != want {
					t.Errorf("webhook %s (%s): condition %s is %q, want %q", name, from[name], c.Name, c.Expression, want.Expression)
				}
			}
		}
		if !found {
			t.Errorf("webhook %s has no matchCondition %s: add it to operator_patch.yaml (or to its list in scope_patch.yaml)", name, want.Name)
		}
	}
}
