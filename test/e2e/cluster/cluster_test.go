//go:build e2e

package cluster

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var _ = Describe("The cluster", func() {
	It("schedules a plain Pod onto the hollow node and runs it", func() {
		pod := kubecluster.MakePod("plain", "default").Obj()
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
			g.Expect(pod.Spec.NodeName).To(Equal("hollow-node-0"))
			g.Expect(pod.Status.Phase).To(Equal(corev1.PodRunning))
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		Expect(k8sClient.Delete(ctx, pod)).To(Succeed())
	})
})

// warnings collects every warning the API server sends to k8sClient.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) All() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

var _ = Describe("A licensed Deployment", func() {
	const (
		ns      = "e2e-licensed"
		product = "e2e-cad"
		sa      = "app"
	)
	// live are the Pods of the Deployment app that are not being deleted.
	live := func(g Gomega, app string) []corev1.Pod {
		pods := &corev1.PodList{}
		g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": app})).To(Succeed())
		return slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
	}
	running := func(app string) func(Gomega) []string {
		return func(g Gomega) []string {
			var names []string
			for _, p := range live(g, app) {
				if p.Status.Phase == corev1.PodRunning {
					names = append(names, p.Name)
				}
			}
			return names
		}
	}
	waiting := func(g Gomega) []string {
		var names []string
		for _, p := range live(g, "cad") {
			if waitsForSeat(&p) {
				names = append(names, p.Name)
			}
		}
		return names
	}
	ledger := func(g Gomega) *licensingv1alpha1.SeatLedger { return ledgerOf(g, ns, sa) }
	scale := func(name string, n int32) {
		Eventually(func() error {
			d := &appsv1.Deployment{}
			if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d); err != nil {
				return err
			}
			d.Spec.Replicas = ptr.To(n)
			return k8sClient.Update(ctx, d)
		}).Should(Succeed())
	}

	It("runs as many Pods as its ServiceAccount has free Concurrent seats, queues the rest, starts the next when another holder scales down, and frees all on deletion", func() {
		asg := concurrentSeats(ns, product, sa, 5, 3)

		By("another Deployment of the ServiceAccount holds 1 of its 3 seats")
		Expect(k8sClient.Create(ctx, kubecluster.MakeDeployment("batch", 1,
			kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa)))).To(Succeed())
		Eventually(running("batch")).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(HaveLen(1))

		By("creating a Deployment of 3 replicas: admitted, with a warning that 1 will wait")
		w := &warnings{}
		wcfg := rest.CopyConfig(cfg)
		wcfg.WarningHandler = w
		wc, err := client.New(wcfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		pod := kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa)
		Expect(wc.Create(ctx, kubecluster.MakeDeployment("cad", 3, pod))).To(Succeed())
		Expect(w.All()).To(ContainSubstring(fmt.Sprintf("1 of 3 replicas will wait for a seat of product %q", product)))

		By("2 Pods run; the third waits in line, SchedulingGated, and is told its position")
		var third string
		Eventually(func(g Gomega) {
			g.Expect(running("cad")(g)).To(HaveLen(2))
			queued := waiting(g)
			g.Expect(queued).To(HaveLen(1))
			third = queued[0]
			g.Expect(podEvents(g, ns, third, seats.EventWaitingForSeat)).To(ContainElement(ContainSubstring("position 1 of 1; 3/3 seats held by ")))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
			g.Expect(asg.Status.WaitingPods).To(BeEquivalentTo(1), "assignment status: %+v", asg.Status)
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		l := ledger(Default)
		Expect(l.Spec.Entries).To(HaveLen(3))
		Expect(l.Spec.Waiting).To(ConsistOf(HaveField("Pod", third)))
		Consistently(func(g Gomega) {
			g.Expect(running("cad")(g)).To(HaveLen(2))
			g.Expect(waiting(g)).To(Equal([]string{third}))
		}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

		By("scaling the other Deployment down starts the third Pod within 2 s")
		freed := time.Now()
		scale("batch", 0)
		took := ungatedAfter(ns, third, freed)
		AddReportEntry("seat freed by a scale-down to the third Pod ungated", took, ReportEntryVisibilityAlways)
		Expect(took).To(BeNumerically("<", 2*time.Second))
		Eventually(func(g Gomega) {
			g.Expect(running("cad")(g)).To(ContainElement(third))
			g.Expect(podEvents(g, ns, third, seats.EventSeatTaken)).To(HaveLen(1))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
			g.Expect(asg.Status.WaitingPods).To(BeZero())
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		AddReportEntry("seat freed by a scale-down to the third Pod Running", time.Since(freed), ReportEntryVisibilityAlways)

		By("scaling to 1 frees two seats; scaling back to 3 takes them again, and none waits")
		scale("cad", 1)
		Eventually(func(g Gomega) {
			g.Expect(running("cad")(g)).To(HaveLen(1))
			g.Expect(live(g, "cad")).To(HaveLen(1))
			g.Expect(ledger(g).Spec.Entries).To(HaveLen(1))
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		scale("cad", 3)
		Eventually(running("cad")).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(HaveLen(3))
		l = ledger(Default)
		Expect(l.Spec.Entries).To(HaveLen(3))
		Expect(l.Spec.Waiting).To(BeEmpty())

		By("deleting the Deployments: garbage collection removes the Pods and every seat comes back")
		for _, name := range []string{"cad", "batch"} {
			Expect(k8sClient.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}},
				client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(live(g, "cad")).To(BeEmpty())
			l := ledger(g)
			g.Expect(l.Spec.Entries).To(BeEmpty())
			g.Expect(l.Spec.Waiting).To(BeEmpty())
		}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		for i := range 3 {
			p := kubecluster.MakePod(fmt.Sprintf("after-%d", i), ns).Product(product).ServiceAccount(sa).Obj()
			Expect(k8sClient.Create(ctx, p)).To(Succeed())
			Expect(licensing.SeatGated(p)).To(BeFalse(), "%s holds a seat", p.Name)
		}
		By("a fourth Pod that asks to be refused is; one that does not waits in line")
		err = k8sClient.Create(ctx, kubecluster.MakePod("after-refused", ns).Product(product).ServiceAccount(sa).Refuse().Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("3/3 seats in use"))
		fourth := kubecluster.MakePod("after-3", ns).Product(product).ServiceAccount(sa).Obj()
		Expect(k8sClient.Create(ctx, fourth)).To(Succeed())
		Expect(licensing.SeatGated(fourth)).To(BeTrue())
	})
})

// A NamedUser seat in a cluster whose controllers create the Pods: the person
// who applies a Deployment holds the seat for the Pods the ReplicaSet
// controller creates from it (the controller manager is a trusted workload
// controller), and another user's image edit makes the new Pods hers.
var _ = Describe("A Deployment of a NamedUser product", func() {
	const (
		ns      = "e2e-named"
		product = "e2e-named-cad"
		alice   = "alice@example.com"
		bob     = "bob@example.com"
	)
	userClient := func(name string) client.Client {
		ucfg, err := cluster.AddUser(name)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "edit-", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		})).To(Succeed())
		c, err := client.New(ucfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() error { return c.List(ctx, &appsv1.DeploymentList{}, client.InNamespace(ns)) }).Should(Succeed())
		return c
	}
	// runningUsers are the users of the Running Pods of the Deployment, by Pod.
	runningUsers := func(g Gomega) map[string]string {
		pods := &corev1.PodList{}
		g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": "cad"})).To(Succeed())
		out := map[string]string{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				out[p.Name] = p.Annotations[licensing.UserAnnotation]
			}
		}
		return out
	}

	It("runs the Pods of the seat holder's Deployment on her seat, and another user's image edit re-stamps it", func() {
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		// A user-based product: its seats are held by the licence's users.
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).Authorization(licensingv1alpha1.AuthorizationUser).
			Policy(utiltesting.MakePolicy("named").SeatModel(licensingv1alpha1.SeatModelNamedUser).Enforcement(licensingv1alpha1.EnforcementHard).MaxActivations(10).Obj()).
			DefaultPolicy("named").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("cad", ns).Product(product).Seats(2).Users(alice, bob).Obj())).To(Succeed())
		for _, a := range []*licensingv1alpha1.LicenseAssignment{
			utiltesting.MakeAssignment("alice", ns).License("cad").User(alice).Obj(),
			utiltesting.MakeAssignment("bob", ns).License("cad").User(bob).Obj(),
		} {
			Expect(k8sClient.Create(ctx, a)).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
				g.Expect(a.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound), "assignment status: %+v", a.Status)
			}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		}
		asAlice, asBob := userClient(alice), userClient(bob)

		By("alice applies a Deployment of 2 replicas: its Pods run on her seat")
		Expect(asAlice.Create(ctx, kubecluster.MakeDeployment("cad", 2, kubecluster.MakePod("", ns).Product(product)))).To(Succeed())
		Eventually(runningUsers).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).
			Should(And(HaveLen(2), HaveEach(Equal(alice))))

		By("bob changes the image: the template is bob's, and so are the new Pods")
		Eventually(func() error {
			d := &appsv1.Deployment{}
			if err := asBob.Get(ctx, types.NamespacedName{Namespace: ns, Name: "cad"}, d); err != nil {
				return err
			}
			d.Spec.Template.Spec.Containers[0].Image = "busybox:1.37"
			return asBob.Update(ctx, d)
		}).Should(Succeed())
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "cad"}, d)).To(Succeed())
		Expect(d.Spec.Template.Annotations[licensing.UserAnnotation]).To(Equal(bob))
		Eventually(runningUsers).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).
			Should(And(HaveLen(2), HaveEach(Equal(bob))))
	})
})

