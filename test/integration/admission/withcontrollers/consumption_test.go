package withcontrollers

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

func newNamespace() string {
	ns := kubecluster.MakeNamespace("e2e-"+rand.String(6), nil)
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func licence(ns, name string) *licensingv1alpha1.SoftwareLicense {
	l := &licensingv1alpha1.SoftwareLicense{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l)).To(Succeed())
	return l
}

var _ = Describe("A Consumption licence's status", func() {
	It("shows the uses of the Pods it admitted plus the usage its assignments reported, and keeps that usage when an assignment is deleted", func() {
		ns := newNamespace()
		product := ns + "-metered"
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).
			Policy(utiltesting.MakePolicy("metered").Type(licensingv1alpha1.LicenseTypeConsumption).MaxActivations(5).
				Consumption(licensingv1alpha1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](4), ResetPeriod: ptr.To(licensingv1alpha1.CalendarDuration("30d"))}).Obj()).
			DefaultPolicy("metered").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("metered", ns).Product(product).Seats(10).Obj())).To(Succeed())
		pods := utiltesting.MakeAssignment("pods", ns).License("metered").ServiceAccount("default").Seats(5).Obj()
		reporter := utiltesting.MakeAssignment("reporter", ns).License("metered").ServiceAccount("reporter").Obj()
		Expect(k8sClient.Create(ctx, pods)).To(Succeed())
		Expect(k8sClient.Create(ctx, reporter)).To(Succeed())
		for _, a := range []*licensingv1alpha1.LicenseAssignment{pods, reporter} {
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
				g.Expect(a.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound))
			}).Should(Succeed())
		}

		By("two Pods admitted count two uses")
		for i := range 2 {
			Eventually(func() error {
				return k8sClient.Create(ctx, kubecluster.MakePod(fmt.Sprintf("p-%d", i), ns).Product(product).Obj())
			}).Should(Succeed())
		}
		Eventually(func(g Gomega) {
			c := licence(ns, "metered").Status.Consumption
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Admitted).To(Equal(int64(2)))
			g.Expect(c.Used).To(Equal(int64(2)))
		}).Should(Succeed())

		By("usage an assignment reports counts too")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(reporter), reporter)).To(Succeed())
		reporter.Spec.Consumption = ptr.To[int64](2)
		Expect(k8sClient.Update(ctx, reporter)).To(Succeed())
		Eventually(func(g Gomega) {
			l := licence(ns, "metered")
			g.Expect(l.Status.Consumption.Reported).To(Equal(int64(2)))
			g.Expect(l.Status.Consumption.Used).To(Equal(int64(4)))
			g.Expect(meta.IsStatusConditionTrue(l.Status.Conditions, licensingv1alpha1.ConditionSeatsExhausted)).To(BeTrue())
		}).Should(Succeed())
		err := k8sClient.Create(ctx, kubecluster.MakePod("over", ns).Product(product).Refuse().Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("2 by admitted Pods, 2 reported by assignments"))

		By("deleting the reporting assignment keeps its usage for the period")
		Expect(k8sClient.Delete(ctx, reporter)).To(Succeed())
		Eventually(func(g Gomega) {
			c := licence(ns, "metered").Status.Consumption
			g.Expect(c.ReportedBy).To(HaveLen(1), "only the live assignment is listed")
			g.Expect(c.ReportedByDeleted).To(Equal(int64(2)))
			g.Expect(c.Used).To(Equal(int64(4)))
		}).Should(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.MakePod("still-over", ns).Product(product).Refuse().Obj())).NotTo(Succeed())
	})
})

var _ = Describe("A freeToUse product", func() {
	It("admits Pods without a licence and counts them in status.uses", func() {
		ns := newNamespace()
		product := ns + "-viewer"
		p := utiltesting.MakeProduct(product).Obj()
		p.Spec.Pricing = &licensingv1alpha1.Pricing{FreeToUse: true}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		for i := range 3 {
			Eventually(func() error {
				return k8sClient.Create(ctx, kubecluster.MakePod(fmt.Sprintf("v-%d", i), ns).Product(product).Obj())
			}).Should(Succeed())
		}
		uses := func(g Gomega) int32 {
			got := &licensingv1alpha1.LicenseProduct{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
			g.Expect(got.Status.Uses).NotTo(BeNil())
			return *got.Status.Uses
		}
		Eventually(uses).Should(Equal(int32(3)))
		Expect(k8sClient.Delete(ctx, &corev1.Pod{ObjectMeta: kubecluster.MakePod("v-0", ns).Obj().ObjectMeta})).To(Succeed())
		Eventually(uses).Should(Equal(int32(2)))
	})
})
