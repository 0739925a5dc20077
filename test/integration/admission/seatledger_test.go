package admission

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// These are the attacks on the seat ledger of issue 9, each made with the
// attacker's own identity (a client certificate the API server
// authenticates) against the real API server, with RBAC and the
// ValidatingAdmissionPolicy of config/policy in force.

// userClient is a client authenticated as name, in groups.
func userClient(name string, groups ...string) client.Client {
	u, err := testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

// bindInNamespace binds the user to the ClusterRole or Role named role in ns.
func bindInNamespace(ns, user, kind, role string) {
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s", role, user), Namespace: ns},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
	})).To(Succeed())
}

// grantEverything gives user a Role in ns that grants every verb on every
// resource, and returns a client acting as user.
func grantEverything(ns, user string) client.Client {
	Expect(k8sClient.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "everything", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	})).To(Succeed())
	bindInNamespace(ns, user, "Role", "everything")
	return userClient(user, "system:authenticated")
}

// oneSeatHeld sets up a namespace whose one-seat Concurrent assignment "sa"
// (Pods of the default ServiceAccount) is held by the admitted Pod "holder",
// and returns the namespace, the product and the holder.
func oneSeatHeld() (string, string, *corev1.Pod) {
	ns := newNamespace()
	product := ns + "-cad"
	createProduct(utiltesting.MakeProduct(product).Obj())
	createLicence(utiltesting.MakeLicense("cad", ns).Product(product).Obj(),
		kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
	createAssignment(utiltesting.MakeAssignment("sa", ns).License("cad").ServiceAccount("default").Seats(1).Obj(), kubecluster.BoundStatus(ns+"/cad", 1))
	holder := kubecluster.MakePod("holder", ns).Product(product).Obj()
	Eventually(func() error { return k8sClient.Create(ctx, holder) }).WithTimeout(timeout).Should(Succeed())
	Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("holder")))
	return ns, product, holder
}

// seatLedger reads, as the test harness, the seat object of the seat of
// assignment "sa" that its first holder took (index 0).
func seatLedger(ns string) *licensingv1alpha1.SeatLedger {
	l := &licensingv1alpha1.SeatLedger{}
	Expect(k8sClient.Get(ctx, seatKey(ns), l)).To(Succeed())
	Expect(l.Spec.Entries).To(HaveLen(1))
	return l
}

// seatKey is the key of the seat object of index 0 of assignment "sa".
func seatKey(ns string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: licensing.SeatObjectName(seats.LedgerName("sa"), 0)}
}

// expectSecondPodRefused checks that the seat is still taken: another Pod,
// created by c, is refused because the one seat is in use.
func expectSecondPodRefused(c client.Client, ns, product string) {
	err := c.Create(ctx, kubecluster.MakePod("second", ns).Product(product).Refuse().Obj())
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	Expect(err.Error()).To(ContainSubstring("1/1 seats in use"))
	Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("holder")))
}

