package licensing

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Policy sources recorded in status.effectivePolicy.sources.
const (
	// SourceOverride: the value comes from the licence's spec.overrides.
	SourceOverride licensingv1alpha1.PolicySource = "Override"
	// SourceDefault: the value is the built-in default.
	SourceDefault licensingv1alpha1.PolicySource = "Default"
	// SourceProduct: the value is the product's spec.policyDefaults.
	SourceProduct licensingv1alpha1.PolicySource = "Product"
	// sourcePolicyPrefix prefixes the code of the product policy a value comes from.
	sourcePolicyPrefix = "Policy/"
)

// SourcePolicy is the source of a value that comes from the product policy with the given code.
func SourcePolicy(code string) licensingv1alpha1.PolicySource {
	return licensingv1alpha1.PolicySource(sourcePolicyPrefix + code)
}

// Built-in policy defaults, used when neither the licence's overrides nor a
// policy of its product sets the field.
const (
	DefaultType               = licensingv1alpha1.LicenseTypePerpetual
	DefaultSeatModel          = licensingv1alpha1.SeatModelConcurrent
	DefaultEnforcement        = licensingv1alpha1.EnforcementHard
	DefaultWhenNoSeat         = licensingv1alpha1.WhenNoSeatQueue
	DefaultMaxActivations     = int32(1)
	DefaultMaxTransfers       = int32(0)
	DefaultExpiringSoonWindow = licensingv1alpha1.CalendarDuration("90d")
)

// BuiltinPolicyFor returns the built-in defaults for a licence of product
// (nil for a licence without one): BuiltinPolicy, whose maxActivations of 1
// (seed 002) applies to products that authorize by Key; for any other the
// seats are the only limit, and maxActivations is unset.
func BuiltinPolicyFor(product *licensingv1alpha1.LicenseProduct) licensingv1alpha1.PolicySettings {
	s := BuiltinPolicy()
	if product == nil || product.Spec.Authorization != licensingv1alpha1.AuthorizationKey {
		s.MaxActivations = nil
	}
	return s
}

// BuiltinPolicy returns the built-in defaults as policy settings (the table
// of docs/policy-defaults.md). Fields with no built-in default (durations
// other than expiringSoonWindow, the utilisation threshold, features and
// consumption) are unset. maxActivations applies only to Key products
// (BuiltinPolicyFor).
func BuiltinPolicy() licensingv1alpha1.PolicySettings {
	return licensingv1alpha1.PolicySettings{
		Type:               ptr.To(DefaultType),
		SeatModel:          ptr.To(DefaultSeatModel),
		Enforcement:        ptr.To(DefaultEnforcement),
		WhenNoSeat:         ptr.To(DefaultWhenNoSeat),
		MaxActivations:     ptr.To(DefaultMaxActivations),
		ExpiringSoonWindow: ptr.To(DefaultExpiringSoonWindow),
		Trial:              ptr.To(false),
		PreventVM:          ptr.To(false),
		MaxTransfers:       ptr.To(DefaultMaxTransfers),
	}
}

// PolicyResolution is the outcome of resolving a licence's policy.
type PolicyResolution struct {
	// Policy is the effective policy. When Resolved is false it holds only the
	// licence's overrides and the built-in defaults, never a guess at which
	// product policy was meant, and its Code is empty.
	Policy licensingv1alpha1.EffectivePolicy
	// Resolved is true when every policy the licence relies on exists.
	Resolved bool
	// Reason is a condition reason from api/v1alpha1 (ReasonResolved,
	// ReasonPolicyNotFound or ReasonBundlePolicyRequired).
	Reason string
	// Message says, for a person, what was resolved or what is missing and how to fix it.
	Message string
}

// layer is one source of policy settings, in order of precedence.
type layer struct {
	settings *licensingv1alpha1.PolicySettings
	source   licensingv1alpha1.PolicySource
}

