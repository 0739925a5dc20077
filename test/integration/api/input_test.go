package api

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var _ = Describe("Input as users write it", func() {
	BeforeEach(func() { ensureNamespace(ns) })

	It("accepts whole-number decimals and reads them back exactly", func() {
		name := unique("l")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", name, ns, map[string]any{
			"cost": map[string]any{"listPrice": int64(100), "negotiatedDiscountPercent": int64(25)},
		}))).To(Succeed())
		pname := unique("p")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("LicenseProduct", pname, "", map[string]any{
			"pricing": map[string]any{"listPrice": int64(1200), "currency": "EUR"},
		}))).To(Succeed())

		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(v1.GroupVersion.WithKind("SoftwareLicense"))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, got)).To(Succeed())
		Expect(got.Object["spec"].(map[string]any)["cost"]).To(Equal(map[string]any{"listPrice": int64(100), "negotiatedDiscountPercent": int64(25)}))

		typed := &v1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, typed)).To(Succeed())
		Expect(typed.Spec.Cost.ListPrice).To(HaveValue(Equal(v1.Decimal("100"))))
		Expect(typed.Spec.Cost.NegotiatedDiscountPercent).To(Equal(v1.Percent("25")))
		product := &v1.LicenseProduct{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Name: pname}, product)).To(Succeed())
		Expect(product.Spec.Pricing.ListPrice).To(HaveValue(Equal(v1.Decimal("1200"))))
	})

	It("keeps a quoted decimal's text exactly", func() {
		name := unique("l")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", name, ns, map[string]any{
			"cost": map[string]any{"listPrice": "19.9900", "negotiatedDiscountPercent": "12.5"},
		}))).To(Succeed())
		typed := &v1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, typed)).To(Succeed())
		Expect(typed.Spec.Cost.ListPrice).To(HaveValue(Equal(v1.Decimal("19.9900"))))
		Expect(typed.Spec.Cost.NegotiatedDiscountPercent).To(Equal(v1.Percent("12.5")))
	})

	DescribeTable("refuses a decimal that is not one, naming the field",
		func(cost map[string]any, want ...string) {
			expectInvalid(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", unique("l"), ns, map[string]any{"cost": cost})), want...)
		},
		// The API server's own type check refuses a float before any rule or
		// webhook runs; its message names the field and the types it takes
		// (it cannot say "quote it"; the Go decoder, for Go clients, does).
		Entry("a fractional YAML number as listPrice", map[string]any{"listPrice": 12.5},
			"spec.cost.listPrice", "must be of type integer,string"),
		Entry("a fractional YAML number as the discount", map[string]any{"negotiatedDiscountPercent": 12.5},
			"spec.cost.negotiatedDiscountPercent", "must be of type integer,string"),
		Entry("a negative whole listPrice", map[string]any{"listPrice": int64(-3)}, "spec.cost.listPrice", `or a quoted decimal such as "19.99"`),
		Entry("a whole discount above 100", map[string]any{"negotiatedDiscountPercent": int64(101)}, "spec.cost.negotiatedDiscountPercent", "must be a decimal from 0 to 100"),
		Entry("a boolean listPrice", map[string]any{"listPrice": true}, "spec.cost.listPrice", "must be of type integer,string"),
	)

	It("accepts the seed's date-only form beside RFC 3339 and keeps date order", func() {
		name := unique("l")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", name, ns, map[string]any{
			"purchaseDate": "2024-03-01", "startDate": "2024-03-12", "expiryDate": "2025-03-12T00:00:00Z", "renewalDate": "2025-02-01",
		}))).To(Succeed())
		typed := &v1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, typed)).To(Succeed())
		Expect(typed.Spec.StartDate.UTC()).To(Equal(date("2024-03-12")))
		Expect(typed.Spec.PurchaseDate.UTC()).To(Equal(date("2024-03-01")))
		Expect(typed.Spec.RenewalDate.UTC()).To(Equal(date("2025-02-01")))
		Expect(typed.Spec.ExpiryDate.UTC()).To(Equal(date("2025-03-12")))

		// The date-order rule compares a date-only and an RFC 3339 value as instants.
		expectInvalid(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", unique("l"), ns, map[string]any{
			"startDate": "2024-03-12", "expiryDate": "2024-03-11T23:59:59Z",
		})), "spec.expiryDate must be after spec.startDate")
		expectInvalid(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", unique("l"), ns, map[string]any{
			"startDate": "2024-03-12T00:00:00+01:00", "expiryDate": "2024-03-11",
		})), "spec.expiryDate must be after spec.startDate")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", unique("l"), ns, map[string]any{
			"startDate": "2024-03-12T00:00:00+01:00", "expiryDate": "2024-03-12",
		}))).To(Succeed())
	})

	It("writes a Date back as RFC 3339 through the Go client", func() {
		name := unique("l")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", name, ns, map[string]any{"startDate": "2024-03-12"}))).To(Succeed())
		typed := &v1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, typed)).To(Succeed())
		typed.Spec.ExpiryDate = v1.NewDate(date("2025-03-12"))
		Expect(k8sClient.Update(ctx, typed)).To(Succeed())
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(v1.GroupVersion.WithKind("SoftwareLicense"))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, got)).To(Succeed())
		spec := got.Object["spec"].(map[string]any)
		Expect(spec["startDate"]).To(Equal("2024-03-12T00:00:00Z"))
		Expect(spec["expiryDate"]).To(Equal("2025-03-12T00:00:00Z"))
		raw, err := json.Marshal(typed.Spec.StartDate)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).To(Equal(`"2024-03-12T00:00:00Z"`))
	})

	DescribeTable("refuses a date that is not one, naming the field and the forms it takes",
		func(field string, value any) {
			expectInvalid(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", unique("l"), ns, map[string]any{field: value})),
				"spec."+field, "should match")
		},
		Entry("a day-first date", "startDate", "12/03/2024"),
		Entry("a month 13", "expiryDate", "2024-13-01"),
		Entry("a time without an offset", "renewalDate", "2024-03-12T09:30:00"),
		Entry("a date with a space before the time", "purchaseDate", "2024-03-12 09:30:00Z"),
	)
})
