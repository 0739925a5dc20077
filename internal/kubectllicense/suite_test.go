package kubectllicense

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/clitest"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The plugin against a real kube-apiserver and etcd with the CRDs: no
// operator and no webhooks run, so each test creates the objects and writes
// their status as the operator would (Status().Update), then runs the
// plugin as a user does: with a kubeconfig file, in-process (runPlugin, on
// a fake clock at now) or as the built binary (pluginBinary).

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	k8sClient client.Client
	// adminKubeconfig is a kubeconfig file of a cluster administrator.
	adminKubeconfig string
	kubeconfigDir   string
)

func TestKubectlLicense(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	RunSpecs(t, "kubectl-license Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: Scheme})
	Expect(err).NotTo(HaveOccurred())
	kubeconfigDir, err = os.MkdirTemp("", "kubectl-license-")
	Expect(err).NotTo(HaveOccurred())
	adminKubeconfig = kubeconfigOf("admin", "system:masters")
})

var _ = AfterSuite(func() {
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if kubeconfigDir != "" {
		Expect(os.RemoveAll(kubeconfigDir)).To(Succeed())
	}
})

// kubeconfigOf writes a kubeconfig file of a new user of the API server.
func kubeconfigOf(name string, groups ...string) string {
	u, err := testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	Expect(err).NotTo(HaveOccurred())
	b, err := u.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(kubeconfigDir, name+".kubeconfig")
	Expect(os.WriteFile(path, b, 0o600)).To(Succeed())
	return path
}

// runPlugin runs kubectl-license in-process with --kubeconfig and args, on
// a fake clock at now, and returns what it wrote to stdout and stderr.
func runPlugin(kubeconfig string, args ...string) (string, string, error) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := NewFactory(errOut)
	f.Clock = clocktesting.NewFakePassiveClock(now)
	root := newRootCmd(f, streams)
	root.SetArgs(append([]string{"--kubeconfig", kubeconfig}, args...))
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// pluginBinary builds cmd/kubectl-license once.
func pluginBinary() string {
	buildOnce.Do(func() { binary, buildErr = clitest.BuildPlugin(utiltesting.RepoRoot(), kubeconfigDir) })
	Expect(buildErr).NotTo(HaveOccurred())
	return binary
}

// runBinary runs the built plugin with args, the environment plus env and
// stdin, as a shell runs it, and returns its standard output, its standard
// error and its exit status.
func runBinary(env []string, stdin string, args ...string) (string, string, int) {
	out, errOut, code, err := clitest.RunBinary(pluginBinary(), env, stdin, args...)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("$ kubectl license %s\n%s%s(exit %d)\n", strings.Join(args, " "), out, errOut, code)
	return out, errOut, code
}

func createNamespace(names ...string) {
	for _, n := range names {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})).To(Succeed())
	}
}

// createLicence creates the licence, then writes its status as the operator would.
func createLicence(l *licensingv1alpha1.SoftwareLicense) *licensingv1alpha1.SoftwareLicense {
	st := l.Status.DeepCopy()
	Expect(k8sClient.Create(ctx, l)).To(Succeed())
	l.Status = *st
	Expect(k8sClient.Status().Update(ctx, l)).To(Succeed())
	return l
}

// createAssignment creates the assignment, then writes its status as the operator would.
func createAssignment(a *licensingv1alpha1.LicenseAssignment) {
	st := a.Status.DeepCopy()
	Expect(k8sClient.Create(ctx, a)).To(Succeed())
	a.Status = *st
	Expect(k8sClient.Status().Update(ctx, a)).To(Succeed())
}

func createPod(p *corev1.Pod) *corev1.Pod {
	p.UID = ""
	p.CreationTimestamp = metav1.Time{}
	p.Status = corev1.PodStatus{}
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	return p
}

// createEvent writes an event on obj as the operator's recorder does
// (events.k8s.io/v1).
func createEvent(obj client.Object, kind, reason, action, note string, at time.Time) {
	e := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", obj.GetName(), time.Now().UnixNano()), Namespace: obj.GetNamespace()},
		EventTime:           metav1.NewMicroTime(at),
		ReportingController: "license-operator",
		ReportingInstance:   "license-operator-test",
		Action:              action,
		Reason:              reason,
		Type:                corev1.EventTypeNormal,
		Note:                note,
		Regarding: corev1.ObjectReference{
			Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		},
	}
	Expect(k8sClient.Create(ctx, e)).To(Succeed())
}

// grantReader lets user read licensing objects, Pods and events in namespace, and nothing else.
func grantReader(user, namespace string) {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "licence-reader-" + user, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{licensingv1alpha1.GroupVersion.Group}, Resources: []string{"softwarelicenses", "licenseassignments"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"list"}},
		},
	}
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "licence-reader-" + user, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	})).To(Succeed())
}
