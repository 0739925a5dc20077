package admission

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	active   = licensingv1alpha1.LicenseStateActive
	hard     = licensingv1alpha1.EnforcementHard
	soft     = licensingv1alpha1.EnforcementSoft
	conc     = licensingv1alpha1.SeatModelConcurrent
	timeout  = 20 * time.Second
	interval = 100 * time.Millisecond
)

func createProduct(p *licensingv1alpha1.LicenseProduct) {
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, p))).To(Succeed()) })
}

func createLicence(l *licensingv1alpha1.SoftwareLicense, status licensingv1alpha1.SoftwareLicenseStatus) *licensingv1alpha1.SoftwareLicense {
	Expect(k8sClient.Create(ctx, l)).To(Succeed())
	l.Status = status
	Expect(k8sClient.Status().Update(ctx, l)).To(Succeed())
	return l
}

func setLicenceState(l *licensingv1alpha1.SoftwareLicense, state licensingv1alpha1.LicenseState) {
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(l), l)).To(Succeed())
	l.Status.State = state
	Expect(k8sClient.Status().Update(ctx, l)).To(Succeed())
}

func createAssignment(a *licensingv1alpha1.LicenseAssignment, status licensingv1alpha1.LicenseAssignmentStatus) *licensingv1alpha1.LicenseAssignment {
	Expect(k8sClient.Create(ctx, a)).To(Succeed())
	a.Status = status
	Expect(k8sClient.Status().Update(ctx, a)).To(Succeed())
	return a
}

// admitErr creates the object and returns the error (nil when admitted).
func admitErr(o client.Object, opts ...client.CreateOption) error {
	return k8sClient.Create(ctx, o.DeepCopyObject().(client.Object), opts...)
}

// eventuallyAdmitted retries until the webhook (whose caches follow the API
// server) admits the object, and returns the warnings of the admitting request.
func eventuallyAdmitted(mk func() client.Object) []string {
	var warnings []string
	Eventually(func() error {
		wctx, w := withWarnings()
		err := k8sClient.Create(wctx, mk())
		warnings = w.All()
		return err
	}).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
	return warnings
}

// eventuallyDenied retries until creating the object is refused with every part in the message.
func eventuallyDenied(mk func() client.Object, parts ...string) string {
	var msg string
	Eventually(func(g Gomega) {
		o := mk()
		err := k8sClient.Create(ctx, o)
		if err == nil {
			_ = k8sClient.Delete(ctx, o)
		}
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		msg = err.Error()
		for _, p := range parts {
			g.Expect(msg).To(ContainSubstring(p))
		}
	}).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
	return msg
}

// ledger returns the entries of the assignment's SeatLedger by Pod name
// (none when it does not exist).
// createWithWarnings creates the object through c and returns the warnings of the request.
func createWithWarnings(c client.Client, o client.Object, opts ...client.CreateOption) ([]string, error) {
	wctx, w := withWarnings()
	err := c.Create(wctx, o.DeepCopyObject().(client.Object), opts...)
	return w.All(), err
}

