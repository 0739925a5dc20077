package workload

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The kustomize patch carries the static form of the condition the syncer
// writes; they must agree, or a restart would flap the configuration.
func TestScopePatchMatchesSyncer(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "webhook", "scope_patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := yaml.Unmarshal(raw, vwc); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, w := range vwc.Webhooks {
		if _, ok := templatePaths[w.Name]; !ok {
			continue
		}
		seen++
		want := []admissionregistrationv1.MatchCondition{{Name: licensing.NotTheOperatorCondition, Expression: licensing.NotTheOperatorExpression(licensing.DefaultOperatorUsername)}}
		if w.Name == PodUpdateWebhookName {
			want = append(want, ChangesWhatItRunsCondition)
		}
		want = append(want, admissionregistrationv1.MatchCondition{Name: MatchConditionName, Expression: MatchConditionExpression(w.Name, "")})
		if diff := cmp.Diff(want, w.MatchConditions); diff != "" {
			t.Errorf("webhook %s: matchConditions (-want +got):\n%s", w.Name, diff)
		}
		if SetMatchConditions(&admissionregistrationv1.ValidatingWebhookConfiguration{Webhooks: []admissionregistrationv1.ValidatingWebhook{w}}, "") {
			t.Errorf("webhook %s: the syncer would rewrite the shipped condition", w.Name)
		}
	}
	if seen != len(templatePaths) {
		t.Errorf("scope_patch.yaml scopes %d workload webhooks, want %d", seen, len(templatePaths))
	}
}

func TestImagesRegexp(t *testing.T) {
	if got := ImagesRegexp(nil); got != "" {
		t.Errorf("ImagesRegexp(nil) = %q", got)
	}
	p := utiltesting.MakeProduct("cad").Images("r.io/acme/cad:*", "*/cad-cli").Obj()
	want := `^(?:.*/cad-cli|r\.io/acme/cad:.*)$`
	if got := ImagesRegexp([]licensingv1alpha1.LicenseProduct{*p}); got != want {
		t.Errorf("ImagesRegexp = %q, want %q", got, want)
	}
	if got := MatchConditionExpression(PodWebhookName, want); got == MatchConditionExpression(PodWebhookName, "") {
		t.Errorf("the expression ignores images: %s", got)
	}
}
