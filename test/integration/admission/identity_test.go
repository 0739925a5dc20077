package admission

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// These tests attack NamedUser seats with the attacker's own identity: each
// user has a client certificate of its own (envtest AddUser) and ordinary
// rights in the namespace only (those of the built-in ClusterRole edit, bound there),
// and the API server authorises with RBAC, as a cluster does.

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	carol = "carol@example.com"
	// replicaSetController is the username the ReplicaSet controller's
	// requests carry under --use-service-account-credentials.
	replicaSetController = "system:serviceaccount:kube-system:replicaset-controller"
)

// editRoles are the ClusterRoles the built-in edit role aggregates. envtest
// runs no controller manager, whose clusterrole-aggregation controller fills
// edit in a cluster: binding both gives exactly edit's rights.
var editRoles = []string{"system:aggregate-to-edit", "system:aggregate-to-view"}

// editorClient is a client authenticated as name, who may edit namespace ns
// (the rights of ClusterRole edit, bound in ns) and nothing else.
func editorClient(name, ns string) client.Client {
	u, err := testEnv.AddUser(envtest.User{Name: name}, nil)
	Expect(err).NotTo(HaveOccurred())
	for _, role := range editRoles {
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "edit-", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		})).To(Succeed())
	}
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	// The binding takes effect once the API server's RBAC cache has it.
	Eventually(func() error {
		return c.List(ctx, &corev1.PodList{}, client.InNamespace(ns))
	}).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
	return c
}

// admittedAs retries until c's create of the object is admitted (the
// webhooks' caches follow the API server) and returns the stored object.
func admittedAs(c client.Client, mk func() client.Object) client.Object {
	var o client.Object
	Eventually(func() error {
		o = mk()
		return c.Create(ctx, o)
	}).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
	return o
}

// deniedAs retries until c's create of the object is refused by admission
// with every part in the message, and returns the message.
func deniedAs(c client.Client, mk func() client.Object, parts ...string) string {
	var msg string
	Eventually(func(g Gomega) {
		o := mk()
		err := c.Create(ctx, o)
		if err == nil {
			_ = k8sClient.Delete(ctx, o)
		}
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		msg = err.Error()
		g.Expect(msg).To(ContainSubstring("denied the request"), "refused by RBAC, not by admission")
		for _, p := range parts {
			g.Expect(msg).To(ContainSubstring(p))
		}
	}).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
	return msg
}

func userOf(annotations map[string]string) string { return annotations[licensing.UserAnnotation] }