// seatLedgerOf is the seat ledger of the assignment (empty when it does not exist).
func seatLedgerOf(ns, assignment string) *licensingv1alpha1.SeatLedger {
	l := &licensingv1alpha1.SeatLedger{}
	err := seats.GetLedger(ctx, k8sClient, ns, assignment, l)
	if !apierrors.IsNotFound(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	return l
}

func ledger(ns, assignment string) map[string]licensingv1alpha1.SeatLedgerEntry {
	l := &licensingv1alpha1.SeatLedger{}
	err := seats.GetLedger(ctx, k8sClient, ns, assignment, l)
	if apierrors.IsNotFound(err) {
		return map[string]licensingv1alpha1.SeatLedgerEntry{}
	}
	Expect(err).NotTo(HaveOccurred())
	out := make(map[string]licensingv1alpha1.SeatLedgerEntry, len(l.Spec.Entries))
	for _, e := range l.Spec.Entries {
		out[e.Pod] = e
	}
	return out
}

var _ = Describe("Pod admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("refuses an annotated Pod without an assignment, naming product, licence and fix, and admits it once an assignment is Bound", func() {
		product := ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Obj())
		lic := createLicence(utiltesting.MakeLicense("cad", ns).Product(product).Seats(5).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](5), product))
		pod := func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("cad-").Product(product).ServiceAccount("builder").Obj()
		}
		msg := eventuallyDenied(pod, fmt.Sprintf("%q", product), ns+"/cad (Active, Concurrent)", "create a LicenseAssignment", "serviceAccount.name builder")
		GinkgoWriter.Println("denial:", msg)

		createAssignment(utiltesting.MakeAssignment("builder", ns).License(lic.Name).ServiceAccount("builder").Seats(2).Obj(), kubecluster.BoundStatus(ns+"/cad", 2))
		eventuallyAdmitted(pod)
		Expect(ledger(ns, "builder")).To(HaveLen(1))
	})

	It("refuses a Pod whose image (init container included) matches a product's workloads.images, without any annotation", func() {
		product := ns + "-img"
		image := "registry.example.com/" + ns + "/solver:2026.1"
		createProduct(utiltesting.MakeProduct(product).Images("registry.example.com/" + ns + "/solver:*").Obj())
		createLicence(utiltesting.MakeLicense("img", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		// The matchConditions syncer must first add the pattern to the webhook configuration.
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("", ns).GenerateName("m-").Image(image).Obj() },
			"image "+image+" matches")
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("", ns).GenerateName("i-").InitImage(image).Obj() },
			fmt.Sprintf("%q", product))

		createAssignment(utiltesting.MakeAssignment("default-sa", ns).License("img").ServiceAccount("default").Obj(), kubecluster.BoundStatus(ns+"/img", 1))
		eventuallyAdmitted(func() client.Object { return kubecluster.MakePod("", ns).GenerateName("m-").Image(image).Obj() })
		// One seat: the next Pod of the image that asks for a refusal is refused with seats used/total.
		eventuallyDenied(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("m-").Image(image).Refuse().Obj()
		}, "1/1 seats in use")
	})

	It("admits beyond the seats of a Soft licence with a warning, and warns for an ExpiringSoon licence", func() {
		product := ns + "-soft"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("soft", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(licensingv1alpha1.LicenseStateExpiringSoon, conc, soft, ptr.To[int32](1), product))
		createAssignment(utiltesting.MakeAssignment("web", ns).License("soft").Workload(map[string]string{"app": "web"}).Obj(), kubecluster.BoundStatus(ns+"/soft", 1))
		pod := func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("web-").Product(product).Label("app", "web").Obj()
		}
		w := eventuallyAdmitted(pod)
		Expect(strings.Join(w, "\n")).To(ContainSubstring("ExpiringSoon"))
		w = eventuallyAdmitted(pod)
		Expect(strings.Join(w, "\n")).To(ContainSubstring("admitted beyond the seats of assignment web"))
		Expect(ledger(ns, "web")).To(HaveLen(2))
		// The over-use is recorded as an event on the assignment.
		Eventually(func(g Gomega) {
			evs := &corev1.EventList{}
			g.Expect(k8sClient.List(ctx, evs, client.InNamespace(ns))).To(Succeed())
			reasons := []string{}
			for _, e := range evs.Items {
				reasons = append(reasons, e.Reason)
			}
			g.Expect(reasons).To(ContainElement("SeatsOverused"))
		}).WithTimeout(timeout).Should(Succeed())
	})

	// NamedUser seats are attacked with users' own identities in identity_test.go.
	It("admits NodeLocked Pods only when pinned to the node", func() {
		nodeProduct := ns + "-node"
		createProduct(utiltesting.MakeProduct(nodeProduct).Obj())
		createLicence(utiltesting.MakeLicense("node", ns).Product(nodeProduct).Obj(),
			kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelNodeLocked, hard, ptr.To[int32](1), nodeProduct))
		createAssignment(utiltesting.MakeAssignment("node-a", ns).License("node").Node("node-a").Obj(), kubecluster.BoundStatus(ns+"/node", 1))
		eventuallyDenied(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("n-").Product(nodeProduct).Obj()
		}, "pin the workload to it")
		eventuallyAdmitted(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("n-").Product(nodeProduct).NodeSelector("node-a").Obj()
		})
		eventuallyAdmitted(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("n-").Product(nodeProduct).NodeName("node-a").Obj()
		})
		eventuallyDenied(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("n-").Product(nodeProduct).NodeName("node-b").Obj()
		}, "NodeLocked seat of node node-a")
	})

	It("admits every Pod of the namespaces a Site licence is shared with, without counting, and none elsewhere", func() {
		product := ns + "-site"
		shared := newNamespace(map[string]string{"site": ns})
		other := newNamespace()
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("site", ns).Product(product).SharedWithSelector(map[string]string{"site": ns}).Obj(),
			kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelSite, hard, nil, product))
		for _, n := range []string{ns, shared, shared, shared} {
			eventuallyAdmitted(func() client.Object { return kubecluster.MakePod("", n).GenerateName("s-").Product(product).Obj() })
		}
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("", other).GenerateName("s-").Product(product).Obj() },
			"Site licence is not shared with namespace "+other)
	})

	It("admits a Pod of a product through a Bound assignment on a bundle licence that covers it", func() {
		cad, suite := ns+"-cad", ns+"-suite"
		createProduct(utiltesting.MakeProduct(cad).Obj())
		createProduct(utiltesting.MakeProduct(suite).Bundle(cad).Policy(utiltesting.MakePolicy("std").Obj()).Obj())
		createLicence(utiltesting.MakeLicense("suite", ns).Product(suite).PolicyCode("std").Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](3), suite, cad))
		createAssignment(utiltesting.MakeAssignment("sa", ns).Product(suite).ServiceAccount("default").Obj(), kubecluster.BoundStatus(ns+"/suite", 1))
		eventuallyAdmitted(func() client.Object { return kubecluster.MakePod("", ns).GenerateName("b-").Product(cad).Obj() })
	})

	It("refuses Pods on expired and suspended licences, saying so, and admits again once Active", func() {
		product := ns + "-exp"
		createProduct(utiltesting.MakeProduct(product).Obj())
		lic := createLicence(utiltesting.MakeLicense("exp", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(licensingv1alpha1.LicenseStateExpired, conc, hard, ptr.To[int32](5), product))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("exp").ServiceAccount("default").Seats(5).Obj(), kubecluster.BoundStatus(ns+"/exp", 5))
		pod := func() client.Object { return kubecluster.MakePod("", ns).GenerateName("e-").Product(product).Obj() }
		eventuallyDenied(pod, ns+"/exp (Expired", "licence is Expired")
		setLicenceState(lic, licensingv1alpha1.LicenseStateSuspended)
		eventuallyDenied(pod, "licence is Suspended")
		setLicenceState(lic, licensingv1alpha1.LicenseStateInGracePeriod)
		w := eventuallyAdmitted(pod)
		Expect(strings.Join(w, "\n")).To(ContainSubstring("grace period"))
	})

	It("never sends Pods or workloads that need no licence to the webhook, with image patterns in the matchConditions", func() {
		product := ns + "-scoped"
		createProduct(utiltesting.MakeProduct(product).Images("registry.example.com/" + ns + "/scoped:*").Obj())
		By("waiting until the syncer has put the pattern into every workload webhook")
		Eventually(func(g Gomega) {
			vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "validating-webhook-configuration"}, vwc)).To(Succeed())
			mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Name: "mutating-webhook-configuration"}, mwc)).To(Succeed())
			scoped := map[string]bool{}
			conds := map[string][]admissionregistrationv1.MatchCondition{}
			for _, w := range vwc.Webhooks {
				conds[w.Name] = w.MatchConditions
			}
			for _, w := range mwc.Webhooks {
				conds["mutating "+w.Name] = w.MatchConditions
			}
			for name, cs := range conds {
				for _, c := range cs {
					if c.Name == workload.MatchConditionName && strings.Contains(c.Expression, ns+"/scoped:") {
						scoped[name] = true
					}
				}
			}
			g.Expect(scoped).To(HaveKey("mutating "+workload.PodWebhookName), "Pod creates, on the mutating Pod path")
			g.Expect(scoped).To(HaveKey(workload.PodUpdateWebhookName), "Pod updates")
			g.Expect(scoped).To(HaveKey(workload.TemplateWebhookName), "templates")
			g.Expect(scoped).To(HaveKey(workload.CronJobWebhookName), "cronjobs")
		}).WithTimeout(timeout).Should(Succeed())

		pods, templates := webhookRequests(workload.PodPath), webhookRequests(workload.WorkloadPath)
		for i := range 5 {
			Expect(k8sClient.Create(ctx, kubecluster.MakePod(fmt.Sprintf("plain-%d", i), ns).InitImage("registry.example.com/other:1").Obj())).To(Succeed())
		}
		plain := kubecluster.MakePod("", ns).Image("registry.example.com/" + ns + "/unscoped:1")
		Expect(k8sClient.Create(ctx, kubecluster.MakeDeployment("plain", 2, plain))).To(Succeed())
		t := plain.Template()
		t.Spec.RestartPolicy = corev1.RestartPolicyNever
		Expect(k8sClient.Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns},
			Spec: batchv1.CronJobSpec{Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: t}}}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}, Spec: batchv1.JobSpec{Template: t}})).To(Succeed())
		Expect(webhookRequests(workload.PodPath)).To(Equal(pods))
		Expect(webhookRequests(workload.WorkloadPath)).To(Equal(templates))

		By("a Pod and a Deployment that need a licence are sent")
		Expect(k8sClient.Create(ctx, kubecluster.MakePod("annotated", ns).Product(ns+"-missing").Obj())).NotTo(Succeed())
		licensed := kubecluster.MakePod("", ns).Image("registry.example.com/" + ns + "/scoped:2")
		err := k8sClient.Create(ctx, kubecluster.MakeDeployment("licensed", 1, licensed))
		Expect(err).To(MatchError(ContainSubstring(fmt.Sprintf("needs a seat of product %q", product))))
		Expect(webhookRequests(workload.PodPath)).To(Equal(pods + 1))
		Expect(webhookRequests(workload.WorkloadPath)).To(Equal(templates + 1))
	})

	It("consumes nothing on dry-run requests", func() {
		product := ns + "-dry"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("dry", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("dry").ServiceAccount("default").Obj(), kubecluster.BoundStatus(ns+"/dry", 1))
		pod := func(name string) client.Object { return kubecluster.MakePod(name, ns).Product(product).Obj() }
		Eventually(func() error { return admitErr(pod("dry-1"), client.DryRunAll) }).WithTimeout(timeout).Should(Succeed())
		Expect(admitErr(pod("dry-2"), client.DryRunAll)).To(Succeed())
		Expect(ledger(ns, "sa")).To(BeEmpty())
		Expect(admitErr(pod("real"))).To(Succeed())
		Expect(ledger(ns, "sa")).To(HaveKey("real"))
		err := admitErr(kubecluster.MakePod("dry-3", ns).Product(product).Refuse().Obj(), client.DryRunAll)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("1/1 seats in use"))
		Expect(ledger(ns, "sa")).To(HaveLen(1))
		// A dry run that would wait in line is told its place and joins no line.
		warnings, err := createWithWarnings(k8sClient, pod("dry-4"), client.DryRunAll)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(warnings, "\n")).To(ContainSubstring("waits in line for a seat of product %q on assignment sa", product))
		Expect(seatLedgerOf(ns, "sa").Spec.Waiting).To(BeEmpty())
	})
})

