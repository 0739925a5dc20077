package withcontrollers

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs the operator as it is deployed, on a real kube-apiserver:
// one manager serving the webhooks (configured exactly as config/webhook
// renders them) and running every controller, so that what admission counts
// shows in the status the controllers compute (consumption, a freeToUse
// product's uses).

const operatorUser = "license-operator-under-test"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	// operatorClient acts as the operator's ServiceAccount.
	operatorClient client.Client
	scheme         *runtime.Scheme
	stopMgrs       func()
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
	scheme = kubecluster.Scheme()

	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	muts, vals, err := kubecluster.KustomizedWebhooks(assets)
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{MutatingWebhooks: muts, ValidatingWebhooks: vals, LocalServingHost: "127.0.0.1"},
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 1000, 2000
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	op, err := testEnv.AddUser(envtest.User{Name: operatorUser, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	opCfg := op.Config()
	opCfg.QPS, opCfg.Burst = 1000, 2000
	operatorClient, err = client.New(opCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(kubecluster.ApplySeatLedgerPolicy(ctx, k8sClient, operatorUser)).To(Succeed())

	wio := &testEnv.WebhookInstallOptions
	port, err := kubecluster.FreePort()
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(rest.CopyConfig(opCfg), managerOptions(port, wio.LocalServingCertDir))
	Expect(err).NotTo(HaveOccurred())
	Expect(licensingwebhook.SetupWithManager(mgr)).To(Succeed())
	Expect(controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}})).To(Succeed())
	proxy, err := kubecluster.StartProxy(net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort)), wio.LocalServingCertDir, wio.LocalServingCAData,
		net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	Expect(err).NotTo(HaveOccurred())
	var errs <-chan error
	stopMgrs, errs = kubecluster.StartManagers(ctx, mgr)
	DeferCleanup(func() { _ = proxy.Close() })
	Eventually(func() error { return mgr.GetWebhookServer().StartedChecker()(nil) }).Should(Succeed())
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
