package security

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// Issue 12 §2: RBAC has no deny, and the operator's ClusterRole must let it
// create a key Secret in any namespace a licence lives in. The
// ValidatingAdmissionPolicy of config/policy (operator_secret_writes.yaml)
// narrows its Secret writes to the key Secrets it owns: labelled
// KeySecretLabel=true and controlled by a SoftwareLicense, and to updates of
// its webhook certificate Secret (internal certificate management). The operator's
// user here has the rights of cluster-admin, so what refuses is the policy
// alone.
var _ = Describe("The operator writes only its key Secrets", func() {
	var ns string
	var operator client.Client

	BeforeEach(func() {
		Expect(kubecluster.ApplyPolicies(ctx, k8sClient, licensing.DefaultOperatorUsername)).To(Succeed())
		ns = newNamespace()
		var err error
		operator, err = client.New(userConfig(licensing.DefaultOperatorUsername, kubecluster.OperatorGroups), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
	})

	keyLabel := map[string]string{controller.KeySecretLabel: "true"}
	refused := func(err error) {
		GinkgoHelper()
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("writes only the licence key Secrets it owns"))
	}

	It("may not create, update or delete a Secret without the key label and a licence's ownerReference, in kube-system or a tenant's namespace", func() {
		name := "not-a-key-" + rand.String(5)
		// The policy applies about a second after its creation.
		Eventually(func() error {
			return operator.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}})
		}).Should(Satisfy(apierrors.IsForbidden))
		refused(operator.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}}))
		By("the label alone is not enough: a tenant may label a Secret of their own")
		refused(operator.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: keyLabel}}))

		By("a tenant's Secret stays out of reach, labelled or not")
		for _, labels := range []map[string]string{nil, keyLabel} {
			tenantSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tenant-" + rand.String(5), Namespace: "kube-system", Labels: labels},
				Data: map[string][]byte{"token": []byte("s3cret")}}
			Expect(k8sClient.Create(ctx, tenantSecret)).To(Succeed())
			taken := tenantSecret.DeepCopy()
			taken.Data["token"] = []byte("mine")
			refused(operator.Update(ctx, taken))
			refused(operator.Delete(ctx, tenantSecret))
		}
	})

	It("may update its webhook certificate Secret, and only update it; no other Secret of its namespace", func() {
		// config/internalcert's Secret, which the certificate rotator renews
		// (--internal-cert-management); the policy names it literally.
		const operatorNS, certSecret = "license-operator-system", "webhook-server-cert"
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}))).To(Succeed())
		cert := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: certSecret, Namespace: operatorNS}, Type: corev1.SecretTypeOpaque}
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, cert))).To(Succeed())

		By("it may not create it: the chart does")
		// The policy applies about a second after its creation: wait with a
		// dry run, which the policy sees and which creates nothing.
		Eventually(func() error { return operator.Create(ctx, cert.DeepCopy(), client.DryRunAll) }).Should(Satisfy(apierrors.IsForbidden))
		refused(operator.Create(ctx, cert.DeepCopy()))
		Expect(k8sClient.Create(ctx, cert)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, cert))).To(Succeed()) })

		By("it may write a new certificate into it")
		cert.Data = map[string][]byte{"ca.crt": []byte("ca"), "tls.crt": []byte("crt"), "tls.key": []byte("key")}
		Expect(operator.Update(ctx, cert)).To(Succeed())

		By("it may not delete it, nor write a Secret of that name elsewhere, nor another Secret of its namespace")
		refused(operator.Delete(ctx, cert))
		refused(operator.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: certSecret, Namespace: ns}}))
		other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other-" + rand.String(5), Namespace: operatorNS},
			Data: map[string][]byte{"token": []byte("s3cret")}}
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, other))).To(Succeed()) })
		other.Data["token"] = []byte("mine")
		refused(operator.Update(ctx, other))
	})

	It("creates the key Secret of a licence, and may write such a Secret itself", func() {
		product := utiltesting.MakeProduct("secrets-" + rand.String(5)).Obj()
		Expect(k8sClient.Create(ctx, product)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, product))).To(Succeed()) })
		lic := utiltesting.MakeLicense("keyed", ns).Product(product.Name).Obj()
		Expect(k8sClient.Create(ctx, lic)).To(Succeed())

		By("the operator generates the key into a Secret it owns")
		generated := &corev1.Secret{}
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: controller.GeneratedKeySecretName(lic.Name)}, generated)
		}).Should(Succeed())
		Expect(generated.Labels).To(HaveKeyWithValue(controller.KeySecretLabel, "true"))
		Expect(metav1.IsControlledBy(generated, lic)).To(BeTrue())
		Eventually(func(g Gomega) {
			g.Expect(getLicence(g, ns, lic.Name).Status.KeyFingerprint).NotTo(BeEmpty())
		}).Should(Succeed())

		By("a labelled Secret controlled by a licence passes the policy, for every write")
		owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "owned-" + rand.String(5), Namespace: ns, Labels: keyLabel,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "SoftwareLicense",
				Name: lic.Name, UID: lic.UID, Controller: ptr.To(true)}}}}
		Expect(operator.Create(ctx, owned)).To(Succeed())
		owned.Data = map[string][]byte{controller.KeySecretDataKey: []byte("k")}
		Expect(operator.Update(ctx, owned)).To(Succeed())
		By("removing the label is a write that takes it out of its reach: refused")
		unlabelled := owned.DeepCopy()
		unlabelled.Labels = nil
		refused(operator.Update(ctx, unlabelled))
		Expect(operator.Delete(ctx, owned)).To(Succeed())
	})
})
