package security

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/internal/webhook/workload"
)

// The shipped ClusterRole grants the two webhook configurations by
// resourceNames; the matchConditions syncer lists and watches each with a
// metadata.name field selector, which the API server authorizes by those
// names. A user bound to exactly config/rbac/role.yaml may do that, and may
// neither get one uncached, list every configuration nor update another one.
var _ = Describe("The manager's ClusterRole and the webhook configurations", func() {
	It("allows the list, watch and update of the operator's configurations by name, and nothing wider", func() {
		user := "shipped-role-" + rand.String(5)
		role := &rbacv1.ClusterRole{}
		raw, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.Unmarshal(raw, role)).To(Succeed())
		grantCluster(user, role.Rules...)
		c, err := client.NewWithWatch(userConfig(user, []string{"system:authenticated"}), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())

		ours := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: workload.DefaultValidatingWebhookConfiguration}}
		other := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses-" + rand.String(5)}}
		for _, o := range []client.Object{ours, other} {
			Expect(k8sClient.Create(ctx, o)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, o))).To(Succeed()) })
		}
		byName := client.MatchingFields{"metadata.name": ours.Name}
		// RBAC of a new binding applies within moments.
		Eventually(func() error {
			return c.List(ctx, &admissionregistrationv1.ValidatingWebhookConfigurationList{}, byName)
		}).Should(Succeed())
		w, err := c.Watch(ctx, &admissionregistrationv1.ValidatingWebhookConfigurationList{}, byName)
		Expect(err).NotTo(HaveOccurred())
		w.Stop()
		Expect(c.List(ctx, &admissionregistrationv1.MutatingWebhookConfigurationList{},
			client.MatchingFields{"metadata.name": workload.DefaultMutatingWebhookConfiguration})).To(Succeed())

		// The operator reads them through its caches only: no uncached get.
		Expect(apierrors.IsForbidden(c.Get(ctx, client.ObjectKeyFromObject(ours), ours))).To(BeTrue())
		var listed admissionregistrationv1.ValidatingWebhookConfigurationList
		Expect(c.List(ctx, &listed, byName)).To(Succeed())
		Expect(listed.Items).To(HaveLen(1))
		Expect(c.Update(ctx, &listed.Items[0])).To(Succeed())

		Expect(apierrors.IsForbidden(c.List(ctx, &admissionregistrationv1.ValidatingWebhookConfigurationList{}))).To(BeTrue())
		Expect(apierrors.IsForbidden(c.List(ctx, &admissionregistrationv1.ValidatingWebhookConfigurationList{},
			client.MatchingFields{"metadata.name": other.Name}))).To(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
		Expect(apierrors.IsForbidden(c.Update(ctx, other))).To(BeTrue())
	})
})