var _ = Describe("Concurrent seats under Hard enforcement", func() {
	It("admits exactly as many of 200 concurrent Pods as there are seats across two webhook replicas, and exactly as many more as are deleted", func() {
		ns := newNamespace()
		product := ns + "-conc"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("conc", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](10), product))
		createAssignment(utiltesting.MakeAssignment("runners", ns).License("conc").ServiceAccount("runner").Seats(10).Obj(), kubecluster.BoundStatus(ns+"/conc", 10))
		// Wait until both replicas' caches see the assignment: a dry run answers from either.
		eventuallyBothReplicasAdmit(func() client.Object {
			return kubecluster.MakePod("probe", ns).Product(product).ServiceAccount("runner").Obj()
		})
		served0, served1 := proxy.Requests[0].Load(), proxy.Requests[1].Load()

		burst := func(round string, n int) []string {
			var admitted []string
			var mu sync.Mutex
			var other, busy atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer GinkgoRecover()
					p := kubecluster.MakePod(fmt.Sprintf("%s-%03d", round, i), ns).Product(product).ServiceAccount("runner").Refuse().Obj()
					// Only definite answers are counted (createRetryingBusy).
					b, err := createRetryingBusy(p)
					busy.Add(int32(b))
					switch {
					case err == nil:
						mu.Lock()
						admitted = append(admitted, p.Name)
						mu.Unlock()
					case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "10/10 seats in use"):
					default:
						other.Add(1)
						GinkgoWriter.Println("unexpected:", err)
					}
				}()
			}
			wg.Wait()
			GinkgoWriter.Printf("round %s: %d busy answers retried\n", round, busy.Load())
			Expect(other.Load()).To(BeZero(), "every refusal is a full-seats denial")
			return admitted
		}
		start := time.Now()
		first := burst("a", 200)
		GinkgoWriter.Printf("200 concurrent creates took %s\n", time.Since(start))
		Expect(first).To(HaveLen(10))
		Expect(ledger(ns, "runners")).To(HaveLen(10))
		Expect(proxy.Requests[0].Load()).To(BeNumerically(">", served0), "replica 0 served")
		Expect(proxy.Requests[1].Load()).To(BeNumerically(">", served1), "replica 1 served")

		for _, name := range first[:3] {
			Expect(k8sClient.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})).To(Succeed())
		}
		// The seat releaser gives the seats back as the Pods go.
		Eventually(func() map[string]licensingv1alpha1.SeatLedgerEntry { return ledger(ns, "runners") }).WithTimeout(timeout).Should(HaveLen(7))
		second := burst("b", 200)
		Expect(second).To(HaveLen(3))
		Expect(ledger(ns, "runners")).To(HaveLen(10))
	})
})

