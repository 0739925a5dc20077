package kubectllicense

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// Licence hold-a/cad-pro, shared with every namespace, 5 seats all held:
// assignment web in hold-a (2 seats, one Pod holding, one waiting in line)
// and assignment secret-team in hold-b (3 seats, one Pod waiting). Alice may
// read hold-a only.
var _ = Describe("kubectl license holders", Ordered, func() {
	var alice string

	BeforeAll(func() {
		createNamespace("hold-a", "hold-b")
		t0 := time.Now().Add(-time.Hour)
		for _, sa := range []struct{ ns, name string }{{"hold-a", "web"}, {"hold-b", "ci"}} {
			sacc := &corev1.ServiceAccount{}
			sacc.Namespace, sacc.Name = sa.ns, sa.name
			Expect(k8sClient.Create(ctx, sacc)).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct("hold-cad").Obj())).To(Succeed())
		createLicence(utiltesting.MakeLicense("cad-pro", "hold-a").Product("hold-cad").Seats(5).SharedWithAll().
			ResolvedProduct("hold-cad", "CAD Pro", "Acme", "CAD-1").EffectiveSeatModel(licensingv1alpha1.SeatModelConcurrent).
			Computed(licensingv1alpha1.LicenseStateActive, 5, 2).StatusWaiting(2, 0).Obj())
		createAssignment(utiltesting.MakeAssignment("web", "hold-a").License("cad-pro").Seats(2).ServiceAccount("web").
			BoundTo("hold-a/cad-pro", 2, t0).StatusWaitingPods(1).Obj())
		createAssignment(utiltesting.MakeAssignment("secret-team", "hold-b").License("cad-pro", "hold-a").Seats(3).ServiceAccount("ci").
			BoundTo("hold-a/cad-pro", 3, t0).StatusWaitingPods(1).Obj())
		pod := func(name, ns, sa string) *utiltesting.PodWrapper {
			return utiltesting.MakePod(name, ns, "", t0).ServiceAccount(sa).Product("hold-cad").Licensed()
		}
		createPod(pod("web-1", "hold-a", "web").Obj())
		waiting := createPod(pod("web-2", "hold-a", "web").SeatGated().Obj())
		createPod(pod("ci-1", "hold-b", "ci").SeatGated().Obj())
		createEvent(waiting, "Pod", EventWaitingForSeat, "QueuePosition1",
			licensing.WaitingEventMessage("hold-cad", "web", "hold-a/cad-pro", licensing.LinePlace{
				Position: 1, Waiting: 1, Used: 2, Seats: 2, Holders: []string{"web-1", "web-x"},
			}), time.Now())

		alice = kubeconfigOf("alice")
		grantReader("alice", "hold-a")
	})

	It("names every holder for an administrator", func() {
		out, _, err := runPlugin(adminKubeconfig, "holders", "cad-pro", "-n", "hold-a")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("hold-b      secret-team   hold-a/cad-pro   sa/ci      Bound   3/3"))
		Expect(out).To(ContainSubstring("hold-a      web           hold-a/cad-pro   sa/web     Bound   2/2"))
		Expect(out).To(MatchRegexp(`hold-b\s+ci-1\s+secret-team\s+Waiting\s+-`))
		Expect(out).NotTo(ContainSubstring("cannot read"))
	})

	It("counts, and does not name, the holders in namespaces the user cannot read", func() {
		out, _, err := runPlugin(alice, "holders", "cad-pro", "-n", "hold-a")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal(`LICENCE          PRODUCT    STATE    SEATS   HOLDERS   WAITING
hold-a/cad-pro   hold-cad   Active   5/5     2         2

Assignments
NAMESPACE   NAME   LICENCE          ASSIGNEE   STATE   SEATS   WAITING   QUEUE   MESSAGE
hold-a      web    hold-a/cad-pro   sa/web     Bound   2/2     1         -       -

Pods
NAMESPACE   POD     ASSIGNMENT   SEAT      POSITION   NODE   PHASE
hold-a      web-1   web          Holding   -          -      Pending
hold-a      web-2   web          Waiting   1 of 1     -      Pending

1 holder in namespaces you cannot read (3 seats, 1 Pod waiting)
You may not list LicenseProducts: Pods that need a seat by an image pattern (spec.workloads.images) are not shown, only those with the product annotation.
`))
		for _, secret := range []string{"hold-b", "secret-team", "ci-1", "sa/ci"} {
			Expect(out).NotTo(ContainSubstring(secret))
		}
	})

	It("skips each namespace that answers Forbidden when the user may list namespaces", func() {
		bob := kubeconfigOf("bob")
		grantReader("bob", "hold-a")
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "namespace-lister"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}},
		})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "bob-lists-namespaces"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "namespace-lister"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "bob"}},
		})).To(Succeed())
		out, _, err := runPlugin(bob, "holders", "cad-pro", "-n", "hold-a")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("1 holder in namespaces you cannot read (3 seats, 1 Pod waiting)"))
		Expect(out).To(MatchRegexp(`hold-a\s+web\s+hold-a/cad-pro`))
		Expect(out).NotTo(ContainSubstring("secret-team"))
	})

	It("gives the counts in json", func() {
		out, _, err := runPlugin(alice, "holders", "hold-a/cad-pro", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		var h Holders
		Expect(json.Unmarshal([]byte(out), &h)).To(Succeed())
		Expect(h.Hidden).To(Equal(HiddenHolders{Holders: 1, Seats: 3, WaitingPods: 1}))
		Expect(h.Assignments).To(HaveLen(1))
		Expect(out).NotTo(ContainSubstring("hold-b"))
	})

	It("lists the holders of every licence of a product", func() {
		out, _, err := runPlugin(adminKubeconfig, "holders", "--product", "hold-cad", "-A", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		var h Holders
		Expect(json.Unmarshal([]byte(out), &h)).To(Succeed())
		Expect(h.Licenses).To(HaveLen(1))
		var names []string
		for _, a := range h.Assignments {
			names = append(names, a.Namespace+"/"+a.Name)
		}
		Expect(names).To(Equal([]string{"hold-a/web", "hold-b/secret-team"}))
		Expect(h.Pods).To(HaveLen(3))
	})

	It("wants a licence or a product, and completes licence names", func() {
		_, _, err := runPlugin(adminKubeconfig, "holders")
		Expect(err).To(MatchError("name a licence, or a product with --product (not both)"))
		_, _, err = runPlugin(alice, "holders", "--product", "hold-cad", "-n", "hold-b")
		Expect(err).To(MatchError(ContainSubstring("forbidden")))
		out, _, err := runPlugin(adminKubeconfig, "__complete", "holders", "-n", "hold-a", "ca")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(HavePrefix("cad-pro\n"))
	})
})
