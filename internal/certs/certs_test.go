package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/internal/certs"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The suite runs certs.Manage and certs.NewServer in a manager, as
// cmd/main.go does with --internal-cert-management, against a real
// kube-apiserver (envtest, RBAC authorization), as a user that holds exactly
// what config/internalcert's Role and the operator's ClusterRole give the
// rotator, by resourceNames: an unscoped list or watch of Secrets or webhook
// configurations is forbidden to it, so the rotator works only if its cache
// asks for the named objects alone.
//
// envtest runs no kubelet: where a Pod would have the Secret mounted in its
// certificate directory, the test copies the Secret's keys into that
// directory itself (mount), at the moment it chooses.

const (
	namespace   = "license-operator-system"
	secretName  = "webhook-server-cert"
	validating  = "license-operator-validating-webhook-configuration"
	mutating    = "license-operator-mutating-webhook-configuration"
	dnsName     = "license-operator-webhook-service.license-operator-system.svc"
	operator    = "license-operator-certs-test"
	unrelated   = "someone-elses-webhook-configuration"
	helloPath   = "/hello"
	helloAnswer = "hello from the webhook server"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	admin     client.Client
	certDir   string
	probeURL  string
	serveAddr string
	mgrDone   chan error
)

func TestCerts(t *testing.T) {
	RegisterFailHandler(Fail)
	// Two shared cores: the rotator checks for the mounted files with a
	// backoff of 1 s, 2 s, 4 s...; the server reloads renewed files every 10 s.
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Certs Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	admin, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("the objects the chart installs: the namespace, the empty Secret, the two webhook configurations")
	Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})).To(Succeed())
	Expect(admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName, Namespace: namespace},
		Type: corev1.SecretTypeOpaque})).To(Succeed())
	Expect(admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "another", Namespace: namespace},
		StringData: map[string]string{"password": "not the operator's"}})).To(Succeed())
	for _, name := range []string{validating, unrelated} {
		Expect(admin.Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks:   []admissionregistrationv1.ValidatingWebhook{idleWebhook("a." + name + ".example.com"), idleWebhook("b." + name + ".example.com")},
		})).To(Succeed())
	}
	Expect(admin.Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mutating},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{idleMutatingWebhook("a.mutating.example.com"), idleMutatingWebhook("b.mutating.example.com")},
	})).To(Succeed())

	By("the operator's user: config/internalcert's Role, the webhook configuration rules of the ClusterRole " +
		"(config/rbac/role.yaml), and a read of the Secret by name")
	internalRole := &rbacv1.Role{}
	readYAML(filepath.Join("config", "internalcert", "role.yaml"), internalRole)
	internalRole.Namespace = namespace
	// The ClusterRole grants secrets get/list/watch in every namespace (the
	// licence key Secrets' cache); the rotator needs them on its Secret only.
	internalRole.Rules = append(internalRole.Rules, rbacv1.PolicyRule{
		APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{secretName},
		Verbs: []string{"get", "list", "watch"},
	})
	createRole(internalRole)
	managerRole := &rbacv1.ClusterRole{}
	readYAML(filepath.Join("config", "rbac", "role.yaml"), managerRole)
	webhookRules := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "certs-test-webhook-configurations"}}
	for _, r := range managerRole.Rules {
		if slices.Contains(r.APIGroups, admissionregistrationv1.GroupName) {
			webhookRules.Rules = append(webhookRules.Rules, r)
		}
	}
	Expect(webhookRules.Rules).To(HaveEach(HaveField("ResourceNames", Not(BeEmpty()))))
	createRole(webhookRules)
	user, err := testEnv.AddUser(envtest.User{Name: operator}, nil)
	Expect(err).NotTo(HaveOccurred())
	userCfg := user.Config()
	userClient, err := client.New(userCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	By("an unscoped list is forbidden to it: without the scoped cache the rotator could not read")
	Eventually(func() error {
		return userClient.List(ctx, &corev1.SecretList{}, client.InNamespace(namespace), client.MatchingFields{"metadata.name": secretName})
	}).Should(Succeed()) // RBAC has caught up
	Expect(userClient.List(ctx, &corev1.SecretList{}, client.InNamespace(namespace))).To(Satisfy(apierrors.IsForbidden))
	Expect(userClient.List(ctx, &admissionregistrationv1.ValidatingWebhookConfigurationList{})).To(Satisfy(apierrors.IsForbidden))
	Expect(userClient.List(ctx, &admissionregistrationv1.MutatingWebhookConfigurationList{})).To(Satisfy(apierrors.IsForbidden))

	By("a manager as cmd/main.go builds it with --internal-cert-management")
	certDir = GinkgoT().TempDir()
	webhookPort, probePort := freePort(), freePort()
	serveAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(webhookPort))
	probeURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)) + "/readyz?verbose"
	ready := make(chan struct{})
	mgr, err := ctrl.NewManager(userCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
		WebhookServer:          certs.NewServer(ready, webhook.Options{Host: "127.0.0.1", Port: webhookPort, CertDir: certDir}),
	})
	Expect(err).NotTo(HaveOccurred())
	mgr.GetWebhookServer().Register(helloPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, helloAnswer)
	}))
	Expect(mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker())).To(Succeed())
	Expect(certs.Manage(mgr, certs.Options{
		Secret:                         types.NamespacedName{Namespace: namespace, Name: secretName},
		DNSNames:                       []string{dnsName, "localhost"},
		CertDir:                        certDir,
		ValidatingWebhookConfiguration: validating,
		MutatingWebhookConfiguration:   mutating,
		Ready:                          ready,
	})).To(Succeed())
	mgrDone = make(chan error, 1)
	go func() {
		defer GinkgoRecover()
		mgrDone <- mgr.Start(ctx)
	}()
})