// oneSeatLedger returns a new namespace, the ledger of its one-seat
// assignment "sa" (driven by the test as the operator, on a fake clock) and
// that clock.
func oneSeatLedger() (string, *oneSeat, *clocktesting.FakeClock) {
	ns := newNamespace()
	asg := createAssignment(utiltesting.MakeAssignment("sa", ns).License("none").ServiceAccount("default").Seats(1).Obj(), kubecluster.BoundStatus(ns+"/none", 1))
	fake := clocktesting.NewFakeClock(time.Now())
	return ns, &oneSeat{Ledger: &seats.Ledger{Reader: k8sClient, Writer: operatorClient, Clock: fake, Grace: seats.LedgerGrace}, asg: asg}, fake
}

// oneSeat is the ledger of a one-seat assignment.
type oneSeat struct {
	*seats.Ledger
	asg *licensingv1alpha1.LicenseAssignment
}

// reserve asks for the seat for Pod name (uid) and expects an answer.
func (o *oneSeat) reserve(name string, uid types.UID) seats.Reservation {
	res, err := o.Reserve(ctx, o.asg, seats.PodRef{Namespace: o.asg.Namespace, Name: name, UID: uid}, 1, false)
	Expect(err).NotTo(HaveOccurred())
	return res
}

var _ = Describe("Seat release", func() {
	It("gives the seat of a Pod back when it finishes", func() {
		ns := newNamespace()
		product := ns + "-job"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("job", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("job").ServiceAccount("default").Obj(), kubecluster.BoundStatus(ns+"/job", 1))
		first := kubecluster.MakePod("first", ns).Product(product).Obj()
		Eventually(func() error { return k8sClient.Create(ctx, first.DeepCopy()) }).WithTimeout(timeout).Should(Succeed())
		Expect(admitErr(kubecluster.MakePod("second", ns).Product(product).Refuse().Obj())).To(MatchError(ContainSubstring("1/1 seats in use")))

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), first)).To(Succeed())
		first.Status.Phase = corev1.PodSucceeded
		Expect(k8sClient.Status().Update(ctx, first)).To(Succeed())
		Eventually(func() map[string]licensingv1alpha1.SeatLedgerEntry { return ledger(ns, "sa") }).WithTimeout(timeout).Should(BeEmpty())
		Expect(admitErr(kubecluster.MakePod("second", ns).Product(product).Obj())).To(Succeed())
	})

	It("drops, when the ledger is full, entries of Pods gone for longer than the grace", func() {
		ns, l, fake := oneSeatLedger()
		now := fake.Now()
		// A Pod admitted that never got stored (refused by a later admission plugin).
		res := l.reserve("ghost", "uid-ghost")
		Expect(res.Admitted).To(BeTrue())
		res = l.reserve("next", "uid-next")
		Expect(res.Admitted).To(BeFalse(), "within the grace the ghost may still be on its way")
		Expect(res.Holders).To(ConsistOf("ghost"))

		fake.SetTime(now.Add(seats.LedgerGrace + time.Second))
		res = l.reserve("next", "uid-next")
		Expect(res.Admitted).To(BeTrue())
		Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("next")))
		// The same Pod asking again (a retried request) keeps its seat.
		res = l.reserve("next", "uid-next")
		Expect(res.Admitted).To(BeTrue())
	})
})

