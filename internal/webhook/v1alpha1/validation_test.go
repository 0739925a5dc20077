package v1alpha1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

func fields(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestValidateLicenseProduct(t *testing.T) {
	cases := map[string]struct {
		p        *licensingv1alpha1.LicenseProduct
		missing  []string
		want     []string
		warnings int
	}{
		"fine":            {p: utiltesting.MakeProduct("a").Images("r.io/a:*").Obj()},
		"star only":       {p: utiltesting.MakeProduct("a").Images("**").Obj(), want: []string{"FieldValueInvalid spec.workloads.images[0]"}},
		"quote":           {p: utiltesting.MakeProduct("a").Images("x", "r.io/a'b").Obj(), want: []string{"FieldValueInvalid spec.workloads.images[1]"}},
		"missing members": {p: utiltesting.MakeProduct("a").Bundle("b", "c").Obj(), missing: []string{"b", "c"}, warnings: 2},
	}
	for name, c := range cases {
		errs, w := ValidateLicenseProduct(c.p, c.missing)
		if diff := cmp.Diff(c.want, fields(errs)); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s", name, diff)
		}
		if len(w) != c.warnings {
			t.Errorf("%s: warnings %v, want %d", name, w, c.warnings)
		}
	}
}

func TestValidateSoftwareLicense(t *testing.T) {
	std := utiltesting.MakePolicy("std").Obj()
	product := utiltesting.MakeProduct("p").Policy(std).Obj()
	bundle := utiltesting.MakeProduct("b").Bundle("p").Policy(std).Obj()
	restricted := utiltesting.MakeProduct("r").AllowAssignmentsFromSelector(map[string]string{"team": "a"}).Obj()
	userBased := utiltesting.MakeProduct("u").Authorization(licensingv1alpha1.AuthorizationUser).Obj()
	trialPolicy := utiltesting.MakePolicy("eval").Obj()
	trialPolicy.Trial = ptr.To(true)
	trialProduct := utiltesting.MakeProduct("t").Policy(trialPolicy).DefaultPolicy("eval").Obj()
	cases := map[string]struct {
		l        *licensingv1alpha1.SoftwareLicense
		p        *licensingv1alpha1.LicenseProduct
		nsLabels map[string]string
		want     []string
		warn     string
	}{
		"fine":                 {l: utiltesting.MakeLicense("l", "ns").Product("p").PolicyCode("std").Obj(), p: product},
		"unknown policy":       {l: utiltesting.MakeLicense("l", "ns").Product("p").PolicyCode("gold").Obj(), p: product, want: []string{"FieldValueNotFound spec.policyCode"}},
		"bundle without":       {l: utiltesting.MakeLicense("l", "ns").Product("b").Obj(), p: bundle, want: []string{"FieldValueRequired spec.policyCode"}},
		"bundle with":          {l: utiltesting.MakeLicense("l", "ns").Product("b").PolicyCode("std").Obj(), p: bundle},
		"missing product":      {l: utiltesting.MakeLicense("l", "ns").Product("x").Obj(), warn: "does not exist"},
		"namespace refused":    {l: utiltesting.MakeLicense("l", "ns").Product("r").Obj(), p: restricted, nsLabels: map[string]string{"team": "b"}, want: []string{"FieldValueForbidden spec.productRef"}},
		"namespace accepted":   {l: utiltesting.MakeLicense("l", "ns").Product("r").Obj(), p: restricted, nsLabels: map[string]string{"team": "a"}},
		"user-based, no users": {l: utiltesting.MakeLicense("l", "ns").Product("u").Obj(), p: userBased, want: []string{"FieldValueRequired spec.users"}},
		"user-based, a user":   {l: utiltesting.MakeLicense("l", "ns").Product("u").Users("ada@example.com").Obj(), p: userBased},
		"trial that renews":    {l: utiltesting.MakeLicense("l", "ns").Product("t").AutoRenew().Obj(), p: trialProduct, want: []string{"FieldValueForbidden spec.autoRenew"}},
		"trial":                {l: utiltesting.MakeLicense("l", "ns").Product("t").Obj(), p: trialProduct},
		"trial overridden off": {l: utiltesting.MakeLicense("l", "ns").Product("t").AutoRenew().Overrides(licensingv1alpha1.PolicySettings{Trial: ptr.To(false)}).Obj(), p: trialProduct},
	}
	for name, c := range cases {
		errs, w := ValidateSoftwareLicense(c.l, c.p, c.nsLabels)
		if diff := cmp.Diff(c.want, fields(errs)); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s", name, diff)
		}
		if got := strings.Join(w, "\n"); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%s: warnings %q, want one containing %q", name, got, c.warn)
		}
	}
}

