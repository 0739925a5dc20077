package licensing

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// RequestedFeatures are the features a Pod or pod template asks for with
// FeaturesAnnotation ("a,b"): trimmed, without empty items or repeats, sorted.
func RequestedFeatures(annotations map[string]string) []string {
	v, ok := annotations[FeaturesAnnotation]
	if !ok {
		return nil
	}
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// policyFeature is the feature of the licence's effective policy with code, or nil.
func policyFeature(l *licensingv1alpha1.SoftwareLicense, code string) *licensingv1alpha1.PolicyFeature {
	p := l.Status.EffectivePolicy
	if p == nil {
		return nil
	}
	for i := range p.Features {
		if p.Features[i].Code == code {
			return &p.Features[i]
		}
	}
	return nil
}

// MissingFeatures are the requested features that the licence's effective
// policy (status.effectivePolicy.features) does not list, in order.
func MissingFeatures(l *licensingv1alpha1.SoftwareLicense, requested []string) []string {
	var out []string
	for _, f := range requested {
		if policyFeature(l, f) == nil {
			out = append(out, f)
		}
	}
	return out
}

// featuresMismatch is why licence l does not cover a workload asking for
// features, or "": a licence admits a workload only when its effective
// policy lists every feature the workload asks for.
func featuresMismatch(l *licensingv1alpha1.SoftwareLicense, requested []string) string {
	missing := MissingFeatures(l, requested)
	if len(missing) == 0 {
		return ""
	}
	var granted []string
	if p := l.Status.EffectivePolicy; p != nil {
		for _, f := range p.Features {
			granted = append(granted, f.Code)
		}
	}
	what := "grants no feature"
	if len(granted) > 0 {
		what = "grants only " + strings.Join(granted, ", ")
	}
	noun := "feature"
	if len(missing) > 1 {
		noun = "features"
	}
	return fmt.Sprintf("%s %s asked for by annotation %s: the licence's policy (status.effectivePolicy.features) %s",
		noun, strings.Join(missing, ", "), FeaturesAnnotation, what)
}

// CountedFeatures are the requested features that the licence's policy
// limits with maxConsumption: each admitted Pod asking for one counts a use of it.
func CountedFeatures(l *licensingv1alpha1.SoftwareLicense, requested []string) []string {
	var out []string
	for _, f := range requested {
		if pf := policyFeature(l, f); pf != nil && pf.MaxConsumption != nil {
			out = append(out, f)
		}
	}
	return out
}

// FreeToUse says whether the product needs no seat (spec.pricing.freeToUse):
// its Pods are admitted without a licence or an assignment, their uses are
// counted in the product's status.uses, and its cost is 0.
func FreeToUse(p *licensingv1alpha1.LicenseProduct) bool {
	return p != nil && p.Spec.Pricing != nil && p.Spec.Pricing.FreeToUse
}

// ProductUses is status.uses of a freeToUse product: the Pods among pods
// that need it (RequiredProducts, with the catalogue products) and have not
// finished. nil for a product that is not freeToUse.
func ProductUses(product *licensingv1alpha1.LicenseProduct, products []licensingv1alpha1.LicenseProduct, pods []corev1.Pod) *int32 {
	if !FreeToUse(product) {
		return nil
	}
	var n int32
	for i := range pods {
		p := &pods[i]
		if PodTerminal(p) {
			continue
		}
		w := WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
		if slices.ContainsFunc(RequiredProducts(&w, products), func(n ProductNeed) bool { return n.Product == product.Name }) {
			n++
		}
	}
	return &n
}