var _ = AfterSuite(func() {
	if cancel != nil {
		cancel()
	}
	if mgrDone != nil {
		Eventually(mgrDone).Should(Receive(Not(HaveOccurred())))
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

var _ = Describe("Internal certificate management", Ordered, func() {
	var firstCA []byte

	It("writes a CA and a serving certificate for the DNS names into the Secret", func() {
		Eventually(secretData).Should(SatisfyAll(
			HaveKeyWithValue("ca.crt", Not(BeEmpty())), HaveKeyWithValue("ca.key", Not(BeEmpty())),
			HaveKeyWithValue("tls.crt", Not(BeEmpty())), HaveKeyWithValue("tls.key", Not(BeEmpty())),
		))
		data := secretData()
		firstCA = data["ca.crt"]
		for _, name := range []string{dnsName, "localhost"} {
			Expect(verify(data["tls.crt"], firstCA, name)).To(Succeed(), name)
		}
		Expect(verify(data["tls.crt"], firstCA, "license-operator-webhook-service.elsewhere.svc")).NotTo(Succeed())
		Expect(running()).To(BeTrue())
	})

	It("is not ready, and does not serve, while the certificate files are missing", func() {
		Expect(filepath.Join(certDir, "tls.crt")).NotTo(BeAnExistingFile())
		Eventually(readyz).Should(And(HavePrefix("500 "), ContainSubstring("[-]webhook failed")))
		_, err := net.Dial("tcp", serveAddr)
		Expect(err).To(HaveOccurred(), "the webhook port is open before the certificate files exist")
	})

	It("serves, with that certificate, and is ready once the Secret is mounted", func() {
		mount()
		Eventually(readyz).Should(HavePrefix("200 "))
		for _, name := range []string{dnsName, "localhost"} {
			Expect(hello(firstCA, name)).To(Equal(helloAnswer), name)
		}
	})

	It("puts the CA into the caBundle of every webhook of both configurations, and of no other", func() {
		Eventually(caBundles).WithArguments(validating, mutating).Should(HaveEach(Equal(firstCA)))
		Expect(caBundles(unrelated)).To(HaveEach(BeEmpty()))
	})

	It("makes a new CA when the Secret loses it, injects it, and serves the new certificate once mounted", func() {
		secret := &corev1.Secret{}
		Expect(admin.Get(ctx, types.NamespacedName{Namespace: namespace, Name: secretName}, secret)).To(Succeed())
		secret.Data = nil
		Expect(admin.Update(ctx, secret)).To(Succeed())

		Eventually(secretData).Should(And(
			HaveKeyWithValue("ca.crt", And(Not(BeEmpty()), Not(Equal(firstCA)))),
			HaveKeyWithValue("tls.crt", Not(BeEmpty())),
		))
		data := secretData()
		Expect(verify(data["tls.crt"], data["ca.crt"], dnsName)).To(Succeed())
		Eventually(caBundles).WithArguments(validating, mutating).Should(HaveEach(Equal(data["ca.crt"])))

		mount()
		Eventually(func() (string, error) { return hello(data["ca.crt"], dnsName) }).Should(Equal(helloAnswer))
		Expect(running()).To(BeTrue())
	})
})

// idleWebhook is a webhook that no request reaches (an object selector no
// object matches); only its caBundle matters here.
func idleWebhook(name string) admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{
		Name: name,
		ClientConfig: admissionregistrationv1.WebhookClientConfig{
			Service: &admissionregistrationv1.ServiceReference{Namespace: namespace, Name: "license-operator-webhook-service", Path: ptr.To(helloPath)},
		},
		Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"certs-test/never": "set"}},
		FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
		SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
		AdmissionReviewVersions: []string{"v1"},
	}
}