func TestValidateLicenseAssignment(t *testing.T) {
	private := utiltesting.MakeLicense("l", "owner").Obj()
	shared := utiltesting.MakeLicense("l", "owner").SharedWithSelector(map[string]string{"team": "a"}).Obj()
	nodeLocked := utiltesting.MakeLicense("n", "ns").Obj()
	nodeLocked.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{SeatModel: ptr.To(licensingv1alpha1.SeatModelNodeLocked)}}
	concurrent := utiltesting.MakeLicense("c", "ns").Obj()
	concurrent.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{SeatModel: ptr.To(licensingv1alpha1.SeatModelConcurrent)}}
	cases := map[string]struct {
		a    *licensingv1alpha1.LicenseAssignment
		in   AssignmentContext
		want []string
		warn string
	}{
		"own namespace":   {a: utiltesting.MakeAssignment("a", "owner").License("l").ServiceAccount("x").Obj(), in: AssignmentContext{License: private}},
		"not shared":      {a: utiltesting.MakeAssignment("a", "ns").License("l", "owner").ServiceAccount("x").Obj(), in: AssignmentContext{License: private}, want: []string{"FieldValueForbidden spec.licenseRef"}},
		"shared":          {a: utiltesting.MakeAssignment("a", "ns").License("l", "owner").ServiceAccount("x").Obj(), in: AssignmentContext{License: shared, NamespaceLabels: map[string]string{"team": "a"}}},
		"missing licence": {a: utiltesting.MakeAssignment("a", "ns").License("l").ServiceAccount("x").Obj(), warn: "does not exist"},
		"missing product": {a: utiltesting.MakeAssignment("a", "ns").Product("p").ServiceAccount("x").Obj(), warn: "does not exist"},
		"product refuses namespace": {a: utiltesting.MakeAssignment("a", "ns").Product("p").ServiceAccount("x").Obj(),
			in: AssignmentContext{Product: utiltesting.MakeProduct("p").AllowAssignmentsFromSelector(map[string]string{"team": "a"}).Obj()}, want: []string{"FieldValueForbidden spec"}},
		"node locked needs node":                       {a: utiltesting.MakeAssignment("a", "ns").License("n").ServiceAccount("x").Obj(), in: AssignmentContext{License: nodeLocked}, want: []string{"FieldValueInvalid spec.assignee"}},
		"node locked node":                             {a: utiltesting.MakeAssignment("a", "ns").License("n").Node("ws01").Obj(), in: AssignmentContext{License: nodeLocked}},
		"concurrent needs service account or workload": {a: utiltesting.MakeAssignment("a", "ns").License("c").User("ann@example.com").Obj(), in: AssignmentContext{License: concurrent}, want: []string{"FieldValueInvalid spec.assignee"}},
		"concurrent workload":                          {a: utiltesting.MakeAssignment("a", "ns").License("c").Workload(map[string]string{"app": "x"}).Obj(), in: AssignmentContext{License: concurrent}},
	}
	for name, c := range cases {
		errs, w := ValidateLicenseAssignment(c.a, c.in)
		if diff := cmp.Diff(c.want, fields(errs)); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s", name, diff)
		}
		if got := strings.Join(w, "\n"); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%s: warnings %q, want one containing %q", name, got, c.warn)
		}
	}
}