// ResolvePolicy resolves the effective policy of a licence, field by field,
// through four layers, first set wins: the licence's spec.overrides, the one
// policy it takes (spec.policyCode, else the product's defaultPolicy), the
// product's policyDefaults, the built-in defaults (BuiltinPolicyFor). The
// policy is a choice, not a layer: a licence that names a policy takes
// nothing from the product's defaultPolicy (seed 002: every licence property
// is taken from its policy). Each field set in the result has its source in
// Sources, keyed by the field's JSON name. features and consumption are
// resolved as whole values: a layer that sets them replaces them.
//
// product is the licence's LicenseProduct, or nil for a licence without one
// (the caller reports a productRef naming no product). A licence whose
// policyCode names no policy of its product, or that relies on a defaultPolicy
// that does not exist, is not resolved (ReasonPolicyNotFound); nor is a
// licence of a bundle product without a policyCode (ReasonBundlePolicyRequired).
func ResolvePolicy(lic *licensingv1alpha1.SoftwareLicense, product *licensingv1alpha1.LicenseProduct) PolicyResolution {
	builtin := BuiltinPolicyFor(product)
	override := layer{settings: lic.Spec.Overrides, source: SourceOverride}
	defaults := layer{settings: &builtin, source: SourceDefault}
	unresolved := func(reason, message string) PolicyResolution {
		return PolicyResolution{Policy: merge("", override, defaults), Reason: reason, Message: message}
	}

	code := lic.Spec.PolicyCode
	if product == nil {
		if code != "" {
			return unresolved(licensingv1alpha1.ReasonPolicyNotFound,
				fmt.Sprintf("spec.policyCode %q needs a product: set spec.productRef or remove spec.policyCode", code))
		}
		return PolicyResolution{
			Policy:   merge("", override, defaults),
			Resolved: true,
			Reason:   licensingv1alpha1.ReasonResolved,
			Message:  "No product: the policy is the overrides and the built-in defaults",
		}
	}

	if product.Spec.Bundle != nil && code == "" {
		return unresolved(licensingv1alpha1.ReasonBundlePolicyRequired,
			fmt.Sprintf("Product %q is a bundle: a licence of a bundle must name its policy in spec.policyCode (one of %s)",
				product.Name, PolicyCodes(product)))
	}

	layers := []layer{override}
	if code != "" {
		p := findPolicy(product, code)
		if p == nil {
			return unresolved(licensingv1alpha1.ReasonPolicyNotFound,
				fmt.Sprintf("spec.policyCode %q is not a policy of product %q (it has %s)", code, product.Name, PolicyCodes(product)))
		}
		layers = append(layers, layer{settings: p, source: SourcePolicy(code)})
	}
	if def := product.Spec.DefaultPolicy; def != "" && code == "" {
		p := findPolicy(product, def)
		if p == nil {
			return unresolved(licensingv1alpha1.ReasonPolicyNotFound,
				fmt.Sprintf("The defaultPolicy %q of product %q is not one of its policies (it has %s)", def, product.Name, PolicyCodes(product)))
		}
		layers = append(layers, layer{settings: p, source: SourcePolicy(def)})
		code = def
	}
	// A missing defaultPolicy does not hurt a licence that names an existing
	// policy: the product reports it in its own Ready condition.
	layers = append(layers, layer{settings: product.Spec.PolicyDefaults, source: SourceProduct}, defaults)

	message := "Resolved from the built-in defaults"
	if code != "" {
		message = fmt.Sprintf("Resolved policy %q of product %q", code, product.Name)
	}
	return PolicyResolution{
		Policy:   merge(code, layers...),
		Resolved: true,
		Reason:   licensingv1alpha1.ReasonResolved,
		Message:  message,
	}
}

func findPolicy(product *licensingv1alpha1.LicenseProduct, code string) *licensingv1alpha1.PolicySettings {
	for i := range product.Spec.Policies {
		if product.Spec.Policies[i].Code == code {
			return &product.Spec.Policies[i].PolicySettings
		}
	}
	return nil
}

// PolicyCodes lists the policy codes of a product for messages.
func PolicyCodes(product *licensingv1alpha1.LicenseProduct) string {
	if len(product.Spec.Policies) == 0 {
		return "no policies"
	}
	codes := make([]string, 0, len(product.Spec.Policies))
	for _, p := range product.Spec.Policies {
		codes = append(codes, fmt.Sprintf("%q", p.Code))
	}
	slices.Sort(codes)
	return strings.Join(codes, ", ")
}

// merge takes every field from the first layer that sets it and records the
// layer's source under the field's JSON name. The result shares nothing with
// the layers.
func merge(code string, layers ...layer) licensingv1alpha1.EffectivePolicy {
	out := licensingv1alpha1.EffectivePolicy{Code: code, Sources: map[string]licensingv1alpha1.PolicySource{}}
	s, src := &out.PolicySettings, out.Sources
	// From the lowest precedence to the highest, each layer overwrites what it sets.
	for i := len(layers) - 1; i >= 0; i-- {
		p, from := layers[i].settings, layers[i].source
		if p == nil {
			continue
		}
		take(src, from, "type", &s.Type, p.Type)
		take(src, from, "seatModel", &s.SeatModel, p.SeatModel)
		take(src, from, "enforcement", &s.Enforcement, p.Enforcement)
		take(src, from, "whenNoSeat", &s.WhenNoSeat, p.WhenNoSeat)
		take(src, from, "maxActivations", &s.MaxActivations, p.MaxActivations)
		take(src, from, "validDuration", &s.ValidDuration, p.ValidDuration)
		take(src, from, "maintenanceDuration", &s.MaintenanceDuration, p.MaintenanceDuration)
		take(src, from, "gracePeriod", &s.GracePeriod, p.GracePeriod)
		take(src, from, "expiringSoonWindow", &s.ExpiringSoonWindow, p.ExpiringSoonWindow)
		take(src, from, "trial", &s.Trial, p.Trial)
		take(src, from, "preventVM", &s.PreventVM, p.PreventVM)
		take(src, from, "maxTransfers", &s.MaxTransfers, p.MaxTransfers)
		take(src, from, "underUtilizedThresholdPercent", &s.UnderUtilizedThresholdPercent, p.UnderUtilizedThresholdPercent)
		take(src, from, "consumption", &s.Consumption, p.Consumption)
		if len(p.Features) > 0 {
			s.Features = p.Features
			src["features"] = from
		}
	}
	return *out.DeepCopy()
}

// take sets *dst to v and records the source of field when v is set.
func take[T any](sources map[string]licensingv1alpha1.PolicySource, from licensingv1alpha1.PolicySource, field string, dst **T, v *T) {
	if v != nil {
		*dst = v
		sources[field] = from
	}
}
