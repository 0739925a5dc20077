package testing

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var (
	assetsOnce sync.Once
	assetsDir  string
	assetsErr  error
)

// RepoRoot is the root of this repository, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// CRDDir is config/crd/bases.
func CRDDir() string { return filepath.Join(RepoRoot(), "config", "crd", "bases") }

// EnvtestAssets returns the directory holding kube-apiserver, etcd and kubectl:
// KUBEBUILDER_ASSETS when set, otherwise whatever hack/envtest-assets.sh
// provides (cache, download or a build from the Go module proxy).
func EnvtestAssets() (string, error) {
	assetsOnce.Do(func() {
		if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
			assetsDir = dir
			return
		}
		assetsDir, assetsErr = runAssetsScript()
	})
	return assetsDir, assetsErr
}

// ClusterAssets returns the directory that also holds kube-controller-manager,
// kube-scheduler and kubemark, building them once when missing.
func ClusterAssets() (string, error) { return runAssetsScript("--cluster") }

func runAssetsScript(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(RepoRoot(), "hack", "envtest-assets.sh"), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hack/envtest-assets.sh %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}
