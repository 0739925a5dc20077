package seats

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// What GitOps tools read: kstatus (Flux, kpt, cli-utils) on the objects as
// the API server has them, and kubectl wait --for=condition=Ready with the
// envtest kubectl. docs/health.md has the mapping these tests check.

// kstatusOf is what kstatus computes for obj, read from the API server as
// an unstructured object, as Flux reads it, and whether the operator wrote
// a status yet (status.observedGeneration is there).
//
// On the same object it runs the Argo CD health check of config/argocd
// (argoHealth) and expects the health docs/health.md maps that kstatus
// result to: Argo CD does not read kstatus, so the two must agree here.
func kstatusOf(g Gomega, obj client.Object) (*status.Result, bool) {
	gvk, err := apiutil.GVKForObject(obj, scheme)
	g.Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), u)).To(Succeed())
	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	_, observed, err := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	g.Expect(err).NotTo(HaveOccurred())
	if observed {
		health, msg, err := argoHealth(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(health).To(Equal(argoHealthFor[res.Status]), "%s: kstatus %s (%s), Argo CD %s (%s)",
			client.ObjectKeyFromObject(obj), res.Status, res.Message, health, msg)
	}
	return res, observed
}

// expectKstatus waits until kstatus computes want for obj from a status
// the operator wrote, and returns the result. Before the first status
// kstatus calls any object Current (docs/health.md): that is not what these
// tests are about.
func expectKstatus(obj client.Object, want status.Status) *status.Result {
	var res *status.Result
	Eventually(func(g Gomega) {
		var observed bool
		res, observed = kstatusOf(g, obj)
		g.Expect(observed).To(BeTrue(), "%s has no status yet", client.ObjectKeyFromObject(obj))
		g.Expect(res.Status).To(Equal(want), "%s: %s", client.ObjectKeyFromObject(obj), res.Message)
	}, timeout, interval).Should(Succeed())
	return res
}

// healthKubeconfig is a cluster administrator's kubeconfig for the test API
// server, written once.
var healthKubeconfig string

