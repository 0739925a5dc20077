package cluster

import (
	"fmt"
	"net/http"
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
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

func httpGet(url string) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode, nil
}

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
	runningPods := func(g Gomega) []string {
		pods := &corev1.PodList{}
		g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": "cad"})).To(Succeed())
		var names []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				names = append(names, p.Name)
			}
		}
		return names
	}
	livePods := func(g Gomega) int {
		pods := &corev1.PodList{}
		g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": "cad"})).To(Succeed())
		return len(pods.Items)
	}
	ledgerLen := func(g Gomega) int {
		l := &licensingv1alpha1.SeatLedger{}
		err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: seats.LedgerName(sa)}, l)
		if apierrors.IsNotFound(err) {
			return 0
		}
		g.Expect(err).NotTo(HaveOccurred())
		return len(l.Spec.Entries)
	}
	scale := func(n int32) {
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "cad"}, d)).To(Succeed())
		d.Spec.Replicas = ptr.To(n)
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
	}

	It("runs only as many Pods as its ServiceAccount holds Concurrent seats, gives freed seats to new Pods, and frees all on deletion", func() {
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).
			Policy(utiltesting.MakePolicy("std").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
			DefaultPolicy("std").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("cad", ns).Product(product).Seats(5).Obj())).To(Succeed())
		asg := utiltesting.MakeAssignment(sa, ns).License("cad").ServiceAccount(sa).Seats(2).Obj()
		Expect(k8sClient.Create(ctx, asg)).To(Succeed())

		By("waiting for the operator to bind the assignment")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
			g.Expect(asg.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound), "assignment status: %+v", asg.Status)
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())

		By("creating a Deployment of 3 replicas: admitted with a warning")
		w := &warnings{}
		wcfg := rest.CopyConfig(cfg)
		wcfg.WarningHandler = w
		wc, err := client.New(wcfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		pod := kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa)
		Expect(wc.Create(ctx, kubecluster.MakeDeployment("cad", 3, pod))).To(Succeed())
		Expect(w.All()).To(ContainSubstring("asks for 3 replicas"))

		By("exactly 2 Pods run; the ReplicaSet reports our denial for the third")
		Eventually(runningPods).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(HaveLen(2))
		Eventually(func(g Gomega) {
			evs := &corev1.EventList{}
			g.Expect(k8sClient.List(ctx, evs, client.InNamespace(ns))).To(Succeed())
			var msgs []string
			for _, e := range evs.Items {
				if e.InvolvedObject.Kind == "ReplicaSet" && e.Reason == "FailedCreate" {
					msgs = append(msgs, e.Message)
				}
			}
			g.Expect(strings.Join(msgs, "\n")).To(And(ContainSubstring(fmt.Sprintf("needs a seat of product %q", product)), ContainSubstring("2/2 seats in use")))
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		Consistently(livePods).WithTimeout(5 * time.Second).Should(Equal(2))
		Expect(ledgerLen(Default)).To(Equal(2))

		By("scaling to 2 keeps the two running Pods on their seats")
		scale(2)
		Consistently(runningPods).WithTimeout(3 * time.Second).Should(HaveLen(2))

		By("scaling to 1 frees a seat; scaling back to 3 takes it again, and only it")
		scale(1)
		Eventually(func(g Gomega) {
			g.Expect(runningPods(g)).To(HaveLen(1))
			g.Expect(livePods(g)).To(Equal(1))
			g.Expect(ledgerLen(g)).To(Equal(1))
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		scale(3)
		Eventually(runningPods).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(HaveLen(2))
		Consistently(livePods).WithTimeout(5 * time.Second).Should(Equal(2))

		By("deleting the Deployment: garbage collection removes the Pods and both seats come back")
		Expect(k8sClient.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "cad", Namespace: ns}},
			client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(livePods(g)).To(BeZero())
			g.Expect(ledgerLen(g)).To(BeZero())
		}).WithTimeout(2 * time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		for i := range 2 {
			Expect(k8sClient.Create(ctx, kubecluster.MakePod(fmt.Sprintf("after-%d", i), ns).Product(product).ServiceAccount(sa).Obj())).To(Succeed())
		}
		err = k8sClient.Create(ctx, kubecluster.MakePod("after-2", ns).Product(product).ServiceAccount(sa).Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("2/2 seats in use"))
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
		u, err := testEnv.AddUser(envtest.User{Name: name}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "edit-", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		})).To(Succeed())
		c, err := client.New(u.Config(), client.Options{Scheme: scheme})
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
		key := types.NamespacedName{Namespace: ns, Name: seats.LedgerName(sa)}
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
