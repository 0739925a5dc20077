package admission

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// The limits and effects of a licence's policy on the Pods it admits, as
// the mutating Pod path applies them: preventVM affinity, features, the
// uses of Consumption licences and of features with maxConsumption, and
// freeToUse products.

// licenceWith is an Active Concurrent Hard licence status of product whose
// effective policy is changed by edit.
func licenceWith(product string, total int32, edit func(*licensingv1alpha1.PolicySettings)) licensingv1alpha1.SoftwareLicenseStatus {
	st := kubecluster.LicenseStatus(active, conc, hard, ptr.To(total), product)
	edit(&st.EffectivePolicy.PolicySettings)
	return st
}

// usesLedger is the live use ledger of a licence (nil when there is none).
func usesLedger(ns, licence string) *licensingv1alpha1.LicenseUses {
	l := &licensingv1alpha1.SeatLedger{}
	if err := operatorClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: licensing.UsesLedgerName(licence)}, l); err != nil {
		return nil
	}
	return l.Spec.Uses
}

// counterValue is the value of the counter family name with the labels namespace and license.
func counterValue(name, ns, licence string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "namespace") == ns && labelValue(m, "license") == licence {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

var _ = Describe("preventVM", func() {
	It("gives every Pod admitted under the licence a required node affinity off virtual-machine nodes, in every existing term", func() {
		ns := newNamespace()
		product := ns + "-novm"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("novm", ns).Product(product).Obj(),
			licenceWith(product, 5, func(p *licensingv1alpha1.PolicySettings) { p.PreventVM = ptr.To(true) }))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("novm").ServiceAccount("default").Seats(5).Obj(), kubecluster.BoundStatus(ns+"/novm", 5))
		notVM := corev1.NodeSelectorRequirement{Key: licensingv1alpha1.VirtualMachineLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}

		By("a Pod without affinity gets one term holding the requirement")
		bare := kubecluster.MakePod("bare", ns).Product(product).Obj()
		eventuallyAdmitted(func() client.Object { return bare.DeepCopy() })
		stored := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(bare), stored)).To(Succeed())
		Expect(stored.Spec.Affinity).NotTo(BeNil())
		Expect(stored.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).To(Equal(
			[]corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{notVM}}}))

		By("a Pod with two ORed terms gets the requirement in both, and no third term; its preferred affinity is untouched")
		zone := corev1.NodeSelectorRequirement{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}
		name := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}
		preferred := []corev1.PreferredSchedulingTerm{{Weight: 5, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}}}
		terms := kubecluster.MakePod("terms", ns).Product(product).Obj()
		terms.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}, {MatchFields: []corev1.NodeSelectorRequirement{name}}}},
			PreferredDuringSchedulingIgnoredDuringExecution: preferred,
		}}
		Expect(admitErr(terms)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(terms), stored)).To(Succeed())
		Expect(stored.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).To(Equal([]corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{zone, notVM}},
			{MatchExpressions: []corev1.NodeSelectorRequirement{notVM}, MatchFields: []corev1.NodeSelectorRequirement{name}},
		}))
		Expect(stored.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(Equal(preferred))

		By("a Pod of a licence without preventVM is stored as it was sent")
		other := ns + "-vmok"
		createProduct(utiltesting.MakeProduct(other).Obj())
		createLicence(utiltesting.MakeLicense("vmok", ns).Product(other).Obj(), kubecluster.LicenseStatus(active, conc, hard, ptr.To[int32](5), other))
		createAssignment(utiltesting.MakeAssignment("sa-ok", ns).License("vmok").ServiceAccount("default").Seats(5).Obj(), kubecluster.BoundStatus(ns+"/vmok", 5))
		plain := kubecluster.MakePod("plain", ns).Product(other).Obj()
		eventuallyAdmitted(func() client.Object { return plain.DeepCopy() })
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(plain), stored)).To(Succeed())
		Expect(stored.Spec.Affinity).To(BeNil())
	})
})

