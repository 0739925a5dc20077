package samples

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs the whole manager (every controller and every webhook, as
// cmd/main.go does, on the real clock) as the operator's ServiceAccount user
// on a real kube-apiserver, with the CRDs and the webhook configurations as
// config/ renders them, applies config/samples as `kubectl apply -k` would,
// as a cluster administrator, and compares the status of every sample with
// testdata/.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	assets    string
	k8sClient client.Client
	// adminWarnings are the admission warnings k8sClient received.
	adminWarnings = &kubecluster.Warnings{}
	stopMgr       func()
)

func TestSamples(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "Samples Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme := kubecluster.Scheme()

	var err error
	assets, err = utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv, err = kubecluster.WebhookEnvironment(assets)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	adminCfg := rest.CopyConfig(cfg)
	adminCfg.WarningHandler = adminWarnings
	k8sClient, err = client.New(adminCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	var errs <-chan error
	stopMgr, errs, err = kubecluster.StartOperator(ctx, testEnv, k8sClient, scheme, controller.Options{Clock: clock.RealClock{}})
	Expect(err).NotTo(HaveOccurred())
	Consistently(errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	if stopMgr != nil {
		stopMgr()
	}
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