var _ = Describe("The seat ledger is out of tenants' reach", func() {
	It("refuses a namespace editor (the built-in edit role) every access to SeatLedgers, so she cannot free a seat", func() {
		ns, product, _ := oneSeatHeld()
		const mallory = "mallory@example.com"
		// edit holds what the roles labelled aggregate-to-edit grant, as the
		// controller manager aggregates them in a cluster.
		Expect(kubecluster.AggregateClusterRoles(ctx, k8sClient, "view", "edit", "admin")).To(Succeed())
		bindInNamespace(ns, mallory, "ClusterRole", "edit")
		mc := userClient(mallory, "system:authenticated")
		// The binding works: she may do what an editor does, such as read Pods.
		Eventually(func() error { return mc.List(ctx, &corev1.PodList{}, client.InNamespace(ns)) }).Should(Succeed())

		forbidden := func(err error, verb string) {
			GinkgoHelper()
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s: %v", verb, err)
			Expect(err.Error()).To(ContainSubstring(fmt.Sprintf("User %q cannot %s resource \"seatledgers\"", mallory, verb)))
		}
		forbidden(mc.Get(ctx, seatKey(ns), &licensingv1alpha1.SeatLedger{}), "get")
		forbidden(mc.List(ctx, &licensingv1alpha1.SeatLedgerList{}, client.InNamespace(ns)), "list")
		emptied := seatLedger(ns)
		emptied.Spec.Entries = nil
		forbidden(mc.Update(ctx, emptied), "update")
		forbidden(mc.Delete(ctx, seatLedger(ns)), "delete")
		forbidden(mc.Create(ctx, utiltesting.MakeSeatLedger("seat-ledger-fake", ns, "sa").Obj()), "create")

		By("the seat is still held: her own second Pod is refused")
		expectSecondPodRefused(mc, ns, product)
	})

	It("refuses through the ValidatingAdmissionPolicy a user whose namespace Role grants every verb on every resource", func() {
		ns, product, _ := oneSeatHeld()
		const eve = "eve@example.com"
		ec := grantEverything(ns, eve)
		// RBAC lets her read the ledger: only the policy stands between her and it.
		l := &licensingv1alpha1.SeatLedger{}
		Eventually(func() error {
			return ec.Get(ctx, seatKey(ns), l)
		}).Should(Succeed())

		refused := func(err error, op string) {
			GinkgoHelper()
			Expect(err).To(HaveOccurred(), op)
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s: %v", op, err)
			Expect(err.Error()).To(SatisfyAll(
				ContainSubstring("ValidatingAdmissionPolicy 'seatledger-writers'"),
				ContainSubstring("is the license-operator's record of who holds a seat and of what a licence has used: only the operator may create, update or delete it"),
				ContainSubstring(fmt.Sprintf("%s may not %s it", eve, op))))
		}
		emptied := l.DeepCopy()
		emptied.Spec.Entries = nil
		refused(ec.Update(ctx, emptied), "update")
		patched := l.DeepCopy()
		patched.Spec.Entries = nil
		refused(ec.Patch(ctx, patched, client.MergeFrom(l)), "update")
		refused(ec.Delete(ctx, l), "delete")
		refused(ec.Create(ctx, utiltesting.MakeSeatLedger("seat-ledger-fake", ns, "sa").Obj()), "create")

		By("the seat is still held: her own second Pod is refused")
		expectSecondPodRefused(ec, ns, product)
	})

	It("lets the garbage collector, the namespace controller and the controller manager delete a ledger, and only delete it", func() {
		ns := newNamespace()
		sa := func(name string) (string, []string) {
			return "system:serviceaccount:kube-system:" + name, []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}
		}
		gc, gcGroups := sa("generic-garbage-collector")
		nsc, nscGroups := sa("namespace-controller")
		const kcm = "system:kube-controller-manager"
		// The bootstrap roles let the two controllers delete anything; the
		// controller manager's own role does not reach custom resources, so
		// it is given the right here: what is tested is the policy.
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-ledger-cleanup"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{licensingv1alpha1.GroupVersion.Group}, Resources: []string{"seatledgers"}, Verbs: []string{"get", "update", "delete"}}},
		})).To(Succeed())
		bindInNamespace(ns, kcm, "ClusterRole", ns+"-ledger-cleanup")

		for _, who := range []struct {
			name   string
			groups []string
		}{{gc, gcGroups}, {nsc, nscGroups}, {kcm, []string{"system:authenticated"}}} {
			By(who.name)
			c := userClient(who.name, who.groups...)
			l := utiltesting.MakeSeatLedger("seat-ledger-cleanup", ns, "gone").Entry("p", "uid-p", metav1.Now().Time).Obj()
			Expect(operatorClient.Create(ctx, l)).To(Succeed())

			changed := l.DeepCopy()
			changed.Spec.Entries = nil
			var err error
			Eventually(func() error { err = c.Update(ctx, changed); return err }).ShouldNot(Succeed())
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "it may delete, not rewrite: %v", err)

			Eventually(func() error { return c.Delete(ctx, l) }).Should(Succeed())
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(l), &licensingv1alpha1.SeatLedger{}))).To(BeTrue())
		}
	})

	It("restores, from the live Pods, entries that an allowed writer removed, and says so in a Warning on the assignment", func() {
		ns, product, holder := oneSeatHeld()

		By("the operator's identity (the only allowed writer) removes the holder's entry")
		emptied := seatLedger(ns)
		emptied.Spec.Entries = nil
		Expect(operatorClient.Update(ctx, emptied)).To(Succeed())

		By("the recount puts the holder back")
		Eventually(func(g Gomega) {
			e, ok := ledger(ns, "sa")["holder"]
			g.Expect(ok).To(BeTrue())
			g.Expect(e.UID).To(Equal(string(holder.UID)))
		}).WithTimeout(timeout).Should(Succeed())

		var repaired []eventsv1.Event
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			repaired = nil
			for _, e := range list.Items {
				if e.Reason == seats.EventSeatLedgerRepaired && e.Regarding.Kind == "LicenseAssignment" && e.Regarding.Name == "sa" {
					repaired = append(repaired, e)
				}
			}
			g.Expect(repaired).NotTo(BeEmpty())
		}).WithTimeout(timeout).Should(Succeed())
		Expect(repaired[0].Type).To(Equal(corev1.EventTypeWarning))
		Expect(repaired[0].Note).To(SatisfyAll(
			ContainSubstring("Seat ledger repaired from the live Pods"),
			ContainSubstring("added 1 Pod that runs on this assignment's seats without an entry (holder)"),
			ContainSubstring("1 of 1 seat held")))

		By("the seat is held again: a second Pod is refused")
		expectSecondPodRefused(k8sClient, ns, product)
	})

	It("labels a seat holder that carries no licensed label (admitted before the operator labelled Pods), so that its Pod cache sees it, and keeps its seat", func() {
		ns := newNamespace()
		product := ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("cad", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		asg := createAssignment(utiltesting.MakeAssignment("sa", ns).License("cad").ServiceAccount("default").Seats(1).Obj(), kubecluster.BoundStatus(ns+"/cad", 1))

		By("a holder from before the label: stored without it (the shipped operator username's writes skip the webhooks), its entry older than the grace")
		shipped, err := testEnv.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		sc, err := client.New(shipped.Config(), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		holder := kubecluster.MakePod("holder", ns).Product(product).Obj()
		Expect(sc.Create(ctx, holder)).To(Succeed())
		Expect(holder.Labels).NotTo(HaveKey(licensingv1alpha1.LicensedLabel))
		l := seats.NewSeatLedger(asg, seats.LedgerName("sa"))
		l.Spec.Entries = []licensingv1alpha1.SeatLedgerEntry{{Pod: "holder", UID: string(holder.UID), Admitted: metav1.NewTime(time.Now().Add(-2 * seats.LedgerGrace))}}
		Expect(operatorClient.Create(ctx, l)).To(Succeed())

		By("the recount finds the holder live, labels it and keeps its entry")
		Eventually(func(g Gomega) {
			p := &corev1.Pod{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(holder), p)).To(Succeed())
			g.Expect(p.Labels).To(HaveKeyWithValue(licensingv1alpha1.LicensedLabel, "true"))
		}).WithTimeout(timeout).Should(Succeed())
		Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("holder")))
		expectSecondPodRefused(k8sClient, ns, product)

		By("the recount moved the entry, which the main ledger held as an earlier version wrote it, into a seat object of its own")
		Eventually(func(g Gomega) {
			main := &licensingv1alpha1.SeatLedger{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: seats.LedgerName("sa")}, main)).To(Succeed())
			g.Expect(main.Spec.Entries).To(BeEmpty())
			parts := &licensingv1alpha1.SeatLedgerList{}
			g.Expect(k8sClient.List(ctx, parts, client.InNamespace(ns),
				client.MatchingLabels{licensingv1alpha1.SeatLedgerLabel: licensing.SeatLedgerLabelValue(seats.LedgerName("sa"))})).To(Succeed())
			g.Expect(parts.Items).To(HaveLen(1))
			g.Expect(parts.Items[0].Spec.Entries).To(ConsistOf(HaveField("Pod", "holder")))
		}).WithTimeout(timeout).Should(Succeed())
		Expect(ledger(ns, "sa")).To(SatisfyAll(HaveLen(1), HaveKey("holder")))
	})

	It("counts Pods that run without an entry once an assignment covers them, and reports the over-allocation", func() {
		ns := newNamespace()
		product := ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Obj())
		site := createLicence(utiltesting.MakeLicense("site", ns).Product(product).SharedWithAll().Obj(),
			kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelSite, hard, nil, product))
		By("two Pods admitted by a Site licence hold no seat")
		for _, name := range []string{"p1", "p2"} {
			Eventually(func() error { return k8sClient.Create(ctx, kubecluster.MakePod(name, ns).Product(product).Obj()) }).WithTimeout(timeout).Should(Succeed())
		}
		setLicenceState(site, licensingv1alpha1.LicenseStateExpired)
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("p0", ns).Product(product).Obj() }, "Expired")

		By("a one-seat Concurrent assignment binds: both running Pods are now on its seat")
		createLicence(utiltesting.MakeLicense("cad", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](1), product))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("cad").ServiceAccount("default").Seats(1).Obj(), kubecluster.BoundStatus(ns+"/cad", 1))
		Eventually(func() map[string]licensingv1alpha1.SeatLedgerEntry { return ledger(ns, "sa") }).WithTimeout(timeout).Should(SatisfyAll(HaveLen(2), HaveKey("p1"), HaveKey("p2")))
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range list.Items {
				if e.Reason == seats.EventSeatLedgerRepaired && e.Regarding.Name == "sa" && e.Type == corev1.EventTypeWarning {
					notes = append(notes, e.Note)
				}
			}
			g.Expect(notes).To(ContainElement(SatisfyAll(
				ContainSubstring("added 2 Pods that run on this assignment's seats without an entry (p1, p2)"),
				ContainSubstring("2 Pods now hold the 1 seat of this assignment: over-allocated by 1"))))
		}).WithTimeout(timeout).Should(Succeed())

		By("no further Pod is admitted on the over-allocated seat")
		eventuallyDenied(func() client.Object { return kubecluster.MakePod("p3", ns).Product(product).Refuse().Obj() }, "2/1 seats in use")
	})
})
