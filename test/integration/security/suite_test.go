package security

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
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
// cmd/main.go does) as the operator's ServiceAccount user on a real
// kube-apiserver, with the webhook configurations exactly as config/webhook
// renders them, and attacks it with the identities of ordinary tenants: each
// test user is a client certificate of envtest's API server (RBAC
// authorization), given only the rights of a namespace editor through Roles
// the test creates. envtest runs no kube-controller-manager, so the
// aggregated ClusterRoles (edit, admin) have no rules: the Roles spell the
// editor's rights out.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme
	stopMgr   func()
)

const (
	timeout  = 30 * time.Second
	interval = 100 * time.Millisecond
)

func TestSecurity(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(timeout)
	SetDefaultEventuallyPollingInterval(interval)
	RunSpecs(t, "Security Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme = kubecluster.Scheme()

	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv, err = kubecluster.WebhookEnvironment(assets)
	Expect(err).NotTo(HaveOccurred())
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 1000, 2000
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	// The operator: its ServiceAccount's user, with the rights of cluster-admin.
	var errs <-chan error
	stopMgr, errs, err = kubecluster.StartOperator(ctx, testEnv, k8sClient, scheme, controller.Options{Clock: clock.RealClock{}})
	Expect(err).NotTo(HaveOccurred())
	Consistently(errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	if stopMgr != nil {
		stopMgr()
	}
	cancel()
	if adminKubeconfig != "" {
		Expect(os.RemoveAll(filepath.Dir(adminKubeconfig))).To(Succeed())
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// userConfig is a rest.Config authenticating as the user (a client
// certificate of the test API server).
func userConfig(name string, groups []string) *rest.Config {
	u, err := testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	Expect(err).NotTo(HaveOccurred())
	c := u.Config()
	c.QPS, c.Burst = 1000, 2000
	return c
}

// warnings collects the admission warnings a client receives.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) All() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

// tenant is a test user and its client.
type tenant struct {
	name     string
	client   client.Client
	warnings *warnings
}

// newTenant is a user with no rights yet; grant gives some.
func newTenant(name string) *tenant {
	c := userConfig(name, []string{"system:authenticated"})
	w := &warnings{}
	c.WarningHandler = w
	cl, err := client.New(c, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return &tenant{name: name, client: cl, warnings: w}
}

// editorRules are what a namespace editor may do with the licensing kinds
// and workloads: everything, and nothing with Secrets.
var editorRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"licensing.license-operator.dev"}, Resources: []string{"softwarelicenses", "licenseassignments"}, Verbs: []string{"*"}},
	{APIGroups: []string{""}, Resources: []string{"pods", "configmaps", "serviceaccounts"}, Verbs: []string{"*"}},
}

// grant gives the user the rules in namespace ns (a Role and its RoleBinding).
func grant(user, ns string, rules ...rbacv1.PolicyRule) {
	name := fmt.Sprintf("test-%s-%s", user, rand.String(5))
	Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules})).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
}

// grantCluster gives the user the rules cluster-wide.
func grantCluster(user string, rules ...rbacv1.PolicyRule) {
	name := fmt.Sprintf("test-%s-%s", user, rand.String(5))
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
}

func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sec-" + rand.String(6)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}