// idleMutatingWebhook is idleWebhook in a MutatingWebhookConfiguration.
func idleMutatingWebhook(name string) admissionregistrationv1.MutatingWebhook {
	v := idleWebhook(name)
	return admissionregistrationv1.MutatingWebhook{Name: v.Name, ClientConfig: v.ClientConfig, Rules: v.Rules,
		ObjectSelector: v.ObjectSelector, FailurePolicy: v.FailurePolicy, SideEffects: v.SideEffects,
		AdmissionReviewVersions: v.AdmissionReviewVersions}
}

// readYAML reads the file of this repository into obj.
func readYAML(file string, obj client.Object) {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), file))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(raw, obj)).To(Succeed())
}

// createRole creates role (a Role or a ClusterRole) and binds it to the
// operator's user.
func createRole(role client.Object) {
	GinkgoHelper()
	Expect(admin.Create(ctx, role)).To(Succeed())
	subjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operator}}
	if _, ok := role.(*rbacv1.Role); ok {
		Expect(admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.GetName(), Namespace: role.GetNamespace()},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.GetName()}, Subjects: subjects})).To(Succeed())
		return
	}
	Expect(admin.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.GetName()},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.GetName()}, Subjects: subjects})).To(Succeed())
}

// freePort is a TCP port of 127.0.0.1 that nothing listens on.
func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// secretData is the Secret's data, read as the administrator.
func secretData() map[string][]byte {
	GinkgoHelper()
	secret := &corev1.Secret{}
	Expect(admin.Get(ctx, types.NamespacedName{Namespace: namespace, Name: secretName}, secret)).To(Succeed())
	return secret.Data
}

// mount does what the kubelet does for a Pod that mounts the Secret: each
// key becomes a file of the certificate directory, replaced whole (written
// aside, then renamed), so that a reader never sees half a file.
func mount() {
	GinkgoHelper()
	data := secretData()
	Expect(data).To(HaveKey("tls.crt"))
	for _, key := range []string{"ca.crt", "ca.key", "tls.key", "tls.crt"} {
		tmp := filepath.Join(certDir, "."+key+".tmp")
		Expect(os.WriteFile(tmp, data[key], 0o600)).To(Succeed())
		Expect(os.Rename(tmp, filepath.Join(certDir, key))).To(Succeed())
	}
}

// readyz is the status line and body of the manager's /readyz?verbose.
func readyz() (string, error) {
	resp, err := http.Get(probeURL) //nolint:gosec // the test's own loopback address
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return resp.Status + "\n" + string(body), err
}

// hello calls the webhook server, trusting only ca and expecting a
// certificate for serverName, and returns what it answers.
func hello(ca []byte, serverName string) (string, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return "", fmt.Errorf("no certificate in the CA")
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12},
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + serveAddr + helloPath)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// verify checks that certPEM is a serving certificate for dnsName signed by caPEM.
func verify(certPEM, caPEM []byte, dnsName string) error {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return fmt.Errorf("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in the CA")
	}
	_, err = cert.Verify(x509.VerifyOptions{DNSName: dnsName, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

// caBundles are the caBundles of every webhook of the named configurations
// (validating, then mutating), read as the administrator.
func caBundles(names ...string) ([][]byte, error) {
	var out [][]byte
	for _, name := range names {
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := admin.Get(ctx, types.NamespacedName{Name: name}, vwc); err == nil {
			for _, w := range vwc.Webhooks {
				out = append(out, w.ClientConfig.CABundle)
			}
			continue
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := admin.Get(ctx, types.NamespacedName{Name: name}, mwc); err != nil {
			return nil, err
		}
		for _, w := range mwc.Webhooks {
			out = append(out, w.ClientConfig.CABundle)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no webhooks in %v", names)
	}
	return out, nil
}

// running reports that the manager has not stopped (the rotator stops it
// when it cannot write or inject).
func running() bool {
	select {
	case err := <-mgrDone:
		mgrDone <- err
		return false
	default:
		return true
	}
}