var _ = Describe("Seat ledger and Pod names", func() {
	// A create of a Pod name that a live Pod holds reaches admission before
	// the storage refuses it as AlreadyExists. It must not take over the live
	// Pod's entry: neither its refusal (a later product refused) nor the
	// pruning of the never-stored Pod may give the live Pod's seat away.
	It("keeps the seat of a live Pod when its name is created again, and gives it to another Pod only once the Pod is gone", func() {
		ns, l, fake := oneSeatLedger()
		now := fake.Now()
		live := kubecluster.MakePod("x", ns).Obj()
		Expect(k8sClient.Create(ctx, live)).To(Succeed())
		res := l.reserve("x", live.UID)
		Expect(res.Admitted).To(BeTrue())

		By("a second create of x whose next product is refused gives back only what it took")
		l.reserve("x", "uid-dup-1")
		Expect(l.Unreserve(ctx, l.asg, seats.PodRef{Namespace: ns, Name: "x", UID: "uid-dup-1"})).To(Succeed())
		Expect(ledger(ns, "sa")).To(HaveKey("x"), "the live Pod x still holds the seat")

		By("a second create of x that the storage refuses leaves the seat with the live Pod")
		l.reserve("x", "uid-dup-2")
		fake.SetTime(now.Add(seats.LedgerGrace + time.Second))
		res = l.reserve("y", "uid-y")
		Expect(res.Admitted).To(BeFalse(), "x is live and holds the only seat")
		Expect(res.Holders).To(ConsistOf("x"))

		By("once x is gone its seat is free again")
		Expect(k8sClient.Delete(ctx, live, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(live), &corev1.Pod{}))
		}).WithTimeout(timeout).Should(BeTrue())
		res = l.reserve("y", "uid-y")
		Expect(res.Admitted).To(BeTrue())
		Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("y")))
	})
})

