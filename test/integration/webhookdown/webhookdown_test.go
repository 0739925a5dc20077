package webhookdown

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite installs the webhook configurations exactly as config/webhook
// renders them, pointing at a webhook server that never runs: the webhooks
// are down. The controllers run as the operator's ServiceAccount user with
// the manager ClusterRole of config/rbac/role.yaml, as config/default deploys
// them. The operator's own writes skip its webhooks (matchCondition
// not-the-operator), so its finalizers come and go; everyone else's writes
// are still refused (failurePolicy Fail).

var (
	ctx        context.Context
	cancel     context.CancelFunc
	testEnv    *envtest.Environment
	k8sClient  client.Client
	operator   client.Client
	restorer   client.Client
	validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
	stopMgr    func()
)

func TestWebhookDown(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Webhook down Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme := kubecluster.Scheme()
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	mutating, validating, err = kubecluster.KustomizedWebhooks(assets)
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		// Nothing serves at the URL these point to.
		WebhookInstallOptions: envtest.WebhookInstallOptions{MutatingWebhooks: mutating, ValidatingWebhooks: validating, LocalServingHost: "127.0.0.1"},
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The manager ClusterRole as config/rbac/role.yaml ships it, bound to the
	// operator's ServiceAccount user.
	raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(raw, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "manager-rolebinding"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: licensing.DefaultOperatorUsername}},
	})).To(Succeed())
	u, err := testEnv.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:license-operator-system", "system:authenticated"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	operatorCfg := rest.CopyConfig(u.Config())
	operator, err = client.New(operatorCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	// A restore writes licences and assignments under the operator's
	// username (its writes skip the webhooks), which the shipped role alone
	// does not grant: the operator never creates them. The restorer has the
	// same username, with a group that may.
	r, err := testEnv.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	restorer, err = client.New(r.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(operatorCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}})).To(Succeed())
	var errs <-chan error
	stopMgr, errs = kubecluster.StartManagers(ctx, mgr)
	Consistently(errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	if stopMgr != nil {
		stopMgr()
	}
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

var _ = Describe("With the webhooks down", func() {
	notTheOperator := admissionregistrationv1.MatchCondition{
		Name:       licensing.NotTheOperatorCondition,
		Expression: licensing.NotTheOperatorExpression(licensing.DefaultOperatorUsername),
	}

	It("installs every webhook of the operator with the condition that lets the operator's writes skip it", func() {
		n := 0
		for _, c := range mutating {
			for _, w := range c.Webhooks {
				Expect(w.MatchConditions).To(ContainElement(notTheOperator), w.Name)
				n++
			}
		}
		for _, c := range validating {
			for _, w := range c.Webhooks {
				Expect(w.MatchConditions).To(ContainElement(notTheOperator), w.Name)
				n++
			}
		}
		Expect(n).To(BeNumerically(">=", 12))
	})

	It("lets the operator add and remove its finalizer promptly, and still refuses everyone else's writes", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "down-" + rand.String(6)}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())

		By("a person's write fails: failurePolicy Fail")
		err := k8sClient.Create(ctx, utiltesting.MakeLicense("cad", ns.Name).Seats(2).MaxActivations(10).Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("failed calling webhook"))

		By("the operator's own writes skip the webhooks (the licence and its assignment are written as the operator, as a restore would)")
		Expect(restorer.Create(ctx, utiltesting.MakeLicense("cad", ns.Name).Seats(2).MaxActivations(10).Obj())).To(Succeed())
		Expect(restorer.Create(ctx, utiltesting.MakeAssignment("a", ns.Name).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			var l v1.SoftwareLicense
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "cad"}, &l)).To(Succeed())
			g.Expect(l.Finalizers).To(ContainElement(v1.LicenseFinalizer), "the controller added its finalizer through the down webhooks")
			var a v1.LicenseAssignment
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "a"}, &a)).To(Succeed())
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
		}).Should(Succeed())

		By("a person's update of the licence is refused")
		var l v1.SoftwareLicense
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "cad"}, &l)).To(Succeed())
		l.Labels = map[string]string{"team": "cad"}
		err = k8sClient.Update(ctx, &l)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("failed calling webhook"))

		By("deleting the licence after its holder: the DELETE webhook (failurePolicy Ignore) does not block, and the finalizer goes promptly")
		Expect(k8sClient.Delete(ctx, &v1.LicenseAssignment{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "a"}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, &v1.SoftwareLicense{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "cad"}})).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "cad"}, &v1.SoftwareLicense{}))
		}).WithTimeout(10*time.Second).Should(BeTrue(), "the licence is gone though every webhook is down")
	})
})
