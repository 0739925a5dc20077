package security

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	ut "github.com/license-operator/license-operator/internal/util/testing"
	webhookv1alpha1 "github.com/license-operator/license-operator/internal/webhook/v1alpha1"
	"github.com/license-operator/license-operator/test/kubecluster"
)

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data}
}

func getLicence(g Gomega, ns, name string) *v1.SoftwareLicense {
	var l v1.SoftwareLicense
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &l)).To(Succeed())
	return &l
}

func getAssignment(g Gomega, ns, name string) *v1.LicenseAssignment {
	var a v1.LicenseAssignment
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &a)).To(Succeed())
	return &a
}

// eventNotes are the notes of the events of ns about the object kind/name
// with the reason.
func eventNotes(g Gomega, ns, kind, name, reason string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e.Type+": "+e.Note)
		}
	}
	return out
}

// updateLicence changes the licence "vendor" as the client's user, retrying
// on the conflicts of the operator's concurrent status writes.
func updateLicence(c client.Client, ns string, mutate func(*v1.SoftwareLicense)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var l v1.SoftwareLicense
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "vendor"}, &l); err != nil {
			return err
		}
		mutate(&l)
		return c.Update(ctx, &l)
	})
}

func expectBound(g Gomega, ns, name, licence string) {
	a := getAssignment(g, ns, name)
	g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound), name)
	g.Expect(a.Status.License).To(Equal(licence), name)
}

var _ = Describe("Secret oracle: a licence names only a Secret its author may read", func() {
	var ns string
	var mallory, alice *tenant
	BeforeEach(func() {
		ns = newNamespace()
		Expect(k8sClient.Create(ctx, secret(ns, "db-password", map[string][]byte{"password": []byte("hunter2")}))).To(Succeed())
		Expect(k8sClient.Create(ctx, secret(ns, "vendor-key", map[string][]byte{"license-key": []byte("VENDOR-KEY-1")}))).To(Succeed())
		mallory = newTenant("mallory-" + rand.String(4))
		grant(mallory.name, ns, editorRules...)
		alice = newTenant("alice-" + rand.String(4))
		grant(alice.name, ns, editorRules...)
		grant(alice.name, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db-password", "vendor-key"}, Verbs: []string{"get"}})
	})

	It("refuses a secretRef to a Secret the requester may not get, accepts it from one who may, and checks every later change of it", func() {
		By("mallory may create licences but not read Secrets")
		err := mallory.client.Create(ctx, ut.MakeLicense("steal", ns).KeySecret("db-password", "password").Obj())
		Expect(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.key.secretRef.name"))
		Expect(err.Error()).To(ContainSubstring(`user "` + mallory.name + `" may not get Secret "db-password" in namespace "` + ns + `"`))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "steal"}, &v1.SoftwareLicense{}))).To(BeTrue())

		By("alice may get the Secret: accepted, and the operator fingerprints it")
		Expect(alice.client.Create(ctx, ut.MakeLicense("vendor", ns).KeySecret("vendor-key", "").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getLicence(g, ns, "vendor").Status.KeyFingerprint).To(HavePrefix("sha256:"))
		}).Should(Succeed())

		By("an edit that leaves the secretRef alone is not checked again")
		Expect(updateLicence(mallory.client, ns, func(l *v1.SoftwareLicense) { l.Spec.Tags = []string{"cad"} })).To(Succeed())

		By("mallory pointing alice's licence at another key or Secret is checked again, and refused")
		for _, ref := range []v1.SecretKeyReference{{Name: "vendor-key", Key: "other"}, {Name: "db-password", Key: "password"}} {
			err = updateLicence(mallory.client, ns, func(l *v1.SoftwareLicense) { l.Spec.Key.SecretRef = ref })
			Expect(err).To(HaveOccurred(), "%+v", ref)
			Expect(err.Error()).To(ContainSubstring("spec.key.secretRef.name"))
			Expect(err.Error()).To(ContainSubstring("may not get Secret %q", ref.Name))
		}

		By("alice, who may read db-password, may point her licence at it")
		Expect(updateLicence(alice.client, ns, func(l *v1.SoftwareLicense) {
			l.Spec.Key.SecretRef = v1.SecretKeyReference{Name: "db-password", Key: "password"}
		})).To(Succeed())

		By("but not at a Secret she may not read")
		err = updateLicence(alice.client, ns, func(l *v1.SoftwareLicense) { l.Spec.Key.SecretRef = v1.SecretKeyReference{Name: "api-token"} })
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`may not get Secret "api-token"`))
	})

	It("words a missing Secret and a missing key the same, without the Secret's keys", func() {
		other := newNamespace()
		grant(alice.name, other, editorRules...)
		grant(alice.name, other, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db-password"}, Verbs: []string{"get"}})
		// ns has db-password without the key license-key; other has no db-password at all.
		Expect(alice.client.Create(ctx, ut.MakeLicense("k", ns).KeySecret("db-password", "").Obj())).To(Succeed())
		Expect(alice.client.Create(ctx, ut.MakeLicense("k", other).KeySecret("db-password", "").Obj())).To(Succeed())
		messages := map[string]string{}
		Eventually(func(g Gomega) {
			for _, n := range []string{ns, other} {
				c := meta.FindStatusCondition(getLicence(g, n, "k").Status.Conditions, v1.ConditionReady)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Reason).To(Equal(v1.ReasonKeyNotFound))
				messages[n] = strings.ReplaceAll(c.Message, n, "NAMESPACE")
			}
		}).Should(Succeed())
		Expect(messages[ns]).To(Equal(messages[other]))
		Expect(messages[ns]).NotTo(ContainSubstring(`"password"`), "the Secret's keys are not listed")
		Expect(getLicence(Default, ns, "k").Status.KeyFingerprint).To(BeEmpty())
		Expect(getLicence(Default, other, "k").Status.KeyFingerprint).To(BeEmpty())
	})
})

