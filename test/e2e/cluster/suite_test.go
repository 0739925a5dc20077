package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs license-operator in a cluster with real controllers: etcd
// and kube-apiserver (envtest, with the ServiceAccount admission plugin on),
// kube-controller-manager with every controller (service account tokens,
// ReplicaSets, garbage collection), kube-scheduler, a kubemark hollow node
// that "runs" Pods without a container runtime, and the manager binary built
// from ./cmd serving its webhooks over TLS, as in a real cluster.

var (
	ctx        context.Context
	cancel     context.CancelFunc
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
	scheme     *runtime.Scheme
	components *kubecluster.Components
	manager    *exec.Cmd
	workDir    string
)

func TestCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Full-cluster e2e Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme = kubecluster.Scheme()
	var err error
	workDir, err = os.MkdirTemp("", "e2e-cluster-")
	Expect(err).NotTo(HaveOccurred())

	assets, err := utiltesting.ClusterAssets()
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
	// A real cluster admits Pods through the ServiceAccount plugin (envtest turns it off).
	testEnv.ControlPlane.GetAPIServer().Configure().Disable("disable-admission-plugins")
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	admin, err := testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	// The manager runs as e2e-admin: the seat ledgers' policy names it as the operator.
	Expect(kubecluster.ApplySeatLedgerPolicy(ctx, k8sClient, "e2e-admin")).To(Succeed())
	kubeconfig, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfigPath := filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfigPath, kubeconfig, 0o600)).To(Succeed())
	caPath := filepath.Join(workDir, "ca.crt")
	Expect(os.WriteFile(caPath, cfg.CAData, 0o600)).To(Succeed())
	// The controller manager authenticates as a cluster's does, so that the
	// operator trusts its Pods to keep the user of their template.
	kcm, err := testEnv.AddUser(envtest.User{Name: kubecluster.ControllerManagerUser, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kcmKubeconfig, err := kcm.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kcmKubeconfigPath := filepath.Join(workDir, "kube-controller-manager.kubeconfig")
	Expect(os.WriteFile(kcmKubeconfigPath, kcmKubeconfig, 0o600)).To(Succeed())

	components, err = kubecluster.Start(kubecluster.Options{
		AssetsDir:                   assets,
		WorkDir:                     workDir,
		Kubeconfig:                  kubeconfigPath,
		ControllerManagerKubeconfig: kcmKubeconfigPath,
		ServiceAccountKeyFile:       filepath.Join(testEnv.ControlPlane.GetAPIServer().CertDir, "sa-signer.key"),
		RootCAFile:                  caPath,
		HollowNodes:                 1,
	})
	Expect(err).NotTo(HaveOccurred())

	By("waiting for the hollow node, the default ServiceAccount and the manager")
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer wcancel()
	Expect(components.WaitReady(wctx, k8sClient)).To(Succeed(), func() string { return logsOnFailure() })
	By("building and starting the manager binary with its webhooks")
	// E2E_MANAGER_BINARY runs a prebuilt manager instead of building ./cmd.
	bin := os.Getenv("E2E_MANAGER_BINARY")
	if bin == "" {
		bin = filepath.Join(workDir, "manager")
		build := exec.Command("go", "build", "-o", bin, "./cmd")
		build.Dir = utiltesting.RepoRoot()
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	}
	wio := &testEnv.WebhookInstallOptions
	probePort, err := kubecluster.FreePort()
	Expect(err).NotTo(HaveOccurred())
	logFile, err := os.Create(filepath.Join(workDir, "manager.log"))
	Expect(err).NotTo(HaveOccurred())
	manager = exec.Command(bin,
		"--webhook-cert-path="+wio.LocalServingCertDir,
		"--webhook-port="+strconv.Itoa(wio.LocalServingPort),
		"--metrics-bind-address=0",
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
		"--leader-elect=false",
		"--validating-webhook-configuration="+kubecluster.WebhookConfigurations.Validating,
		"--mutating-webhook-configuration="+kubecluster.WebhookConfigurations.Mutating,
	)
	manager.Env = append(os.Environ(), "KUBECONFIG="+kubeconfigPath)
	manager.Stdout, manager.Stderr = logFile, logFile
	Expect(manager.Start()).To(Succeed())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() || os.Getenv("E2E_LOGS") != "" {
			for name, path := range components.Logs {
				GinkgoWriter.Printf("--- tail of %s (%s)\n%s\n", name, path, tail(path, 30))
			}
			GinkgoWriter.Printf("--- tail of manager\n%s\n", tail(logFile.Name(), 60))
		}
	})

	Expect(kubecluster.WaitFor(wctx, func() error {
		resp, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort))
		if err != nil {
			return err
		}
		if resp != 200 {
			return fmt.Errorf("manager /readyz: %d", resp)
		}
		return nil
	})).To(Succeed(), func() string { return "manager log:\n" + tail(logFile.Name(), 60) })
})

var _ = AfterSuite(func() {
	if manager != nil && manager.Process != nil {
		_ = manager.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = manager.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = manager.Process.Kill()
			<-done
		}
	}
	if components != nil {
		components.Stop()
	}
	if cancel != nil {
		cancel()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if workDir != "" && os.Getenv("E2E_KEEP") == "" {
		_ = os.RemoveAll(workDir)
	}
})

func logsOnFailure() string {
	var b bytes.Buffer
	for name, path := range components.Logs {
		fmt.Fprintf(&b, "--- %s\n%s\n", name, tail(path, 20))
	}
	return b.String()
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
