package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// krewPlugin is the part of krew's Plugin kind (v1alpha2) that krew checks
// before it installs: sigs.k8s.io/krew pkg/index.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		ShortDescription string `json:"shortDescription"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestKrewManifest checks plugins/license.yaml the way krew reads it, and
// that each archive it names is one hack/plugin-release.sh builds.
func TestKrewManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "plugins", "license.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" || p.Metadata.Name != "license" {
		t.Errorf("apiVersion, kind, name = %s, %s, %s; want krew's Plugin named license (kubectl license)", p.APIVersion, p.Kind, p.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(p.Spec.Version) || p.Spec.ShortDescription == "" {
		t.Errorf("version %q must be vX.Y.Z, and the short description set", p.Spec.Version)
	}
	var got []string
	for _, pl := range p.Spec.Platforms {
		goos, goarch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		got = append(got, goos+"/"+goarch)
		archive := "kubectl-license_" + goos + "_" + goarch + ".tar.gz"
		if !strings.HasSuffix(pl.URI, "/releases/download/"+p.Spec.Version+"/"+archive) {
			t.Errorf("%s/%s: uri %s is not the release archive %s of version %s", goos, goarch, pl.URI, archive, p.Spec.Version)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(pl.SHA256) {
			t.Errorf("%s/%s: sha256 %q is not 64 hex digits", goos, goarch, pl.SHA256)
		}
		if pl.Bin != "kubectl-license" || len(pl.Files) == 0 || pl.Files[0].From != "kubectl-license" {
			t.Errorf("%s/%s: bin %q and files %v must install kubectl-license", goos, goarch, pl.Bin, pl.Files)
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}, got); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "hack", "plugin-release.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PLACEHOLDER_VERSION=" + p.Spec.Version, "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64", `kubectl-license_${os}_${arch}.tar.gz`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("hack/plugin-release.sh does not contain %q: it would not fill this manifest in", want)
		}
	}
}
