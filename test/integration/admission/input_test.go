package admission

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// expectSchemaRefusal asserts the API server refused the object with its own
// field message, not with a Go decoder error from a webhook.
func expectSchemaRefusal(err error, want ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want the API server's Invalid, got %v", err)
	for _, w := range want {
		Expect(err.Error()).To(ContainSubstring(w))
	}
	for _, decoder := range []string{"admission webhook", "cannot unmarshal", "parsing time", "Go struct field", "is not a date"} {
		Expect(err.Error()).NotTo(ContainSubstring(decoder))
	}
}

var _ = Describe("Input as users write it, with the webhooks installed", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("accepts the date-only form and whole-number decimals, and stamps them", func() {
		l := kubecluster.RawObject("SoftwareLicense", "seed", ns, map[string]any{
			"startDate": "2024-03-12",
			"cost":      map[string]any{"listPrice": int64(100), "negotiatedDiscountPercent": int64(25)},
		})
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		Expect(l.GetAnnotations()).To(HaveKey(licensingv1alpha1.CreatedByAnnotation))
		got := &licensingv1alpha1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "seed"}, got)).To(Succeed())
		Expect(got.Spec.Cost.ListPrice).To(HaveValue(Equal(licensingv1alpha1.Decimal("100"))))
		Expect(got.Spec.Cost.NegotiatedDiscountPercent).To(Equal(licensingv1alpha1.Percent("25")))
		Expect(got.Spec.StartDate.UTC()).To(Equal(time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)))
	})

	DescribeTable("refuses a value of the wrong form with the API server's field message",
		func(build func(ns string) *unstructured.Unstructured, want ...string) {
			expectSchemaRefusal(k8sClient.Create(ctx, build(ns)), want...)
		},
		Entry("a day-first startDate", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("SoftwareLicense", "bad-date", ns, map[string]any{"startDate": "12/03/2024"})
		}, "spec.startDate", "should match"),
		Entry("an empty expiryDate", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("SoftwareLicense", "empty-date", ns, map[string]any{"expiryDate": ""})
		}, "spec.expiryDate", "should match"),
		Entry("a boolean listPrice", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("SoftwareLicense", "bool-price", ns, map[string]any{"cost": map[string]any{"listPrice": true}})
		}, "spec.cost.listPrice", "must be of type integer,string"),
		Entry("a fractional discount", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("SoftwareLicense", "float", ns, map[string]any{"cost": map[string]any{"negotiatedDiscountPercent": 12.5}})
		}, "spec.cost.negotiatedDiscountPercent", "must be of type integer,string"),
		Entry("seats as words on a licence", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("SoftwareLicense", "words", ns, map[string]any{"seats": "five"})
		}, "spec.seats", "must be of type integer"),
		Entry("a fractional product list price", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("LicenseProduct", ns+"-float", "", map[string]any{"pricing": map[string]any{"listPrice": 12.5, "currency": "EUR"}})
		}, "spec.pricing.listPrice", "must be of type integer,string"),
		Entry("seats as words on an assignment", func(ns string) *unstructured.Unstructured {
			return kubecluster.RawObject("LicenseAssignment", "words", ns, map[string]any{
				"licenseRef": map[string]any{"name": "l"}, "assignee": map[string]any{"serviceAccount": map[string]any{"name": "x"}}, "seats": "two",
			})
		}, "spec.seats", "must be of type integer"),
	)

	It("refuses an update to a value of the wrong form with the API server's field message", func() {
		l := kubecluster.RawObject("SoftwareLicense", "edit", ns, map[string]any{"startDate": "2024-03-12"})
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		Expect(unstructured.SetNestedField(l.Object, "12/03/2024", "spec", "startDate")).To(Succeed())
		expectSchemaRefusal(k8sClient.Update(ctx, l), "spec.startDate", "should match")
	})
})
