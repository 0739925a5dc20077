package admission

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// These tests serve the webhooks of the manager to a real kube-apiserver over
// TLS, with the webhook configurations exactly as config/webhook renders them.
// Two managers serve, behind a round-robin TCP proxy that the configurations'
// URL points at, as two replicas behind a Service would. No licensing
// controller runs: the tests write licence and assignment status directly, as
// the lifecycle and seat controllers would.

// operatorUser is the identity the managers of this suite run as.
const operatorUser = "license-operator-under-test"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	// operatorClient acts as the operator's ServiceAccount would: the
	// managers run as operatorUser, the only writer the SeatLedger policy allows.
	operatorClient client.Client
	scheme         *runtime.Scheme
	proxy          *kubecluster.Proxy
	stopMgrs       func()
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Admission webhooks Suite")
}

// warnings collects the warnings of the requests made with a context from withWarnings.
type warningsKey struct{}

type warningList struct {
	mu   sync.Mutex
	list []string
}

type collector struct{}

func (collector) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	if w, ok := ctx.Value(warningsKey{}).(*warningList); ok {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

func withWarnings() (context.Context, *warningList) {
	w := &warningList{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

func (w *warningList) All() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
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
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks:   muts,
			ValidatingWebhooks: vals,
			LocalServingHost:   "127.0.0.1",
		},
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 1000, 2000

	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandlerWithContext = collector{}
	k8sClient, err = client.New(wcfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The managers run as the operator, and only the operator may write seat
	// ledgers, as config/policy says of the operator's ServiceAccount.
	op, err := testEnv.AddUser(envtest.User{Name: operatorUser, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	opCfg := op.Config()
	opCfg.QPS, opCfg.Burst = 1000, 2000
	operatorClient, err = client.New(opCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Expect(kubecluster.ApplySeatLedgerPolicy(ctx, k8sClient, operatorUser)).To(Succeed())
	probe := utiltesting.MakeSeatLedger("policy-probe", "default", "probe").Obj()
	Eventually(func() error { return k8sClient.Create(ctx, probe.DeepCopy()) }).Should(MatchError(ContainSubstring("only the operator may")))

	// Two webhook replicas behind the proxy the webhook URLs point at.
	wio := &testEnv.WebhookInstallOptions
	var mgrs []ctrl.Manager
	var backends []string
	for range 2 {
		port, err := kubecluster.FreePort()
		Expect(err).NotTo(HaveOccurred())
		mgr, err := kubecluster.NewWebhookManager(opCfg, scheme, port, wio.LocalServingCertDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(licensingwebhook.SetupWithManager(mgr, licensingwebhook.Options{Workload: workload.Options{WebhookConfigurations: kubecluster.WebhookConfigurations}})).To(Succeed())
		mgrs = append(mgrs, mgr)
		backends = append(backends, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	proxy, err = kubecluster.StartProxy(net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort)), wio.LocalServingCertDir, wio.LocalServingCAData, backends...)
	Expect(err).NotTo(HaveOccurred())
	var errs <-chan error
	stopMgrs, errs = kubecluster.StartManagers(ctx, mgrs...)
	for _, m := range mgrs {
		Eventually(func() error { return m.GetWebhookServer().StartedChecker()(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
	}
	Consistently(errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	if stopMgrs != nil {
		stopMgrs()
	}
	if proxy != nil {
		_ = proxy.Close()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// webhookRequests is how many admission requests the webhook servers have
// answered at path, from controller-runtime's webhook metrics.
func webhookRequests(path string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_webhook_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "webhook") == path {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

var nsCounter int

func newNamespace(labels ...map[string]string) string {
	nsCounter++
	name := fmt.Sprintf("adm-%d-%d", GinkgoParallelProcess(), nsCounter)
	var l map[string]string
	if len(labels) > 0 {
		l = labels[0]
	}
	ns := kubecluster.MakeNamespace(name, l)
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return name
}