var _ = Describe("Workload objects", func() {
	var ns, product string
	BeforeEach(func() {
		ns = newNamespace()
		product = ns + "-wl"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("wl", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](2), product))
	})

	template := func(name string) corev1.PodTemplateSpec {
		t := kubecluster.MakePod("", "").Product(product).ServiceAccount("app").Label("app", name).Template()
		t.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		return t
	}
	sel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	}
	makers := map[string]func(name string) client.Object{
		"Deployment": func(n string) client.Object {
			t := template(n)
			t.Spec.RestartPolicy = corev1.RestartPolicyAlways
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: sel(n), Template: t}}
		},
		"StatefulSet": func(n string) client.Object {
			t := template(n)
			t.Spec.RestartPolicy = corev1.RestartPolicyAlways
			return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: sel(n), Template: t}}
		},
		"DaemonSet": func(n string) client.Object {
			t := template(n)
			t.Spec.RestartPolicy = corev1.RestartPolicyAlways
			return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: appsv1.DaemonSetSpec{Selector: sel(n), Template: t}}
		},
		"ReplicaSet": func(n string) client.Object {
			t := template(n)
			t.Spec.RestartPolicy = corev1.RestartPolicyAlways
			return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3), Selector: sel(n), Template: t}}
		},
		"Job": func(n string) client.Object {
			return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3), Template: template(n)}}
		},
		"CronJob": func(n string) client.Object {
			return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}, Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3), Template: template(n)}}}}
		},
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"} {
		It(fmt.Sprintf("refuses a %s whose Pods no Bound assignment covers, and admits it with a warning when replicas exceed seats", kind), func() {
			mk := makers[kind]
			n := 0
			next := func() client.Object { n++; return mk(fmt.Sprintf("w%d", n)) }
			eventuallyDenied(next, kind+" "+ns+"/", fmt.Sprintf("%q", product), "serviceAccount.name app")
			createAssignment(utiltesting.MakeAssignment("app", ns).License("wl").ServiceAccount("app").Seats(2).Obj(), kubecluster.BoundStatus(ns+"/wl", 2))
			w := eventuallyAdmitted(next)
			if kind != "DaemonSet" {
				Expect(strings.Join(w, "\n")).To(ContainSubstring("1 of 3 replicas will wait for a seat of product %q", product))
			}
			// Templates take no seat.
			Expect(ledger(ns, "app")).To(BeEmpty())
		})
	}
})

