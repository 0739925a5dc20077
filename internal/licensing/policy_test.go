package licensing

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// fullSettings sets every policy field, each to a value that differs from the
// built-in default and from fullSettings(other tag), so a wrong source shows.
func fullSettings(tag int32) v1.PolicySettings {
	return v1.PolicySettings{
		Type:                          ptr.To(v1.LicenseTypeSubscription),
		SeatModel:                     ptr.To(v1.SeatModelNamedUser),
		Enforcement:                   ptr.To(v1.EnforcementSoft),
		WhenNoSeat:                    ptr.To(v1.WhenNoSeatRefuse),
		MaxActivations:                ptr.To(10 + tag),
		ValidDuration:                 ptr.To(v1.CalendarDuration("1y")),
		MaintenanceDuration:           ptr.To(v1.CalendarDuration("6m")),
		GracePeriod:                   ptr.To(v1.CalendarDuration("30d")),
		ExpiringSoonWindow:            ptr.To(v1.CalendarDuration("2w")),
		Trial:                         ptr.To(true),
		PreventVM:                     ptr.To(true),
		MaxTransfers:                  ptr.To(20 + tag),
		UnderUtilizedThresholdPercent: ptr.To(30 + tag),
		Features:                      []v1.PolicyFeature{{Code: "export", MaxConsumption: ptr.To(int64(tag))}},
		Consumption:                   &v1.ConsumptionPolicy{MaxConsumptions: ptr.To(int64(100 + tag))},
	}
}

