package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

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

// parallelDo calls do(worker, i) for every i below n from workers
// goroutines (worker is the goroutine's index), stops at the first error,
// which fails b naming i, and returns how long it took.
func parallelDo(b *testing.B, workers, n int, do func(worker, i int) error) time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	start := time.Now()
	for worker := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				if err := do(worker, i); err != nil {
					failed.Store(fmt.Errorf("%d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	return time.Since(start)
}

// runManager starts mgr in a goroutine and returns its context and a stop
// function that ends it and waits for it (safe to call more than once).
func runManager(b *testing.B, mgr manager.Manager) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			b.Error(err)
		}
	}()
	return ctx, sync.OnceFunc(func() { cancel(); <-done })
}
