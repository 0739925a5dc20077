package bench

// BenchmarkPodMemory measures what Pods the operator never needs cost the
// manager's heap (issue 11, "Pod memory"). It runs the manager's Pod
// watchers in process (the controllers of cmd/main.go and the seat
// releaser and recounts of internal/seats, without the webhook server)
// against a real kube-apiserver and etcd (envtest), and reads the heap
// (runtime.MemStats HeapAlloc after a GC) with 0 and with n unrelated Pods
// (no licence annotation, no licensed label) in the same run:
//
//   - restricted: the manager with controller.CacheOptions, whose Pod cache
//     holds only the Pods labelled licensed=true. Heap after its cache synced
//     with 0 unrelated Pods, then after the n Pods exist (a licensed Pod
//     created after them shows in its cache, so every earlier event has
//     been seen). restricted-KiB/pod is the growth per unrelated Pod (goal
//     ≤ 0.5 KiB).
//   - unrestricted: the reference, the same manager whose Pod cache holds
//     every Pod (as before issue 11). It is started after the restricted one
//     has stopped, on the n Pods; its growth less the fixed cost of a
//     manager with 0 Pods (measured on the restricted one) is
//     unrestricted-KiB/pod.
//
// n is $BENCH_PODS, or 20,000 with BENCH=full, or 5,000. Run (about a minute
// for 5,000 on two cores):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkPodMemory -benchtime=1x -timeout 15m
//	BENCH=full go test ./test/bench/ -run '^$' -bench BenchmarkPodMemory -benchtime=1x -timeout 15m
//
// Results are in docs/benchmarks.md, section "Pod memory".

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/seats"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	podMemoryGoalKiB  = 0.5
	podMemoryNS       = "unrelated"
	podMemoryLicensed = "licensed"
)

// unrelatedPodCount is $BENCH_PODS, or 20,000 with BENCH=full, or 5,000.
func unrelatedPodCount(b *testing.B) int {
	return envCount(b, "BENCH_PODS", fullOr(5000, 20000))
}

// unrelatedPod is a Pod of an ordinary Deployment: labels, an annotation,
// two env vars, requests and a port, as the API server stores it (defaults
// and managedFields), and nothing the operator reads.
func unrelatedPod(i int) *corev1.Pod {
	p := kubecluster.MakePod(fmt.Sprintf("web-%05d", i), podMemoryNS).
		Label("app", "web").Label("pod-template-hash", "5d8f7c9b6").
		Annotation("kubectl.kubernetes.io/restartedAt", "2026-12-07T13:00:00Z").
		Image("registry.example.com/shop/web:1.42.0").Obj()
	ctr := &p.Spec.Containers[0]
	ctr.Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}}
	ctr.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	ctr.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	return p
}

// licensedPod is a Pod the mutating Pod webhook admitted for a product.
func licensedPod(name string) *corev1.Pod {
	return kubecluster.MakePod(name, podMemoryLicensed).Label(licensingv1alpha1.LicensedLabel, "true").Obj()
}

// heapAlloc is the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// unrestrictedPods are the cache options with the Pod cache holding every
// Pod, as before issue 11.
func unrestrictedPods(b *testing.B) cache.Options {
	opts := controller.CacheOptions()
	restricted := false
	for o := range opts.ByObject {
		if _, ok := o.(*corev1.Pod); ok {
			delete(opts.ByObject, o)
			restricted = true
		}
	}
	if !restricted {
		b.Fatal("controller.CacheOptions do not restrict the Pod cache")
	}
	return opts
}

// podManager is a running manager with the Pod watchers of cmd/main.go.
type podManager struct {
	mgr  ctrl.Manager
	stop func()
}

