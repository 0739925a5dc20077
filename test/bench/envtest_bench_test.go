package bench

import (
	"os"
	"strconv"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// startEnvtest starts etcd and kube-apiserver (envtest) with the CRDs of
// config/crd and, when webhooks is not nil, the webhook configurations it
// returns for the assets directory. They stop when the benchmark ends. The
// controllers' logs are discarded.
func startEnvtest(b *testing.B, webhooks func(assets string) (envtest.WebhookInstallOptions, error)) (*envtest.Environment, *rest.Config) {
	b.Helper()
	logf.SetLogger(logr.Discard())
	assets, err := utiltesting.EnvtestAssets()
	if err != nil {
		b.Fatal(err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	if webhooks != nil {
		if env.WebhookInstallOptions, err = webhooks(assets); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Stop() })
	return env, cfg
}

// fullOr is full when BENCH=full selects the goal sizes, else def.
func fullOr[T any](def, full T) T {
	if os.Getenv("BENCH") == "full" {
		return full
	}
	return def
}

// envCount is the positive number in the environment variable name, or def
// when it is unset; any other value fails the benchmark.
func envCount(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q is not a positive number", name, v)
	}
	return n
}

// metOrMissed is a goal's verdict.
func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
