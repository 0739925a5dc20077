package security

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// The seed's short form of policy features (a plain list of codes) runs
// here, where the whole manager does: the mutating webhooks store it as
// objects before the API server's schema sees it, and the licence
// controller resolves it into status.effectivePolicy.

var _ = Describe("Policy features in the seed's short form", func() {
	It("stores a list of codes as {code: …} objects beside the long form, everywhere a policy lists features, and resolves them", func() {
		ns := newNamespace()
		product := "feat-" + rand.String(5)
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("LicenseProduct", product, "", map[string]any{
			"authorization": "Key",
			"defaultPolicy": "std",
			"policies": []any{
				map[string]any{"code": "std", "features": []any{"export", map[string]any{"code": "render", "maxConsumption": int64(5)}}},
				map[string]any{"code": "lite"},
			},
			"policyDefaults": map[string]any{"features": []any{"print"}},
		}))).To(Succeed())

		By("the product as stored: every item an object")
		stored := &unstructured.Unstructured{}
		stored.SetGroupVersionKind(v1.GroupVersion.WithKind("LicenseProduct"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: product}, stored)).To(Succeed())
		policies, _, _ := unstructured.NestedSlice(stored.Object, "spec", "policies")
		Expect(policies[0].(map[string]any)["features"]).To(Equal([]any{
			map[string]any{"code": "export"},
			map[string]any{"code": "render", "maxConsumption": int64(5)},
		}))
		defaults, _, _ := unstructured.NestedSlice(stored.Object, "spec", "policyDefaults", "features")
		Expect(defaults).To(Equal([]any{map[string]any{"code": "print"}}))

		By("licences resolve them: from the policy, from the product's policyDefaults, and from overrides in the short form")
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", "std", ns, map[string]any{
			"productRef": map[string]any{"name": product},
		}))).To(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", "lite", ns, map[string]any{
			"productRef": map[string]any{"name": product}, "policyCode": "lite",
		}))).To(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", "custom", ns, map[string]any{
			"productRef": map[string]any{"name": product},
			"overrides":  map[string]any{"features": []any{"export", "plot"}},
		}))).To(Succeed())
		want := map[string][]v1.PolicyFeature{
			"std":    {{Code: "export"}, {Code: "render", MaxConsumption: ptr.To[int64](5)}},
			"lite":   {{Code: "print"}},
			"custom": {{Code: "export"}, {Code: "plot"}},
		}
		Eventually(func(g Gomega) {
			for name, features := range want {
				eff := getLicence(g, ns, name).Status.EffectivePolicy
				g.Expect(eff).NotTo(BeNil(), name)
				g.Expect(eff.Features).To(Equal(features), name)
			}
		}).Should(Succeed())
		licence := &unstructured.Unstructured{}
		licence.SetGroupVersionKind(v1.GroupVersion.WithKind("SoftwareLicense"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "custom"}, licence)).To(Succeed())
		overrides, _, _ := unstructured.NestedSlice(licence.Object, "spec", "overrides", "features")
		Expect(overrides).To(Equal([]any{map[string]any{"code": "export"}, map[string]any{"code": "plot"}}))
	})

	It("refuses an item that is neither a code nor a feature, naming it and saying what a feature looks like", func() {
		err := k8sClient.Create(ctx, kubecluster.RawObject("LicenseProduct", "feat-"+rand.String(5), "", map[string]any{
			"authorization": "Key",
			"policies":      []any{map[string]any{"code": "std", "features": []any{"export", int64(5)}}},
		}))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.policies[0].features[1]: Invalid value: 5"))
		Expect(err.Error()).To(ContainSubstring("a feature is its code, a string (features: [export, render]), or an object with a code"))

		err = k8sClient.Create(ctx, kubecluster.RawObject("SoftwareLicense", "bad", newNamespace(), map[string]any{
			"overrides": map[string]any{"features": []any{true}},
		}))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.overrides.features[0]: Invalid value: true"))

		By("an empty code is refused by the schema, naming the code")
		err = k8sClient.Create(ctx, kubecluster.RawObject("LicenseProduct", "feat-"+rand.String(5), "", map[string]any{
			"authorization": "Key",
			"policies":      []any{map[string]any{"code": "std", "features": []any{""}}},
		}))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.policies[0].features[0].code"))
	})
})
