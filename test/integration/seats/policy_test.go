package seats

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

var _ = Describe("Policy resolution as seed 002 says", func() {
	It("gives a licence that names a trial policy nothing of the product's default policy, and the product's policyDefaults where the policy is silent", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		product := "trial-" + ns
		p := ut.MakeProduct(product).Authorization(v1.AuthorizationUser).
			Policy(ut.MakePolicy("yearly").Type(v1.LicenseTypeSubscription).ValidDuration("1y").GracePeriod("7d").
				Enforcement(v1.EnforcementSoft).Obj()).
			Policy(func() v1.LicensePolicy {
				t := ut.MakePolicy("trial").Type(v1.LicenseTypeTimeLimited).ValidDuration("5min").Obj()
				t.Trial = ptr.To(true)
				return t
			}()).
			DefaultPolicy("yearly").Obj()
		p.Spec.PolicyDefaults = &v1.PolicySettings{MaxTransfers: ptr.To[int32](2)}
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, p)).To(Succeed()) })
		Expect(k8sClient.Create(ctx, ut.MakeLicense("eval", ns).Product(product).PolicyCode("trial").Seats(1).
			Users("ada@example.com").Start(time.Now().Add(-time.Hour)).Obj())).To(Succeed())

		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "eval")
			eff := l.Status.EffectivePolicy
			g.Expect(eff).NotTo(BeNil())
			g.Expect(eff.Code).To(Equal("trial"))
			By("nothing from the default policy: no grace period, Hard enforcement from the built-ins")
			g.Expect(eff.GracePeriod).To(BeNil())
			g.Expect(eff.Enforcement).To(Equal(ptr.To(v1.EnforcementHard)))
			g.Expect(eff.Sources).To(HaveKeyWithValue("enforcement", licensing.SourceDefault))
			g.Expect(eff.Sources).NotTo(HaveKey("gracePeriod"))
			By("the product's policyDefaults where the policy is silent")
			g.Expect(eff.MaxTransfers).To(Equal(ptr.To[int32](2)))
			g.Expect(eff.Sources).To(HaveKeyWithValue("maxTransfers", licensing.SourceProduct))
			By("a 5-minute trial started an hour ago is Expired, not in a week-long grace period")
			g.Expect(l.Status.State).To(Equal(v1.LicenseStateExpired))
			g.Expect(l.Status.GraceUntil).To(BeNil())
			By("status.trial says it is a trial")
			g.Expect(l.Status.Trial).To(BeTrue())
		}, timeout, interval).Should(Succeed())
	})

	It("binds as many one-seat assignments as a licence without a product has seats: the built-in maxActivations of 1 is for Key products", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Seats(15).Start(time.Now().Add(-time.Hour)).Obj())).To(Succeed())
		expectActivationsUnlimited(ns, "cad", 15)
	})
})