var _ = Describe("Features", func() {
	It("admits a Pod only when the licence grants every feature it asks for, Pods and templates alike", func() {
		ns := newNamespace()
		product := ns + "-feat"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("feat", ns).Product(product).Obj(),
			licenceWith(product, 5, func(p *licensingv1alpha1.PolicySettings) {
				p.Features = []licensingv1alpha1.PolicyFeature{{Code: "render"}, {Code: "export"}}
			}))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("feat").ServiceAccount("default").Seats(5).Obj(), kubecluster.BoundStatus(ns+"/feat", 5))
		pod := func(features string) func() client.Object {
			return func() client.Object {
				return kubecluster.MakePod("", ns).GenerateName("f-").Product(product).Annotation(licensingv1alpha1.FeaturesAnnotation, features).Obj()
			}
		}
		eventuallyAdmitted(pod("render, export"))
		msg := eventuallyDenied(pod("render,simulate"), "feature simulate", ns+"/feat", "status.effectivePolicy.features")
		Expect(msg).NotTo(ContainSubstring("feature render"))

		By("a running Pod that starts asking for a feature the licence lacks is refused the update")
		running := kubecluster.MakePod("running", ns).Product(product).Annotation(licensingv1alpha1.FeaturesAnnotation, "render").Obj()
		Expect(admitErr(running)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(running), running)).To(Succeed())
		running.Annotations[licensingv1alpha1.FeaturesAnnotation] = "render,simulate"
		Expect(k8sClient.Update(ctx, running)).To(MatchError(ContainSubstring("feature simulate")))

		By("a Deployment whose template asks for a feature the licence lacks is refused too")
		dep := kubecluster.MakeDeployment("sim", 1, kubecluster.MakePod("", ns).Product(product).Annotation(licensingv1alpha1.FeaturesAnnotation, "simulate"))
		err := k8sClient.Create(ctx, dep)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("feature simulate"))
	})

	It("counts the uses of a feature with maxConsumption and refuses at its limit, naming the feature, the licence and the next reset", func() {
		ns := newNamespace()
		product := ns + "-featmax"
		createProduct(utiltesting.MakeProduct(product).Obj())
		createLicence(utiltesting.MakeLicense("featmax", ns).Product(product).Start(time.Now().Add(-time.Hour)).Obj(),
			licenceWith(product, 10, func(p *licensingv1alpha1.PolicySettings) {
				p.Features = []licensingv1alpha1.PolicyFeature{{Code: "render"}, {Code: "export", MaxConsumption: ptr.To[int64](2)}}
				p.Consumption = &licensingv1alpha1.ConsumptionPolicy{ResetPeriod: ptr.To(licensingv1alpha1.CalendarDuration("30d"))}
				p.WhenNoSeat = ptr.To(licensingv1alpha1.WhenNoSeatRefuse)
			}))
		createAssignment(utiltesting.MakeAssignment("sa", ns).License("featmax").ServiceAccount("default").Seats(10).Obj(), kubecluster.BoundStatus(ns+"/featmax", 10))
		pod := func(name, features string) client.Object {
			return kubecluster.MakePod(name, ns).Product(product).Annotation(licensingv1alpha1.FeaturesAnnotation, features).Obj()
		}
		Eventually(func() error { return admitErr(pod("e1", "export"), client.DryRunAll) }).WithTimeout(timeout).Should(Succeed())
		Expect(admitErr(pod("e1", "export"))).To(Succeed())
		Expect(admitErr(pod("r1", "render"))).To(Succeed(), "render has no limit")
		Expect(admitErr(pod("e2", "render,export"))).To(Succeed())
		err := admitErr(pod("e3", "export"))
		Expect(err).To(HaveOccurred())
		for _, part := range []string{"feature export", ns + "/featmax", "used 2 times", "maxConsumption 2", "usage resets at"} {
			Expect(err.Error()).To(ContainSubstring(part))
		}
		Expect(admitErr(pod("r2", "render"))).To(Succeed(), "another feature is not limited by export's count")
		Expect(licensing.FeatureUsesOf(*usesLedger(ns, "featmax"), "export")).To(Equal(int64(2)))
	})
})