var _ = Describe("Deletion loses nothing", func() {
	It("keeps a licence deleted by a namespace editor Terminating while assignments hold its seats, and lets it go after them", func() {
		ns, guestNS := newNamespace(), newNamespace()
		erin := newTenant("erin-" + rand.String(4))
		grant(erin.name, ns, editorRules...)
		guest := newTenant("gus-" + rand.String(4))
		grant(guest.name, guestNS, editorRules...)

		Expect(erin.client.Create(ctx, ut.MakeLicense("cad", ns).Seats(5).MaxActivations(100).SharedWithAll().Obj())).To(Succeed())
		for _, name := range []string{"alpha", "beta"} {
			Expect(erin.client.Create(ctx, ut.MakeAssignment(name, ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		}
		Expect(guest.client.Create(ctx, ut.MakeAssignment("secret-project", guestNS).ServiceAccount("runner").License("cad", ns).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			expectBound(g, ns, "alpha", ns+"/cad")
			expectBound(g, ns, "beta", ns+"/cad")
			expectBound(g, guestNS, "secret-project", ns+"/cad")
			g.Expect(getLicence(g, ns, "cad").Finalizers).To(ContainElement(v1.LicenseFinalizer))
		}).Should(Succeed())

		By("the editor's DELETE succeeds, with a warning that names her holders and counts the others")
		Expect(erin.client.Delete(ctx, getLicence(Default, ns, "cad"))).To(Succeed())
		Expect(erin.warnings.All()).To(ContainElement(
			"SoftwareLicense " + ns + "/cad stays Terminating until its 3 seat holders are released (assignments alpha, beta and 1 in other namespaces): " +
				"they keep their seats until then, and nothing new binds to it"))
		for _, w := range erin.warnings.All() {
			Expect(w).NotTo(ContainSubstring("secret-project"))
		}

		By("the licence stays Terminating, its condition and a Warning event name the holders, an event the deleting user")
		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "cad")
			g.Expect(l.DeletionTimestamp).NotTo(BeNil())
			c := meta.FindStatusCondition(l.Status.Conditions, v1.ConditionTerminating)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(v1.ReasonHeldBySeats))
			g.Expect(c.Message).To(ContainSubstring("(assignments alpha, beta and 1 in other namespaces)"))
			g.Expect(c.Message).NotTo(ContainSubstring("secret-project"))
			g.Expect(eventNotes(g, ns, "SoftwareLicense", "cad", controller.EventHeldBySeats)).To(ContainElement(And(
				HavePrefix("Warning: "), ContainSubstring("assignments alpha, beta and 1 in other namespaces"))))
			g.Expect(eventNotes(g, ns, "SoftwareLicense", "cad", webhookv1alpha1.EventDeleted)).To(ContainElement(
				"Warning: SoftwareLicense deleted by " + erin.name + ": it stays Terminating until its 3 seat holders are released"))
		}).Should(Succeed())

		By("the holders keep their seats, and nothing new binds")
		Consistently(func(g Gomega) {
			expectBound(g, ns, "alpha", ns+"/cad")
			expectBound(g, ns, "beta", ns+"/cad")
			expectBound(g, guestNS, "secret-project", ns+"/cad")
		}, "2s", "200ms").Should(Succeed())
		Expect(erin.client.Create(ctx, ut.MakeAssignment("late", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "late")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(a.Status.Message).To(ContainSubstring("licence " + ns + "/cad is being deleted"))
		}).Should(Succeed())

		By("the last holder released, the licence is gone")
		for _, name := range []string{"alpha", "beta", "late"} {
			Expect(erin.client.Delete(ctx, getAssignment(Default, ns, name))).To(Succeed())
		}
		Consistently(func(g Gomega) { getLicence(g, ns, "cad") }, "1s", "200ms").Should(Succeed(), "one holder is left")
		Expect(guest.client.Delete(ctx, getAssignment(Default, guestNS, "secret-project"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, &v1.SoftwareLicense{}))
		}).Should(BeTrue())
	})

	It("records a deletion without holders, which goes at once, and nothing on a dry run", func() {
		ns := newNamespace()
		erin := newTenant("erin-" + rand.String(4))
		grant(erin.name, ns, editorRules...)
		Expect(erin.client.Create(ctx, ut.MakeLicense("dry", ns).Seats(1).Obj())).To(Succeed())
		Expect(erin.client.Delete(ctx, getLicence(Default, ns, "dry"), client.DryRunAll)).To(Succeed())
		Expect(erin.client.Create(ctx, ut.MakeLicense("idle", ns).Seats(1).Obj())).To(Succeed())
		Expect(erin.client.Delete(ctx, getLicence(Default, ns, "idle"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(eventNotes(g, ns, "SoftwareLicense", "idle", webhookv1alpha1.EventDeleted)).To(ContainElement("Normal: SoftwareLicense deleted by " + erin.name))
		}).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "idle"}, &v1.SoftwareLicense{}))).To(BeTrue())
		getLicence(Default, ns, "dry")
		Expect(eventNotes(Default, ns, "SoftwareLicense", "dry", webhookv1alpha1.EventDeleted)).To(BeEmpty())
	})

	It("releases the holders, in other namespaces too, when the licence's namespace is deleted", func() {
		ns, guestNS := newNamespace(), newNamespace()
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Seats(5).MaxActivations(100).SharedWithAll().Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("own", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("guest", guestNS).ServiceAccount("runner").License("cad", ns).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			expectBound(g, ns, "own", ns+"/cad")
			expectBound(g, guestNS, "guest", ns+"/cad")
		}).Should(Succeed())

		// envtest runs no namespace controller: do what it does, deleting
		// the namespace, then its licences.
		Expect(k8sClient.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(k8sClient.Delete(ctx, getLicence(Default, ns, "cad"))).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, guestNS, "guest")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(a.Status.License).To(BeEmpty())
			g.Expect(eventNotes(g, guestNS, "LicenseAssignment", "guest", controller.EventLicenseReleased)).To(ContainElement(
				"Warning: Licence " + ns + "/cad was deleted with its namespace: this assignment's seats are released"))
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, &v1.SoftwareLicense{}))).To(BeTrue())
		}).Should(Succeed())
	})

	It("keeps a product deleted while its licences' seats are held, admitting nothing new, until they are released", func() {
		ns := newNamespace()
		product := "cad-" + rand.String(5)
		paula := newTenant("paula-" + rand.String(4))
		grantCluster(paula.name, rbacv1.PolicyRule{APIGroups: []string{"licensing.license-operator.dev"}, Resources: []string{"licenseproducts"}, Verbs: []string{"*"}})
		Expect(paula.client.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Product(product).Seats(5).MaxActivations(5).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("holder", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			expectBound(g, ns, "holder", ns+"/cad")
			var p v1.LicenseProduct
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: product}, &p)).To(Succeed())
			g.Expect(p.Finalizers).To(ContainElement(v1.ProductFinalizer))
		}).Should(Succeed())

		By("the DELETE succeeds with a warning naming the licences that hold seats")
		var p v1.LicenseProduct
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: product}, &p)).To(Succeed())
		Expect(paula.client.Delete(ctx, &p)).To(Succeed())
		Expect(paula.warnings.All()).To(ContainElement("LicenseProduct " + product + " stays Terminating until its 1 seat holder is released (licence " + ns +
			"/cad (1 assignment)): they keep their seats until then, and no licence of it binds new seats"))

		Eventually(func(g Gomega) {
			var p v1.LicenseProduct
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: product}, &p)).To(Succeed())
			g.Expect(p.DeletionTimestamp).NotTo(BeNil())
			c := meta.FindStatusCondition(p.Status.Conditions, v1.ConditionTerminating)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1.ReasonHeldBySeats))
			g.Expect(c.Message).To(ContainSubstring("licence " + ns + "/cad (1 assignment)"))
			g.Expect(eventNotes(g, metav1.NamespaceDefault, "LicenseProduct", product, controller.EventProductHeldBySeats)).To(ContainElement(
				ContainSubstring("licence " + ns + "/cad (1 assignment)")))
			g.Expect(eventNotes(g, metav1.NamespaceDefault, "LicenseProduct", product, webhookv1alpha1.EventDeleted)).To(ContainElement(
				"Warning: LicenseProduct deleted by " + paula.name + ": it stays Terminating until its 1 seat holder is released"))
		}).Should(Succeed())

		By("the holder keeps its seat; nothing new binds to a licence of the product")
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("late", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "late")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(a.Status.Message).To(ContainSubstring("product " + product + " of licence " + ns + "/cad is being deleted"))
		}).Should(Succeed())
		Consistently(func(g Gomega) { expectBound(g, ns, "holder", ns+"/cad") }, "1s", "200ms").Should(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.MakePod("runs", ns).Product(product).ServiceAccount("runner").Obj())).To(Succeed(),
			"the holder's Pods are still admitted")
		err := k8sClient.Create(ctx, kubecluster.MakePod("stranger", ns).Product(product).ServiceAccount("stranger").Obj())
		Expect(err).To(HaveOccurred(), "a Pod no holder covers is not")
		Expect(err.Error()).To(ContainSubstring(product))

		By("the holder released, the product is gone")
		Expect(k8sClient.Delete(ctx, getAssignment(Default, ns, "holder"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: product}, &v1.LicenseProduct{}))
		}).Should(BeTrue())
	})
})