var _ = Describe("NamedUser seats serve only their holder", func() {
	var (
		ns, product string
		asAlice     client.Client
		asBob       client.Client
	)
	BeforeEach(func() {
		ns = newNamespace()
		product = ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("named", ns).Product(product).Obj(),
			kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelNamedUser, hard, ptr.To[int32](5), product))
		createAssignment(utiltesting.MakeAssignment("alice", ns).License("named").User(alice).Obj(), kubecluster.BoundStatus(ns+"/named", 1))
		asAlice = editorClient(alice, ns)
		asBob = editorClient(bob, ns)
	})
	pod := func(user string) func() client.Object {
		return func() client.Object {
			p := kubecluster.MakePod("", ns).GenerateName("u-").Product(product)
			if user != "" {
				p.Annotation(licensing.UserAnnotation, user)
			}
			return p.Obj()
		}
	}

	It("refuses bob's Pod written with alice's name, saying whose seat it is, and admits alice's Pod stamped with her name", func() {
		By("the attacker has ordinary rights here and none elsewhere (RBAC is on)")
		other := newNamespace()
		err := asBob.Create(ctx, kubecluster.MakePod("x", other).Obj())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).NotTo(ContainSubstring("denied the request"))

		By("bob, who holds no seat, creates a Pod annotated with alice's email")
		msg := deniedAs(asBob, pod(alice), fmt.Sprintf("%q", product), "Pod runs for user "+bob, "the seat is user "+alice+"'s")
		GinkgoWriter.Println("denial:", msg)
		By("the denial does not say which annotation would get around the check")
		Expect(msg).NotTo(ContainSubstring(licensing.UserAnnotation))
		Expect(msg).NotTo(ContainSubstring("annotate"))

		By("alice's own Pods are admitted and record her, whatever she wrote")
		for _, written := range []string{"", alice, carol} {
			p := admittedAs(asAlice, pod(written)).(*corev1.Pod)
			Expect(userOf(p.Annotations)).To(Equal(alice), "written %q", written)
		}
	})

	It("lets the ReplicaSet controller's Pods keep the template's user, and refuses a never-stamped one with re-apply", func() {
		asRSController := editorClient(replicaSetController, ns)
		p := admittedAs(asRSController, pod(alice)).(*corev1.Pod)
		Expect(userOf(p.Annotations)).To(Equal(alice))

		msg := deniedAs(asRSController, pod(""), "re-apply the workload so that its user is recorded")
		Expect(msg).NotTo(ContainSubstring(licensing.UserAnnotation))
		deniedAs(asRSController, pod(bob), "Pod runs for user "+bob, "the seat is user "+alice+"'s")
	})

	It("decides a running Pod again when someone else changes its user", func() {
		p := admittedAs(asAlice, pod("")).(*corev1.Pod)
		Expect(userOf(p.Annotations)).To(Equal(alice))
		Expect(asBob.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		p.Annotations[licensing.UserAnnotation] = bob
		err := asBob.Update(ctx, p)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(And(ContainSubstring("denied the request"), ContainSubstring("Pod runs for user "+bob)))
	})

	It("tells a ServiceAccount (a GitOps controller) that it cannot hold a NamedUser seat, and names a serviceAccount assignee, not a user one the CRD refuses", func() {
		gitops := "system:serviceaccount:" + ns + ":gitops"
		asGitOps := editorClient(gitops, ns)
		msg := deniedAs(asGitOps, pod(""),
			"and spec.assignee.serviceAccount.name default, and wait until it is Bound",
			"the workload runs for "+gitops+", which cannot hold a NamedUser seat")
		GinkgoWriter.Println("denial:", msg)
		Expect(msg).NotTo(ContainSubstring("user.email"))
		Expect(msg).NotTo(ContainSubstring(licensing.UserAnnotation))
	})

	It("stamps a Deployment with the user who applied it, re-stamps it on another user's image edit, and keeps it on a scale or restart", func() {
		createAssignment(utiltesting.MakeAssignment("bob", ns).License("named").User(bob).Obj(), kubecluster.BoundStatus(ns+"/named", 1))
		asCarol := editorClient(carol, ns)
		key := client.ObjectKey{Namespace: ns, Name: "cad"}
		admittedAs(asAlice, func() client.Object {
			return kubecluster.MakeDeployment("cad", 1, kubecluster.MakePod("", ns).Product(product).Annotation(licensing.UserAnnotation, carol))
		})
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		Expect(userOf(d.Spec.Template.Annotations)).To(Equal(alice))

		update := func(c client.Client, change func(*appsv1.Deployment)) error {
			d := &appsv1.Deployment{}
			Expect(c.Get(ctx, key, d)).To(Succeed())
			change(d)
			return c.Update(ctx, d)
		}
		stamped := func() string {
			d := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			return userOf(d.Spec.Template.Annotations)
		}

		By("bob's scale and rollout restart keep alice")
		Expect(update(asBob, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) })).To(Succeed())
		Expect(stamped()).To(Equal(alice))
		Expect(update(asBob, func(d *appsv1.Deployment) {
			d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-12-02T15:30:00Z"
		})).To(Succeed())
		Expect(stamped()).To(Equal(alice))

		By("carol, who holds no seat, may not take it over by editing the image")
		err := update(asCarol, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "busybox:1.37" })
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(And(ContainSubstring("Deployment runs for user "+carol), ContainSubstring("denied the request")))
		Expect(stamped()).To(Equal(alice))

		By("bob's image edit re-stamps it bob")
		Expect(update(asBob, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "busybox:1.37" })).To(Succeed())
		Expect(stamped()).To(Equal(bob))

		By("writing another user's name counts as a change: it re-stamps the writer")
		Expect(update(asBob, func(d *appsv1.Deployment) { d.Spec.Template.Annotations[licensing.UserAnnotation] = alice })).To(Succeed())
		Expect(stamped()).To(Equal(bob))
	})
})

var _ = Describe("A user written on a workload that needs no seat yet", func() {
	It("is replaced by the writer, so that licensing it later by an image pattern does not hand it another user's seat", func() {
		ns := newNamespace()
		asBob := editorClient(bob, ns)
		By("bob writes alice's name on a Deployment whose image no product matches")
		d := kubecluster.MakeDeployment("later", 1, kubecluster.MakePod("", ns).Image("registry.example.com/not-yet/"+ns+":1").
			Annotation(licensing.UserAnnotation, alice))
		Eventually(func() error { return asBob.Create(ctx, d.DeepCopy()) }).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
		got := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(d), got)).To(Succeed())
		Expect(userOf(got.Spec.Template.Annotations)).To(Equal(bob))
		By("and a Pod he creates with her name, licensed or not")
		p := admittedAs(asBob, func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("u-").Annotation(licensing.UserAnnotation, alice).Obj()
		}).(*corev1.Pod)
		Expect(userOf(p.Annotations)).To(Equal(bob))
	})
})

var _ = Describe("User-based products", func() {
	It("admit a bundle member's Pods only for the users of the bundle licence", func() {
		ns := newNamespace()
		member, suite := ns+"-cad", ns+"-suite"
		createProduct(utiltesting.MakeProduct(member).Authorization(licensingv1alpha1.AuthorizationUser).Obj())
		createProduct(utiltesting.MakeProduct(suite).Bundle(member).
			Policy(utiltesting.MakePolicy("site").SeatModel(licensingv1alpha1.SeatModelSite).Obj()).DefaultPolicy("site").Obj())
		createLicence(utiltesting.MakeLicense("suite", ns).Product(suite).PolicyCode("site").Users(alice).Obj(),
			kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelSite, hard, nil, suite, member))
		asAlice, asBob := editorClient(alice, ns), editorClient(bob, ns)
		pod := func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("u-").Product(member).Obj()
		}
		admittedAs(asAlice, pod)
		deniedAs(asBob, pod, "the product is user-based, and user "+bob+" is not among the 1 users of the licence")
	})
})