// kubectl runs the envtest kubectl as a cluster administrator and returns
// its output; it fails the test when kubectl fails.
func kubectl(args ...string) string {
	assets, err := ut.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	if healthKubeconfig == "" {
		admin, err := testEnv.AddUser(envtest.User{Name: "health-admin", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig, err := admin.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		dir := GinkgoT().TempDir()
		healthKubeconfig = filepath.Join(dir, "kubeconfig")
		Expect(os.WriteFile(healthKubeconfig, kubeconfig, 0o600)).To(Succeed())
		DeferCleanup(func() { healthKubeconfig = "" })
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", healthKubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	Expect(cmd.Run()).To(Succeed(), "kubectl %s: %s", strings.Join(args, " "), stderr.String())
	return out.String()
}

var _ = Describe("Health that tools read", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	It("reads a healthy product, licence and assignment as Current, and kubectl wait --for=condition=Ready returns for each", func() {
		ns := newNamespace()
		product := "health-" + ns
		p := ut.MakeProduct(product).Authorization(v1.AuthorizationUser).Obj()
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		l := licence(ns, "cad", 2).Product(product).SeatModel(v1.SeatModelConcurrent).Obj()
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		a := ut.MakeAssignment("reporting", ns).ServiceAccount("reporting").License("cad").Obj()
		Expect(k8sClient.Create(ctx, a)).To(Succeed())

		for _, obj := range []client.Object{p, l, a} {
			expectKstatus(obj, status.CurrentStatus)
		}
		By("kubectl wait --for=condition=Ready")
		Expect(kubectl("wait", "--for=condition=Ready", "--timeout=60s", "licenseproduct/"+product)).To(ContainSubstring("condition met"))
		Expect(kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "softwarelicense/cad")).To(ContainSubstring("condition met"))
		Expect(kubectl("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "lasg/reporting")).To(ContainSubstring("condition met"))

		By("kubectl get lasg shows the assignee and the seats held")
		out := kubectl("get", "lasg", "-n", ns)
		Expect(out).To(MatchRegexp(`(?m)^NAME\s+LICENSE\s+ASSIGNEE\s+SEATS\s+STATE\s+WAITING\s+AGE$`))
		Expect(out).To(MatchRegexp(`(?m)^reporting\s+` + ns + `/cad\s+sa/reporting\s+1\s+Bound\s`))
		out = kubectl("get", "swl", "-n", ns, "-o", "wide")
		Expect(out).To(MatchRegexp(`(?m)^NAME\s+PRODUCT\s+USED\s+TOTAL\s+AVAILABLE\s+WAITING\s+QUEUED\s+RESERVED\s+ACTIVATIONS\s+MAXACTIVATIONS\s+STATE\s+COMPLIANCE\s+POLICY\s+TRIAL\s+READY\s+EXPIRES\s+AGE$`))
	})

	It("reads a licence whose product or key Secret is missing, and an assignment of a licence that does not exist, as Failed", func() {
		ns := newNamespace()
		noProduct := licence(ns, "no-product", 1).Product("missing-" + ns).Obj()
		noKey := licence(ns, "no-key", 1).KeySecret("missing", "key").Obj()
		orphan := ut.MakeAssignment("orphan", ns).ServiceAccount("runner").License("nope").Obj()
		for _, obj := range []client.Object{noProduct, noKey, orphan} {
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		}
		for obj, reason := range map[client.Object]string{
			noProduct: v1.ReasonProductNotFound, noKey: v1.ReasonKeyNotFound, orphan: v1.ReasonLicenseNotFound,
		} {
			res := expectKstatus(obj, status.FailedStatus)
			Expect(res.Conditions).To(ContainElement(HaveField("Reason", reason)), obj.GetName())
		}
	})

	It("reads an assignment waiting for a seat as InProgress, and an expired or full licence as Current", func() {
		ns := newNamespace()
		full := licence(ns, "cad", 1).Obj()
		expired := licence(ns, "old", 1).Start(time.Now().AddDate(-2, 0, 0)).Expiry(time.Now().AddDate(-1, 0, 0)).Obj()
		holder := ut.MakeAssignment("holder", ns).ServiceAccount("runner").License("cad").Obj()
		for _, obj := range []client.Object{full, expired, holder} {
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		}
		expectKstatus(holder, status.CurrentStatus)
		waiter := ut.MakeAssignment("waiter", ns).ServiceAccount("runner").License("cad").Obj()
		Expect(k8sClient.Create(ctx, waiter)).To(Succeed())

		res := expectKstatus(waiter, status.InProgressStatus)
		Expect(res.Conditions).To(ContainElement(HaveField("Reason", v1.ReasonWaitingForSeats)))
		Eventually(func(g Gomega) {
			g.Expect(getLicence(g, ns, "cad").Status.Seats.Pending).To(Equal(int32(1)))
			g.Expect(getLicence(g, ns, "old").Status.State).To(Equal(v1.LicenseStateExpired))
		}, timeout, interval).Should(Succeed())
		// Expired and no seat free are states of a licence, not broken objects.
		expectKstatus(full, status.CurrentStatus)
		expectKstatus(expired, status.CurrentStatus)
	})

	It("reads a spec change the operator has not observed yet as InProgress, and Current once it has", func() {
		ns := newNamespace()
		l := licence(ns, "cad", 1).Obj()
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		expectKstatus(l, status.CurrentStatus)

		// With the operator stopped, the new generation stays unobserved.
		m.stop()
		Eventually(func(g Gomega) {
			cur := getLicence(g, ns, "cad")
			cur.Spec.Seats = ptr.To[int32](3)
			g.Expect(k8sClient.Update(ctx, cur)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		res := expectKstatus(l, status.InProgressStatus)
		Expect(res.Conditions).To(ContainElement(HaveField("Reason", "LatestGenerationNotObserved")))

		m = startManager(managerOptions{})
		expectKstatus(l, status.CurrentStatus)
		Eventually(func(g Gomega) {
			g.Expect(getLicence(g, ns, "cad").Status.Seats.Total).To(Equal(ptr.To[int32](3)))
		}, timeout, interval).Should(Succeed())
	})
})
