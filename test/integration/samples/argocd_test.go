package samples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// TestArgoCDHealthCheckIsOneScript checks that the argocd-cm snippet and
// docs/health.md carry config/argocd/health.lua unchanged, for each kind,
// and that the script reads the conditions the API names.
func TestArgoCDHealthCheckIsOneScript(t *testing.T) {
	root := utiltesting.RepoRoot()
	read := func(rel string) string {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	lua := read("config/argocd/health.lua")
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict([]byte(read("config/argocd/argocd-cm-health.yaml")), &cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 3 {
		t.Errorf("the argocd-cm snippet has %d keys, want one per kind", len(cm.Data))
	}
	for _, kind := range []string{"LicenseProduct", "SoftwareLicense", "LicenseAssignment"} {
		key := "resource.customizations.health.licensing.license-operator.dev_" + kind
		if got, ok := cm.Data[key]; !ok || got != lua {
			t.Errorf("argocd-cm %s is not config/argocd/health.lua (present: %v)", key, ok)
		}
	}
	if !strings.Contains(read("docs/health.md"), "```lua\n"+lua+"```") {
		t.Error("docs/health.md does not show config/argocd/health.lua unchanged")
	}
	for _, cond := range []string{`"Ready"`, `"Stalled"`, `"Reconciling"`, "observedGeneration"} {
		if !strings.Contains(lua, cond) {
			t.Errorf("the health check does not read %s", cond)
		}
	}
}