var _ = Describe("Consumption licences", func() {
	// consumptionLicence creates a Consumption licence of a new product with
	// maxConsumptions max, started at start, resetting every reset, and a
	// Bound assignment for the default ServiceAccount.
	consumptionLicence := func(ns, name string, max int64, start time.Time, reset string, edit ...func(*licensingv1alpha1.SoftwareLicenseStatus)) string {
		product := ns + "-" + name
		createProduct(utiltesting.MakeProduct(product).Obj())
		st := licenceWith(product, 100, func(p *licensingv1alpha1.PolicySettings) {
			p.Type = ptr.To(licensingv1alpha1.LicenseTypeConsumption)
			p.Consumption = &licensingv1alpha1.ConsumptionPolicy{MaxConsumptions: ptr.To(max), ResetPeriod: ptr.To(licensingv1alpha1.CalendarDuration(reset))}
			// Refused at the limit, unless a test lets its Pods wait for the next period.
			p.WhenNoSeat = ptr.To(licensingv1alpha1.WhenNoSeatRefuse)
		})
		for _, e := range edit {
			e(&st)
		}
		createLicence(utiltesting.MakeLicense(name, ns).Product(product).Start(start).Obj(), st)
		createAssignment(utiltesting.MakeAssignment(name, ns).License(name).ServiceAccount("default").Seats(100).Obj(), kubecluster.BoundStatus(ns+"/"+name, 100))
		Eventually(func() error {
			return admitErr(kubecluster.MakePod("probe", ns).Product(product).Obj(), client.DryRunAll)
		}).WithTimeout(timeout).Should(Succeed())
		return product
	}

	It("counts one use per admitted Pod and refuses at maxConsumptions, naming the licence, the limit, the usage and the next reset; a dry run takes nothing", func() {
		ns := newNamespace()
		start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		product := consumptionLicence(ns, "metered", 3, start, "30d")
		for i := range 3 {
			Expect(admitErr(kubecluster.MakePod(fmt.Sprintf("m-%d", i), ns).Product(product).Obj())).To(Succeed())
		}
		Expect(admitErr(kubecluster.MakePod("dry", ns).Product(product).Obj(), client.DryRunAll)).To(HaveOccurred())
		err := admitErr(kubecluster.MakePod("m-3", ns).Product(product).Obj())
		Expect(err).To(HaveOccurred())
		next := start.AddDate(0, 0, 30).Format(time.RFC3339)
		for _, part := range []string{"licence " + ns + "/metered", "maxConsumptions 3", "used 3", "usage resets at " + next} {
			Expect(err.Error()).To(ContainSubstring(part))
		}
		u := usesLedger(ns, "metered")
		Expect(licensing.AdmittedUses(*u)).To(Equal(int64(3)))
		Expect(u.PeriodStart.Time.UTC()).To(Equal(start))

		By("a Warning event ConsumptionExhausted on the licence and the metric mark the exhaustion, once")
		Expect(counterValue("license_operator_consumption_exhausted_total", ns, "metered")).To(Equal(1.0))
		Expect(counterValue("license_operator_consumption_refused_pods_total", ns, "metered")).To(BeNumerically(">=", 1))
		Eventually(func(g Gomega) {
			evs := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, evs, client.InNamespace(ns))).To(Succeed())
			n := 0
			for _, e := range evs.Items {
				if e.Reason == seats.ConsumptionExhaustedReason && e.Regarding.Name == "metered" && e.Type == corev1.EventTypeWarning {
					n++
					g.Expect(e.Note).To(ContainSubstring("maxConsumptions 3"))
				}
			}
			g.Expect(n).To(Equal(1))
		}).WithTimeout(timeout).Should(Succeed())

		By("the uses of the stored Pods are confirmed by the recount and stay counted")
		Eventually(func(g Gomega) {
			u := usesLedger(ns, "metered")
			g.Expect(u.Pending).To(BeEmpty())
			g.Expect(u.Confirmed).To(Equal(int64(3)))
		}).WithTimeout(timeout).Should(Succeed())
		Expect(admitErr(kubecluster.MakePod("m-4", ns).Product(product).Obj())).To(HaveOccurred())
	})

	It("admits exactly maxConsumptions of many concurrent Pods across two webhook replicas", func() {
		ns := newNamespace()
		product := consumptionLicence(ns, "burst", 7, time.Now().Add(-time.Hour), "30d")
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted, refused := 0, 0
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer GinkgoRecover()
				err := k8sClient.Create(ctx, kubecluster.MakePod(fmt.Sprintf("b-%d", i), ns).Product(product).Obj())
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					admitted++
				} else if strings.Contains(err.Error(), "maxConsumptions 7") {
					refused++
				} else {
					Fail("unexpected: " + err.Error())
				}
			}()
		}
		wg.Wait()
		Expect(admitted).To(Equal(7))
		Expect(refused).To(Equal(33))
		Expect(licensing.AdmittedUses(*usesLedger(ns, "burst"))).To(Equal(int64(7)))
	})

	It("counts the usage the assignments reported for the period, as the licence's status keeps it", func() {
		ns := newNamespace()
		start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		product := consumptionLicence(ns, "reported", 3, start, "30d", func(st *licensingv1alpha1.SoftwareLicenseStatus) {
			st.Consumption = &licensingv1alpha1.ConsumptionStatus{PeriodStart: &metav1.Time{Time: start}, Reported: 2, Used: 2}
		})
		Expect(admitErr(kubecluster.MakePod("one", ns).Product(product).Obj())).To(Succeed())
		err := admitErr(kubecluster.MakePod("two", ns).Product(product).Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("1 by admitted Pods, 2 reported by assignments"))
	})

	It("starts counting again when the reset period ends, and gives the new period's uses to the Pods that waited in line for it first", func() {
		ns := newNamespace()
		// A 1-minute period that started 40 seconds ago ends in about 20.
		start := time.Now().Add(-40 * time.Second).UTC().Truncate(time.Second)
		product := consumptionLicence(ns, "minute", 1, start, "1min", func(st *licensingv1alpha1.SoftwareLicenseStatus) {
			st.EffectivePolicy.WhenNoSeat = ptr.To(licensingv1alpha1.WhenNoSeatQueue)
		})
		Expect(admitErr(kubecluster.MakePod("first", ns).Product(product).Obj())).To(Succeed())
		err := admitErr(kubecluster.MakePod("refused", ns).Product(product).Refuse().Obj())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("usage resets at " + start.Add(time.Minute).Format(time.RFC3339)))

		By("a Pod that does not ask for a refusal waits in the line of the licence's uses, gated")
		warnings, err := createWithWarnings(k8sClient, kubecluster.MakePod("waiting", ns).Product(product).Obj())
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(warnings, "\n")).To(ContainSubstring("waits in line for a use of licence %s/minute", ns))
		waiting := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "waiting"}, waiting)).To(Succeed())
		Expect(waiting.Spec.SchedulingGates).To(ConsistOf(corev1.PodSchedulingGate{Name: licensingv1alpha1.UseGate}))
		led := &licensingv1alpha1.SeatLedger{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: seats.UsesLedgerName("minute")}, led)).To(Succeed())
		Expect(led.Spec.Waiting).To(ConsistOf(HaveField("Pod", "waiting")))

		By("the period resets: the waiting Pod takes the new period's use and its gate goes")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(waiting), waiting)).To(Succeed())
			g.Expect(waiting.Spec.SchedulingGates).To(BeEmpty())
		}).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		u := usesLedger(ns, "minute")
		Expect(u.PeriodStart.Time.UTC()).To(Equal(start.Add(time.Minute)))
		Expect(licensing.AdmittedUses(*u)).To(Equal(int64(1)), "the waiting Pod's use")
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: seats.UsesLedgerName("minute")}, led)).To(Succeed())
		Expect(led.Spec.Waiting).To(BeEmpty())

		By("the line went first: the new period's one use is taken, and a newcomer is refused")
		Expect(admitErr(kubecluster.MakePod("next", ns).Product(product).Refuse().Obj())).To(MatchError(ContainSubstring("maxConsumptions 1")))
	})

	It("gives back the use of a Pod that a later admission step refused, once the recount sees it was never stored", func() {
		ns := newNamespace()
		product := consumptionLicence(ns, "refusedlater", 5, time.Now().Add(-time.Hour), "30d")
		// A ValidatingAdmissionPolicy runs after the mutating webhooks: it refuses the Pod after its use was taken.
		vap := &admissionregistrationv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-refuse"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				FailurePolicy: ptr.To(admissionregistrationv1.Fail),
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
					}}}},
				Validations: []admissionregistrationv1.Validation{{Expression: "!has(object.metadata.labels) || !('refuse-me' in object.metadata.labels)", Message: "refused after the webhook"}},
			},
		}
		Expect(k8sClient.Create(ctx, vap)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, vap) })
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ns + "-refuse"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
				PolicyName: vap.Name, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}},
			},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, binding) })
		By("waiting until the policy is in effect, with Pods that need no licence")
		Eventually(func() error {
			return admitErr(kubecluster.MakePod("", ns).GenerateName("probe-").Label("refuse-me", "yes").Obj())
		}).WithTimeout(timeout).Should(MatchError(ContainSubstring("refused after the webhook")))

		err := admitErr(kubecluster.MakePod("refused", ns).Product(product).Label("refuse-me", "yes").Obj())
		Expect(err).To(MatchError(ContainSubstring("refused after the webhook")))
		u := usesLedger(ns, "refusedlater")
		Expect(u).NotTo(BeNil())
		Expect(u.Pending).To(HaveLen(1), "the mutating path took the use before the policy refused the Pod")

		Expect(admitErr(kubecluster.MakePod("kept", ns).Product(product).Obj())).To(Succeed())
		By("after the grace the refused Pod's use is dropped; the stored Pod's use is confirmed")
		Eventually(func(g Gomega) {
			u := usesLedger(ns, "refusedlater")
			g.Expect(u.Pending).To(BeEmpty())
			g.Expect(u.Confirmed).To(Equal(int64(1)))
		}).WithTimeout(seats.LedgerGrace + timeout).WithPolling(time.Second).Should(Succeed())
	})

	It("is out of tenants' reach: a user whose namespace Role grants every verb cannot reset a licence's uses", func() {
		ns := newNamespace()
		product := consumptionLicence(ns, "guarded", 1, time.Now().Add(-time.Hour), "30d")
		Expect(admitErr(kubecluster.MakePod("used", ns).Product(product).Obj())).To(Succeed())
		ec := grantEverything(ns, "eve@example.com")
		l := &licensingv1alpha1.SeatLedger{}
		Eventually(func() error {
			return ec.Get(ctx, types.NamespacedName{Namespace: ns, Name: licensing.UsesLedgerName("guarded")}, l)
		}).Should(Succeed())
		reset := l.DeepCopy()
		reset.Spec.Uses = &licensingv1alpha1.LicenseUses{PeriodStart: l.Spec.Uses.PeriodStart}
		err := ec.Update(ctx, reset)
		Expect(err).To(MatchError(ContainSubstring("ValidatingAdmissionPolicy 'seatledger-writers'")))
		Expect(ec.Delete(ctx, l)).To(MatchError(ContainSubstring("only the operator may")))
		Expect(admitErr(kubecluster.MakePod("again", ns).Product(product).Obj())).To(MatchError(ContainSubstring("maxConsumptions 1")))
	})

	It("takes one use per Pod UID, however often it is decided", func() {
		ns := newNamespace()
		product := consumptionLicence(ns, "once", 5, time.Now().Add(-time.Hour), "30d")
		lic := &licensingv1alpha1.SoftwareLicense{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "once"}, lic)).To(Succeed())
		uses := &seats.UseLedger{Reader: operatorClient, Writer: operatorClient, Clock: clock.RealClock{}}
		pod := seats.PodRef{Namespace: ns, Name: "p", UID: types.UID(licensing.AdmissionUID("request-1"))}
		for range 3 {
			d, _, err := uses.Take(ctx, lic, pod, nil, false)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.Allowed).To(BeTrue())
		}
		Expect(licensing.AdmittedUses(*usesLedger(ns, "once"))).To(Equal(int64(1)))
		_ = product
	})
})

var _ = Describe("freeToUse products", func() {
	It("admits their Pods without a licence or an assignment", func() {
		ns := newNamespace()
		product := ns + "-free"
		p := utiltesting.MakeProduct(product).Obj()
		p.Spec.Pricing = &licensingv1alpha1.Pricing{FreeToUse: true}
		createProduct(p)
		Eventually(func() error { return admitErr(kubecluster.MakePod("free", ns).Product(product).Obj()) }).WithTimeout(timeout).Should(Succeed())
	})
})