// startPodManager starts the controllers and the seat controllers on a
// manager with the cache options, and returns once its Pod cache has synced
// and shows the licensed Pod named sentinel.
func startPodManager(b *testing.B, cfg *rest.Config, opts cache.Options, sentinel string) *podManager {
	b.Helper()
	mgr, err := ctrl.NewManager(rest.CopyConfig(cfg), ctrl.Options{
		Scheme:                 kubecluster.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  opts,
		// Two managers in one process register the same controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}}); err != nil {
		b.Fatal(err)
	}
	lc, err := client.New(cfg, client.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := seats.SetupWithManager(mgr, lc, clock.RealClock{}); err != nil {
		b.Fatal(err)
	}
	ctx, stop := runManager(b, mgr)
	pm := &podManager{mgr: mgr, stop: stop}
	if _, err := mgr.GetCache().GetInformer(ctx, &corev1.Pod{}); err != nil {
		pm.stop()
		b.Fatal(err)
	}
	waitFor(b, "the Pod cache to show "+sentinel, func() bool {
		return mgr.GetCache().Get(ctx, client.ObjectKey{Namespace: podMemoryLicensed, Name: sentinel}, &corev1.Pod{}) == nil
	})
	// Let the controllers' first passes finish.
	time.Sleep(2 * time.Second)
	return pm
}

// cachedPods is the number of Pods in the manager's cache.
func (pm *podManager) cachedPods(b *testing.B) int {
	b.Helper()
	var list corev1.PodList
	if err := pm.mgr.GetCache().List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		b.Fatal(err)
	}
	return len(list.Items)
}

func BenchmarkPodMemory(b *testing.B) {
	n := unrelatedPodCount(b)
	_, cfg := startEnvtest(b, nil)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling: the API server is the limit
	ctx := context.Background()
	c, err := client.New(cfg, client.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	for _, ns := range []string{podMemoryNS, podMemoryLicensed} {
		if err := c.Create(ctx, kubecluster.MakeNamespace(ns, nil)); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Create(ctx, licensedPod("first")); err != nil {
		b.Fatal(err)
	}
	unrestricted := unrestrictedPods(b)
	b.ResetTimer()

	// The restricted manager, before and after the unrelated Pods.
	base := heapAlloc()
	restricted := startPodManager(b, cfg, controller.CacheOptions(), "first")
	r0 := heapAlloc()
	t0 := time.Now()
	seatCreate(b, c, n, func(i int) client.Object { return unrelatedPod(i) })
	created := time.Since(t0)
	if err := c.Create(ctx, licensedPod("last")); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "the restricted cache to show the licensed Pod created last", func() bool {
		return restricted.mgr.GetCache().Get(ctx, client.ObjectKey{Namespace: podMemoryLicensed, Name: "last"}, &corev1.Pod{}) == nil
	})
	time.Sleep(2 * time.Second)
	r1 := heapAlloc()
	if got := restricted.cachedPods(b); got != 2 {
		b.Fatalf("the restricted cache holds %d Pods, want the 2 licensed ones", got)
	}
	restricted.stop()

	// The reference: every Pod cached. Its fixed cost is the restricted
	// manager's with 0 unrelated Pods (r0 - base).
	u0 := heapAlloc()
	reference := startPodManager(b, cfg, unrestricted, "last")
	u1 := heapAlloc()
	if got := reference.cachedPods(b); got != n+2 {
		b.Fatalf("the unrestricted cache holds %d Pods, want %d", got, n+2)
	}
	reference.stop()

	const kib = 1024.0
	fixed := float64(r0) - float64(base)
	perPod := (float64(r1) - float64(r0)) / float64(n) / kib
	refPerPod := (float64(u1) - float64(u0) - fixed) / float64(n) / kib
	b.ReportMetric(perPod, "restricted-KiB/pod")
	b.ReportMetric(refPerPod, "unrestricted-KiB/pod")
	b.ReportMetric(perPod/podMemoryGoalKiB, "restricted-vs-goal")
	b.ReportMetric(fixed/kib/kib, "manager-fixed-MiB")
	b.ReportMetric(created.Seconds(), "create-s")
	mib := func(v float64) float64 { return v / kib / kib }
	b.Logf("%d unrelated Pods created in %v (%.0f/s)", n, created.Round(time.Millisecond), float64(n)/created.Seconds())
	b.Logf("restricted (licensed Pods only): heap %.1f MiB before the manager, %.1f MiB with 0 unrelated Pods, %.1f MiB with %d: %.3f KiB/Pod, %.2f× the goal of %.1f KiB/Pod",
		mib(float64(base)), mib(float64(r0)), mib(float64(r1)), n, perPod, perPod/podMemoryGoalKiB, podMemoryGoalKiB)
	b.Logf("unrestricted (every Pod): heap %.1f MiB before it started, %.1f MiB with %d unrelated Pods cached; less the %.1f MiB of a manager with 0 Pods: %.3f KiB/Pod",
		mib(float64(u0)), mib(float64(u1)), n, mib(fixed), refPerPod)
	if perPod > podMemoryGoalKiB {
		b.Logf("GOAL MISSED: restricted-KiB/pod %.3f > %.1f", perPod, podMemoryGoalKiB)
	}
}