var _ = Describe("Licensing object webhooks", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("stamps created-by and updated-by from the requesting user", func() {
		alice, err := testEnv.AddUser(envtest.User{Name: "alice@example.com", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		bob, err := testEnv.AddUser(envtest.User{Name: "bob@example.com", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		ac, err := client.New(alice.Config(), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		bc, err := client.New(bob.Config(), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())

		p := utiltesting.MakeProduct(ns + "-stamp").Obj()
		p.Annotations = map[string]string{licensingv1alpha1.CreatedByAnnotation: "forged"}
		Expect(ac.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		Expect(p.Annotations).To(HaveKeyWithValue(licensingv1alpha1.CreatedByAnnotation, "alice@example.com"))
		Expect(p.Annotations).To(HaveKeyWithValue(licensingv1alpha1.UpdatedByAnnotation, "alice@example.com"))

		p.Spec.Vendor = "Acme"
		delete(p.Annotations, licensingv1alpha1.CreatedByAnnotation)
		Expect(bc.Update(ctx, p)).To(Succeed())
		Expect(p.Annotations).To(HaveKeyWithValue(licensingv1alpha1.CreatedByAnnotation, "alice@example.com"))
		Expect(p.Annotations).To(HaveKeyWithValue(licensingv1alpha1.UpdatedByAnnotation, "bob@example.com"))

		l := utiltesting.MakeLicense("stamped", ns).Product(p.Name).Obj()
		Expect(bc.Create(ctx, l)).To(Succeed())
		Expect(l.Annotations).To(HaveKeyWithValue(licensingv1alpha1.CreatedByAnnotation, "bob@example.com"))
		Expect(l.Spec.Vendor).To(Equal("Acme"), "defaulted from the product")
		a := utiltesting.MakeAssignment("stamped", ns).License("stamped").ServiceAccount("x").Obj()
		Expect(ac.Create(ctx, a)).To(Succeed())
		Expect(a.Annotations).To(HaveKeyWithValue(licensingv1alpha1.UpdatedByAnnotation, "alice@example.com"))
		// A status write (the operator's bookkeeping) stamps nothing.
		a.Status = kubecluster.BoundStatus(ns+"/stamped", 1)
		Expect(bc.Status().Update(ctx, a)).To(Succeed())
		Expect(a.Annotations).To(HaveKeyWithValue(licensingv1alpha1.UpdatedByAnnotation, "alice@example.com"))
	})

	It("refuses a licence naming a policy its product does not have, and a bundle licence naming none; warns for a missing product", func() {
		p := ns + "-pol"
		createProduct(utiltesting.MakeProduct(p).Policy(utiltesting.MakePolicy("std").Obj()).Obj())
		err := k8sClient.Create(ctx, utiltesting.MakeLicense("bad", ns).Product(p).PolicyCode("gold").Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.policyCode"))

		createProduct(utiltesting.MakeProduct(ns + "-bundle").Bundle(p).Policy(utiltesting.MakePolicy("std").Obj()).Obj())
		err = k8sClient.Create(ctx, utiltesting.MakeLicense("bundle", ns).Product(ns+"-bundle").Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("is a bundle"))

		wctx, w := withWarnings()
		Expect(k8sClient.Create(wctx, utiltesting.MakeLicense("later", ns).Product(ns+"-later").Obj())).To(Succeed())
		Expect(strings.Join(w.All(), "\n")).To(ContainSubstring("does not exist (yet)"))
	})

	// Validation against other objects judges a change of the spec. An update
	// that leaves the spec alone (the operator removing its finalizer, a
	// label) must pass though the product or the licence changed since: else
	// a licence whose policy was removed from its product could never be
	// deleted.
	It("lets the operator remove its finalizer, and anyone change labels, after the objects the spec names changed", func() {
		p := ns + "-gone"
		createProduct(utiltesting.MakeProduct(p).Policy(utiltesting.MakePolicy("std").Obj()).Policy(utiltesting.MakePolicy("gold").Obj()).Obj())
		l := utiltesting.MakeLicense("gold", ns).Product(p).PolicyCode("gold").SharedWithAll().Obj()
		l.Finalizers = []string{licensingv1alpha1.LicenseFinalizer}
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		other := newNamespace()
		a := utiltesting.MakeAssignment("a", other).License("gold", ns).ServiceAccount("x").Obj()
		Expect(k8sClient.Create(ctx, a)).To(Succeed())

		By("the product drops the policy and the licence stops sharing")
		prod := &licensingv1alpha1.LicenseProduct{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: p}, prod)).To(Succeed())
		prod.Spec.Policies = prod.Spec.Policies[:1]
		Expect(k8sClient.Update(ctx, prod)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(l), l)).To(Succeed())
		l.Spec.Sharing = nil
		l.Spec.PolicyCode = "std"
		Expect(k8sClient.Update(ctx, l)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
		a.Labels = map[string]string{"team": "x"}
		Expect(k8sClient.Update(ctx, a)).To(Succeed(), "a label change of an assignment whose licence stopped sharing")

		By("a licence whose policy is gone")
		l2 := utiltesting.MakeLicense("gold2", ns).Product(p).PolicyCode("std").Obj()
		l2.Finalizers = []string{licensingv1alpha1.LicenseFinalizer}
		Expect(k8sClient.Create(ctx, l2)).To(Succeed())
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: p}, prod)).To(Succeed())
		prod.Spec.Policies = []licensingv1alpha1.LicensePolicy{utiltesting.MakePolicy("gold").Obj()}
		Expect(k8sClient.Update(ctx, prod)).To(Succeed())
		Expect(k8sClient.Delete(ctx, l2)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(l2), l2)).To(Succeed())
		l2.Finalizers = nil
		Expect(k8sClient.Update(ctx, l2)).To(Succeed(), "the operator releases a deleted licence")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(l2), l2))
		}).WithTimeout(timeout).Should(BeTrue())

		By("a change of the spec is still judged")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
		a.Spec.Seats = 2
		err := k8sClient.Update(ctx, a)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("is not shared with namespace " + other))
	})

	It("refuses an assignment of a licence not shared with its namespace and accepts it once shared", func() {
		owner := newNamespace()
		createLicence(utiltesting.MakeLicense("private", owner).Obj(), kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), "x"))
		err := k8sClient.Create(ctx, utiltesting.MakeAssignment("a", ns).License("private", owner).ServiceAccount("x").Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("is not shared with namespace " + ns))
		createLicence(utiltesting.MakeLicense("public", owner).SharedWithAll().Obj(), kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), "x"))
		Expect(k8sClient.Create(ctx, utiltesting.MakeAssignment("b", ns).License("public", owner).ServiceAccount("x").Obj())).To(Succeed())

		wctx, w := withWarnings()
		Expect(k8sClient.Create(wctx, utiltesting.MakeAssignment("c", ns).Product(ns+"-nothing").ServiceAccount("x").Obj())).To(Succeed())
		Expect(strings.Join(w.All(), "\n")).To(ContainSubstring("does not exist (yet)"))
	})
})