var _ = Describe("Seat ledgers", func() {
	It("are out of reach of everyone but the operator, and go with their namespace", func() {
		const (
			ns      = "e2e-ledger"
			product = "e2e-ledger-cad"
			sa      = "app"
		)
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).
			Policy(utiltesting.MakePolicy("std").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
			DefaultPolicy("std").Obj())).To(Succeed())
		DeferCleanup(func() {
			Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, &licensingv1alpha1.LicenseProduct{ObjectMeta: metav1.ObjectMeta{Name: product}}))).To(Succeed())
		})
		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("cad", ns).Product(product).Seats(1).Obj())).To(Succeed())
		asg := utiltesting.MakeAssignment(sa, ns).License("cad").ServiceAccount(sa).Seats(1).Obj()
		Expect(k8sClient.Create(ctx, asg)).To(Succeed())
		pod := kubecluster.MakePod("holder", ns).Product(product).ServiceAccount(sa).Obj()
		Eventually(func() error { return k8sClient.Create(ctx, pod.DeepCopy()) }).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		// The seat object of the holder's seat (the first index).
		key := types.NamespacedName{Namespace: ns, Name: licensing.SeatObjectName(seats.LedgerName(sa), 0)}
		l := &licensingv1alpha1.SeatLedger{}
		Expect(k8sClient.Get(ctx, key, l)).To(Succeed())
		Expect(l.Spec.Entries).To(HaveLen(1))

		By("a cluster admin who is not the operator cannot delete the ledger either")
		err := k8sClient.Delete(ctx, l)
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("only the operator may create, update or delete it"))

		By("deleting the namespace: the namespace controller and the garbage collector remove the ledger")
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{}))
		}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(BeTrue(), func() string {
			n := &corev1.Namespace{}
			_ = k8sClient.Get(ctx, types.NamespacedName{Name: ns}, n)
			return fmt.Sprintf("namespace status: %+v", n.Status)
		})
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key, &licensingv1alpha1.SeatLedger{}))).To(BeTrue())
	})
})
