package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChartInSync regenerates the chart into a temporary directory and fails
// when dist/chart differs: config/ is the one source of the chart.
func TestChartInSync(t *testing.T) {
	root := filepath.Join("..", "..")
	tmp := filepath.Join(t.TempDir(), "chart")
	if err := run(filepath.Join(root, "config"), tmp); err != nil {
		t.Fatalf("generating the chart: %v", err)
	}
	want, err := readTree(tmp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readTree(filepath.Join(root, "dist", "chart"))
	if err != nil {
		t.Fatalf("%v; run `make chart`", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dist/chart is not what config/ generates; run `make chart` and commit the result (-generated +dist/chart):\n%s", diff)
	}
}

// TestTemplateValues checks that the manager's values reach the Deployment.
func TestTemplateValues(t *testing.T) {
	files, err := Generate(filepath.Join("..", "..", "config"))
	if err != nil {
		t.Fatal(err)
	}
	deployment := string(files["templates/manager/deployment_controller-manager.yaml"])
	for _, want := range []string{
		"replicas: {{ .Values.replicas }}",
		`image: "{{ .Values.image.repository }}:`,
		"{{- toYaml .Values.resources | nindent 10 }}",
		"namespace: {{ .Release.Namespace }}",
		"- --leader-elect",
		"readOnlyRootFilesystem: true",
		"runAsNonRoot: true",
	} {
		if !strings.Contains(deployment, want) {
			t.Errorf("the Deployment template lacks %q:\n%s", want, deployment)
		}
	}
	if _, ok := files["templates/manager/poddisruptionbudget_controller-manager.yaml"]; !ok {
		t.Error("the chart has no PodDisruptionBudget")
	}
}

// With certManager.enabled=false the chart installs config/internalcert and
// gives the manager the arguments of internal certificate management.
func TestInternalCertManagement(t *testing.T) {
	files, err := Generate(filepath.Join("..", "..", "config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"secret_webhook-server-cert", "role_webhook-cert", "rolebinding_webhook-cert"} {
		body := string(files["templates/internalcert/"+name+".yaml"])
		if !strings.HasPrefix(body, header+"{{- if not .Values.certManager.enabled }}\n") || !strings.HasSuffix(body, "{{- end }}\n") {
			t.Errorf("templates/internalcert/%s.yaml is not installed only when certManager.enabled is false:\n%s", name, body)
		}
		if !strings.Contains(body, "namespace: {{ .Release.Namespace }}") {
			t.Errorf("templates/internalcert/%s.yaml is not in the release namespace:\n%s", name, body)
		}
	}
	deployment := string(files["templates/manager/deployment_controller-manager.yaml"])
	want := `        - --webhook-cert-path=/tmp/k8s-webhook-server/serving-certs
        {{- if not .Values.certManager.enabled }}
        - --internal-cert-management
        - --webhook-cert-secret={{ .Release.Namespace }}/webhook-server-cert
        - --webhook-cert-dns-names=license-operator-webhook-service.{{ .Release.Namespace }}.svc
        {{- end }}
        command:
`
	if !strings.Contains(deployment, want) {
		t.Errorf("the Deployment template lacks the arguments of internal certificate management:\n%s", deployment)
	}
	if !strings.Contains(deployment, "secretName: webhook-server-cert") {
		t.Errorf("the Deployment does not mount the Secret webhook-server-cert:\n%s", deployment)
	}
}

// readTree returns the files under dir by slash-separated relative path.
func readTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	return out, err
}