// jsonFields lists the JSON names of every field of PolicySettings, found by
// reflection, so a field added to the API without a resolution rule fails.
func jsonFields(t *testing.T) []string {
	t.Helper()
	var names []string
	typ := reflect.TypeFor[v1.PolicySettings]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func sourcesAll(t *testing.T, src v1.PolicySource) map[string]v1.PolicySource {
	out := map[string]v1.PolicySource{}
	for _, f := range jsonFields(t) {
		out[f] = src
	}
	return out
}

func builtinSources() map[string]v1.PolicySource {
	return map[string]v1.PolicySource{
		"type": SourceDefault, "seatModel": SourceDefault, "enforcement": SourceDefault,
		"maxActivations": SourceDefault, "expiringSoonWindow": SourceDefault, "trial": SourceDefault,
		"preventVM": SourceDefault, "maxTransfers": SourceDefault, "whenNoSeat": SourceDefault,
	}
}

// unkeyedSources are the sources of BuiltinPolicyFor a product that does not
// authorize by Key (or no product): no built-in maxActivations.
func unkeyedSources() map[string]v1.PolicySource {
	s := builtinSources()
	delete(s, "maxActivations")
	return s
}

func policy(code string, s v1.PolicySettings) v1.LicensePolicy {
	return v1.LicensePolicy{Code: code, PolicySettings: s}
}

func TestResolvePolicy(t *testing.T) {
	gold := policy("gold", fullSettings(1))
	silver := policy("silver", fullSettings(2))
	partial := policy("partial", v1.PolicySettings{
		Type:          ptr.To(v1.LicenseTypeTimeLimited),
		ValidDuration: ptr.To(v1.CalendarDuration("3m")),
	})
	product := ut.MakeProduct("cad").Policy(gold).Policy(silver).Policy(partial).DefaultPolicy("silver").Obj()
	noDefault := ut.MakeProduct("cad").Policy(gold).Obj()
	brokenDefault := ut.MakeProduct("cad").Policy(gold).DefaultPolicy("missing").Obj()
	bundle := ut.MakeProduct("suite").Bundle("cad", "cam").Policy(gold).DefaultPolicy("gold").Obj()

	cases := map[string]struct {
		lic     *v1.SoftwareLicense
		product *v1.LicenseProduct
		want    PolicyResolution
	}{
		"no product: built-in defaults, and no built-in maxActivations (the seats are the limit)": {
			lic: ut.MakeLicense("l", "ns").Obj(),
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{PolicySettings: BuiltinPolicyFor(nil), Sources: unkeyedSources()},
				Resolved: true, Reason: v1.ReasonResolved,
				Message: "No product: the policy is the overrides and the built-in defaults",
			},
		},
		"no product: every field from overrides": {
			lic: ut.MakeLicense("l", "ns").Overrides(fullSettings(0)).Obj(),
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{PolicySettings: fullSettings(0), Sources: sourcesAll(t, SourceOverride)},
				Resolved: true, Reason: v1.ReasonResolved,
				Message: "No product: the policy is the overrides and the built-in defaults",
			},
		},
		"every field from the licence's policy code": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").PolicyCode("gold").Obj(),
			product: product,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{Code: "gold", PolicySettings: fullSettings(1), Sources: sourcesAll(t, "Policy/gold")},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "gold" of product "cad"`,
			},
		},
		"every field from the product's default policy": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").Obj(),
			product: product,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{Code: "silver", PolicySettings: fullSettings(2), Sources: sourcesAll(t, "Policy/silver")},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "silver" of product "cad"`,
			},
		},
		"every field from overrides beats the policy": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").PolicyCode("gold").Overrides(fullSettings(0)).Obj(),
			product: product,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{Code: "gold", PolicySettings: fullSettings(0), Sources: sourcesAll(t, SourceOverride)},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "gold" of product "cad"`,
			},
		},
		"field by field: override, policy code, product policyDefaults, built-in; nothing from the default policy": {
			lic: ut.MakeLicense("l", "ns").Product("cad").PolicyCode("partial").
				Overrides(v1.PolicySettings{MaxActivations: ptr.To[int32](7)}).Obj(),
			product: func() *v1.LicenseProduct {
				p := ut.MakeProduct("cad").Policy(partial).
					Policy(policy("base", v1.PolicySettings{
						Type: ptr.To(v1.LicenseTypeSubscription), GracePeriod: ptr.To(v1.CalendarDuration("7d")),
						Enforcement: ptr.To(v1.EnforcementSoft),
					})).
					DefaultPolicy("base").Obj()
				p.Spec.PolicyDefaults = &v1.PolicySettings{MaxTransfers: ptr.To[int32](3), Type: ptr.To(v1.LicenseTypePerpetual)}
				return p
			}(),
			want: PolicyResolution{
				Policy: v1.EffectivePolicy{
					Code: "partial",
					PolicySettings: func() v1.PolicySettings {
						s := BuiltinPolicy()
						s.MaxActivations = ptr.To[int32](7)
						s.Type = ptr.To(v1.LicenseTypeTimeLimited)
						s.ValidDuration = ptr.To(v1.CalendarDuration("3m"))
						s.MaxTransfers = ptr.To[int32](3)
						return s
					}(),
					Sources: func() map[string]v1.PolicySource {
						s := builtinSources()
						s["maxActivations"] = SourceOverride
						s["type"] = "Policy/partial"
						s["validDuration"] = "Policy/partial"
						s["maxTransfers"] = SourceProduct
						return s
					}(),
				},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "partial" of product "cad"`,
			},
		},
		"product without default policy and licence without code: built-ins": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").Obj(),
			product: noDefault,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{PolicySettings: BuiltinPolicy(), Sources: builtinSources()},
				Resolved: true, Reason: v1.ReasonResolved, Message: "Resolved from the built-in defaults",
			},
		},
		"policy code not found": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").PolicyCode("platinum").Overrides(v1.PolicySettings{Trial: ptr.To(true)}).Obj(),
			product: product,
			want: PolicyResolution{
				Policy: v1.EffectivePolicy{
					PolicySettings: func() v1.PolicySettings { s := BuiltinPolicy(); s.Trial = ptr.To(true); return s }(),
					Sources:        func() map[string]v1.PolicySource { s := builtinSources(); s["trial"] = SourceOverride; return s }(),
				},
				Reason:  v1.ReasonPolicyNotFound,
				Message: `spec.policyCode "platinum" is not a policy of product "cad" (it has "gold", "partial", "silver")`,
			},
		},
		"policy code without a product": {
			lic: ut.MakeLicense("l", "ns").PolicyCode("gold").Obj(),
			want: PolicyResolution{
				Policy:  v1.EffectivePolicy{PolicySettings: BuiltinPolicyFor(nil), Sources: unkeyedSources()},
				Reason:  v1.ReasonPolicyNotFound,
				Message: `spec.policyCode "gold" needs a product: set spec.productRef or remove spec.policyCode`,
			},
		},
		"default policy missing and no code": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").Obj(),
			product: brokenDefault,
			want: PolicyResolution{
				Policy:  v1.EffectivePolicy{PolicySettings: BuiltinPolicy(), Sources: builtinSources()},
				Reason:  v1.ReasonPolicyNotFound,
				Message: `The defaultPolicy "missing" of product "cad" is not one of its policies (it has "gold")`,
			},
		},
		"default policy missing does not hurt a licence naming an existing policy": {
			lic:     ut.MakeLicense("l", "ns").Product("cad").PolicyCode("gold").Obj(),
			product: brokenDefault,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{Code: "gold", PolicySettings: fullSettings(1), Sources: sourcesAll(t, "Policy/gold")},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "gold" of product "cad"`,
			},
		},
		"bundle licence without policy code": {
			lic:     ut.MakeLicense("l", "ns").Product("suite").Obj(),
			product: bundle,
			want: PolicyResolution{
				Policy:  v1.EffectivePolicy{PolicySettings: BuiltinPolicy(), Sources: builtinSources()},
				Reason:  v1.ReasonBundlePolicyRequired,
				Message: `Product "suite" is a bundle: a licence of a bundle must name its policy in spec.policyCode (one of "gold")`,
			},
		},
		"bundle licence with policy code": {
			lic:     ut.MakeLicense("l", "ns").Product("suite").PolicyCode("gold").Obj(),
			product: bundle,
			want: PolicyResolution{
				Policy:   v1.EffectivePolicy{Code: "gold", PolicySettings: fullSettings(1), Sources: sourcesAll(t, "Policy/gold")},
				Resolved: true, Reason: v1.ReasonResolved, Message: `Resolved policy "gold" of product "suite"`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ResolvePolicy(tc.lic, tc.product)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ResolvePolicy() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolvePolicyCoversEveryField fails when PolicySettings gains a field
// that ResolvePolicy does not resolve.
func TestResolvePolicyCoversEveryField(t *testing.T) {
	got := ResolvePolicy(ut.MakeLicense("l", "ns").Overrides(fullSettings(0)).Obj(), nil)
	var keys []string
	for k := range got.Policy.Sources {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff(jsonFields(t), keys); diff != "" {
		t.Errorf("sources do not name every PolicySettings field (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fullSettings(0), got.Policy.PolicySettings); diff != "" {
		t.Errorf("not every field was resolved (-want +got):\n%s", diff)
	}
}

// TestResolvePolicySharesNothing: the effective policy goes into a licence's
// status; changing it must never change the product it came from.
func TestResolvePolicySharesNothing(t *testing.T) {
	product := ut.MakeProduct("cad").Policy(policy("gold", fullSettings(1))).DefaultPolicy("gold").Obj()
	before := product.DeepCopy()
	got := ResolvePolicy(ut.MakeLicense("l", "ns").Product("cad").Obj(), product)
	*got.Policy.MaxActivations = 999
	got.Policy.Features[0].Code = "changed"
	*got.Policy.Consumption.MaxConsumptions = 999
	if diff := cmp.Diff(before, product); diff != "" {
		t.Errorf("changing the effective policy changed the product (-before +after):\n%s", diff)
	}
}
