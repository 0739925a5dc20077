package seats

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

var _ = Describe("Input as users write it", func() {
	It("starts a licence written with the seed's date-only startDate at 00:00 UTC, and prices its whole-number decimals exactly", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		// Sent as a user writes it: the Go types would write the date back in RFC 3339.
		lic := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": v1.GroupVersion.String(),
			"kind":       "SoftwareLicense",
			"metadata":   map[string]any{"name": "seed", "namespace": ns},
			"spec": map[string]any{
				"startDate":  "2024-03-12",
				"expiryDate": "2124-03-12",
				"seats":      int64(4),
				"cost":       map[string]any{"listPrice": int64(100), "negotiatedDiscountPercent": int64(25), "currency": "EUR"},
			},
		}}
		Expect(k8sClient.Create(ctx, lic)).To(Succeed())

		Eventually(func(g Gomega) {
			got := &v1.SoftwareLicense{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "seed"}, got)).To(Succeed())
			g.Expect(got.Status.ValidFrom).NotTo(BeNil())
			g.Expect(got.Status.ValidFrom.UTC()).To(Equal(time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)))
			g.Expect(got.Status.ValidUntil).NotTo(BeNil())
			g.Expect(got.Status.ValidUntil.UTC()).To(Equal(time.Date(2124, 3, 12, 0, 0, 0, 0, time.UTC)))
			g.Expect(got.Status.Cost).NotTo(BeNil())
			g.Expect(got.Status.Cost.UnitPrice).To(Equal(v1.Decimal("75.00")))
			g.Expect(got.Status.Cost.Total).To(Equal(v1.Decimal("300.00")))
		}, timeout, interval).Should(Succeed())

		// The status as stored: the RFC 3339 instant, to the second.
		raw := &unstructured.Unstructured{}
		raw.SetGroupVersionKind(v1.GroupVersion.WithKind("SoftwareLicense"))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "seed"}, raw)).To(Succeed())
		validFrom, _, err := unstructured.NestedString(raw.Object, "status", "validFrom")
		Expect(err).NotTo(HaveOccurred())
		Expect(validFrom).To(Equal("2024-03-12T00:00:00Z"))
	})
})
