package withcontrollers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs the operator as it is deployed, on a real kube-apiserver:
// one manager serving the webhooks (configured exactly as config/webhook
// renders them) and running every controller, as the operator's
// ServiceAccount with the SeatLedger write policy applied, so that what
// admission counts shows in the status the controllers compute
// (consumption, a freeToUse product's uses).

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	stopMgrs  func()
)

func TestWithControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Admission with the controllers Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme := kubecluster.Scheme()

	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv, err = kubecluster.WebhookEnvironment(assets)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 1000, 2000
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(kubecluster.ApplySeatLedgerPolicy(ctx, k8sClient, licensing.DefaultOperatorUsername)).To(Succeed())

	var errs <-chan error
	stopMgrs, errs, err = kubecluster.StartOperator(ctx, testEnv, k8sClient, scheme, controller.Options{Clock: clock.RealClock{}})
	Expect(err).NotTo(HaveOccurred())
	Consistently(errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	if stopMgrs != nil {
		stopMgrs()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