var _ = Describe("Updates of running Pods", func() {
	It("needs a seat to switch a running Pod to a licensed image or add a licensed ephemeral container; other updates never reach the webhook", func() {
		ns := newNamespace()
		product := ns + "-upd"
		image := "registry.example.com/" + ns + "/render:2"
		createProduct(utiltesting.MakeProduct(product).Images("registry.example.com/" + ns + "/render:*").Obj())
		createLicence(utiltesting.MakeLicense("upd", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		createAssignment(utiltesting.MakeAssignment("runner", ns).License("upd").ServiceAccount("runner").Obj(), kubecluster.BoundStatus(ns+"/upd", 1))
		// The syncer has the image pattern in the matchConditions once a new Pod of it is refused.
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("", ns).GenerateName("probe-").Image(image).Obj() },
			fmt.Sprintf("%q", product))

		plain := kubecluster.MakePod("plain", ns).Image("busybox:1.36").Obj()
		Expect(k8sClient.Create(ctx, plain)).To(Succeed())
		runner := kubecluster.MakePod("runner", ns).ServiceAccount("runner").Image("busybox:1.36").Obj()
		Expect(k8sClient.Create(ctx, runner)).To(Succeed())

		By("an image changed to a licensed one needs a seat like a new Pod")
		plain.Spec.Containers[0].Image = image
		err := k8sClient.Update(ctx, plain)
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(And(ContainSubstring(fmt.Sprintf("needs a seat of product %q", product)), ContainSubstring("image "+image+" matches")))

		runner.Spec.Containers[0].Image = image
		Expect(k8sClient.Update(ctx, runner)).To(Succeed())
		Expect(ledger(ns, "runner")).To(HaveKey("runner"))

		By("a licensed ephemeral container needs a seat too")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(plain), plain)).To(Succeed())
		plain.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debug", Image: image, TerminationMessagePolicy: corev1.TerminationMessageReadFile, ImagePullPolicy: corev1.PullIfNotPresent}}}
		err = k8sClient.SubResource("ephemeralcontainers").Update(ctx, plain)
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("needs a seat of product %q", product)))

		By("an update that changes nothing it runs is not sent to the webhook")
		sent := webhookRequests(workload.PodPath) + webhookRequests(workload.PodUpdatePath)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(runner), runner)).To(Succeed())
		runner.Labels = map[string]string{"touched": "yes"}
		Expect(k8sClient.Update(ctx, runner)).To(Succeed())
		Expect(webhookRequests(workload.PodPath) + webhookRequests(workload.PodUpdatePath)).To(Equal(sent))
	})
})
