package api

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/license-operator/license-operator/test/kubecluster"
)

// The short form of policy features (a plain list of codes) is turned into
// objects by the mutating webhooks (test/integration/security runs them);
// the schema stays typed, so that kubectl explain shows a feature's fields
// and says that the code alone will do.
var _ = Describe("Policy features in the schema", func() {
	It("types every feature as an object with code and maxConsumption, and documents the short form", func() {
		paths := map[string][][]string{
			"licenseproducts.licensing.license-operator.dev":  {{"spec", "policies", "[]", "features"}, {"spec", "policyDefaults", "features"}},
			"softwarelicenses.licensing.license-operator.dev": {{"spec", "overrides", "features"}, {"status", "effectivePolicy", "features"}},
		}
		seen := 0
		for _, crd := range crds {
			for _, path := range paths[crd.Name] {
				s := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
				for _, seg := range path {
					if seg == "[]" {
						s = s.Items.Schema
						continue
					}
					p := s.Properties[seg]
					s = &p
				}
				Expect(s.Type).To(Equal("array"), "%s %v", crd.Name, path)
				Expect(s.Description).To(ContainSubstring("short form"), "%s %v", crd.Name, path)
				item := s.Items.Schema
				Expect(item.Type).To(Equal("object"), "%s %v", crd.Name, path)
				Expect(item.Properties).To(HaveKey("code"))
				Expect(item.Properties).To(HaveKey("maxConsumption"))
				Expect(item.Required).To(ConsistOf("code"))
				Expect(item.XPreserveUnknownFields).To(BeNil())
				seen++
			}
		}
		Expect(seen).To(Equal(4))
	})

	It("without the webhooks, a code alone reaches the schema as a string where a feature object belongs, and is refused naming the item", func() {
		// What a cluster without the operator's webhooks says: the rewrite
		// is theirs, not the schema's.
		expectInvalid(k8sClient.Create(ctx, kubecluster.RawObject("LicenseProduct", unique("p"), "", map[string]any{
			"policies": []any{map[string]any{"code": "std", "features": []any{"export"}}},
		})), "spec.policies[0].features[0]")
	})
})
