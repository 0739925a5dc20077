package admission

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var _ = Describe("A licence of a user-based product", func() {
	It("is refused without users, naming spec.users, and accepted with one", func() {
		ns := newNamespace()
		product := ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Authorization(licensingv1alpha1.AuthorizationUser).Obj())

		err := k8sClient.Create(ctx, utiltesting.MakeLicense("nobody", ns).Product(product).Seats(5).Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(And(ContainSubstring("spec.users"), ContainSubstring("authorizes by User"), ContainSubstring("add at least one")))

		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("ada", ns).Product(product).Seats(5).Users("ada@example.com").Obj())).To(Succeed())
	})
})

var _ = Describe("An assignment's seats as people write them", func() {
	It("refuses an explicit seats: 0, naming the field, instead of rewriting it to 1, and defaults an absent one to 1", func() {
		ns := newNamespace()
		assignment := func(name string, seats any) *unstructured.Unstructured {
			spec := map[string]any{
				"licenseRef": map[string]any{"name": "l"},
				"assignee":   map[string]any{"serviceAccount": map[string]any{"name": "default"}},
			}
			if seats != nil {
				spec["seats"] = seats
			}
			return kubecluster.RawObject("LicenseAssignment", name, ns, spec)
		}
		err := k8sClient.Create(ctx, assignment("zero", int64(0)))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(And(ContainSubstring("spec.seats"), ContainSubstring("greater than or equal to 1")))

		Expect(k8sClient.Create(ctx, assignment("absent", nil))).To(Succeed())
		a := &licensingv1alpha1.LicenseAssignment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "absent"}, a)).To(Succeed())
		Expect(a.Spec.Seats).To(Equal(int32(1)))
	})
})

var _ = Describe("A licence with seats: 0", func() {
	It("is accepted with a warning that it grants nothing and how to write unlimited seats", func() {
		ns := newNamespace()
		warnings := eventuallyAdmitted(func() client.Object { return utiltesting.MakeLicense("none", ns).Seats(0).Obj() })
		Expect(warnings).To(ContainElement(And(ContainSubstring("spec.seats is 0"), ContainSubstring("leave spec.seats out for unlimited seats"))))
		Expect(eventuallyAdmitted(func() client.Object { return utiltesting.MakeLicense("five", ns).Seats(5).Obj() })).To(BeEmpty())
	})
})

var _ = Describe("A trial licence", func() {
	It("warns on each Pod it admits, and cannot renew itself", func() {
		ns := newNamespace()
		product := ns + "-eval"
		trial := utiltesting.MakePolicy("eval").SeatModel(licensingv1alpha1.SeatModelSite).Obj()
		trial.Trial = ptr.To(true)
		createProduct(utiltesting.MakeProduct(product).Policy(trial).DefaultPolicy("eval").Obj())

		By("spec.autoRenew on a trial is refused, naming the field")
		err := k8sClient.Create(ctx, utiltesting.MakeLicense("renewing", ns).Product(product).AutoRenew().Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(And(ContainSubstring("spec.autoRenew"), ContainSubstring("is a trial")))

		By("a Pod admitted by a trial licence gets a warning")
		status := kubecluster.LicenseStatus(active, licensingv1alpha1.SeatModelSite, hard, nil, product)
		status.Trial = true
		createLicence(utiltesting.MakeLicense("eval", ns).Product(product).Obj(), status)
		warnings := eventuallyAdmitted(func() client.Object {
			return kubecluster.MakePod("", ns).GenerateName("t-").Product(product).Obj()
		})
		Expect(warnings).To(ContainElement(ContainSubstring("licence " + ns + "/eval of product \"" + product + "\" is a trial licence")))
	})
})

var _ = Describe("Fields that once warned they were not in effect", func() {
	It("are admitted without that warning now that the operator enforces them", func() {
		ns := newNamespace()
		// machineFingerprints and offlineGracePeriod are in effect (NodeLocked
		// binding, test/integration/seats): no warning says otherwise.
		warnings := eventuallyAdmitted(func() client.Object {
			l := utiltesting.MakeLicense("locked", ns).Obj()
			l.Spec.Entitlement = &licensingv1alpha1.Entitlement{Issuer: "flexnet", EntitlementID: "FLX-1",
				MachineFingerprints: []licensingv1alpha1.MachineFingerprint{"4c4c4544-0042-3510-8052-b4c04f4e3332"},
				OfflineGracePeriod:  ptr.To(licensingv1alpha1.CalendarDuration("3d"))}
			return l
		})
		Expect(warnings).NotTo(ContainElement(ContainSubstring("not in effect")))
		By("freeToUse and features[].maxConsumption are in effect: no warning says otherwise")
		warnings = eventuallyAdmitted(func() client.Object {
			p := utiltesting.MakeProduct(ns + "-free").Obj()
			p.Spec.Pricing = &licensingv1alpha1.Pricing{FreeToUse: true}
			p.Spec.PolicyDefaults = &licensingv1alpha1.PolicySettings{Features: []licensingv1alpha1.PolicyFeature{{Code: "export", MaxConsumption: ptr.To[int64](3)}}}
			return p
		})
		DeferCleanup(func() {
			Expect(k8sClient.Delete(ctx, &licensingv1alpha1.LicenseProduct{ObjectMeta: metav1.ObjectMeta{Name: ns + "-free"}})).To(Succeed())
		})
		Expect(warnings).NotTo(ContainElement(ContainSubstring("not in effect")))
	})
})
