package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The envtest suite runs the controllers of SetupWithManager, exactly as
// cmd/main.go registers them (cache options included), against a real
// kube-apiserver and etcd, with a fake clock.
//
// Moving time: the fake clock does not fire the real timers behind
// RequeueAfter, so a test sets the clock (fakeClock.SetTime) and then
// triggers a reconcile by touching an annotation of the licence (touch):
// the licence controller reconciles on annotation changes, as it would for
// `kubectl annotate`. The RequeueAfter the reconciler computes from the fake
// clock is checked by the fake-client tests.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	fakeClock *clocktesting.FakeClock
	// assets holds kube-apiserver, etcd and kubectl.
	assets string
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(licensingv1alpha1.AddToScheme(scheme)).To(Succeed())

	var err error
	assets, err = utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	fakeClock = clocktesting.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   CacheOptions(),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(SetupWithManager(mgr, Options{Clock: fakeClock})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
