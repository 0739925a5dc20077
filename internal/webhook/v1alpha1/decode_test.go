package v1alpha1

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

type recordingHandler struct{ called bool }

func (h *recordingHandler) Handle(context.Context, admission.Request) admission.Response {
	h.called = true
	return admission.Denied("inner")
}

// TestAdmitUndecodable checks that an object the Go types cannot decode is
// admitted unchanged, for the API server's schema to refuse with its field
// message, and that every other request reaches the defaulter.
func TestAdmitUndecodable(t *testing.T) {
	cases := map[string]struct {
		op        admissionv1.Operation
		raw       string
		wantInner bool
	}{
		"a valid licence":        {op: admissionv1.Create, raw: `{"spec":{"startDate":"2024-03-12","cost":{"listPrice":100}}}`, wantInner: true},
		"a day-first date":       {op: admissionv1.Create, raw: `{"spec":{"startDate":"12/03/2024"}}`},
		"a boolean price":        {op: admissionv1.Update, raw: `{"spec":{"cost":{"listPrice":true}}}`},
		"a fractional discount":  {op: admissionv1.Create, raw: `{"spec":{"cost":{"negotiatedDiscountPercent":12.5}}}`},
		"seats as words":         {op: admissionv1.Create, raw: `{"spec":{"seats":"five"}}`},
		"a delete, not decoded":  {op: admissionv1.Delete, raw: ``, wantInner: true},
		"a valid licence update": {op: admissionv1.Update, raw: `{"spec":{"expiryDate":"2025-03-12T00:00:00Z"}}`, wantInner: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			inner := &recordingHandler{}
			h := admitUndecodable[*licensingv1alpha1.SoftwareLicense]{
				newObj: func() *licensingv1alpha1.SoftwareLicense { return &licensingv1alpha1.SoftwareLicense{} },
				inner:  inner,
			}
			resp := h.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				Operation: tc.op, Object: runtime.RawExtension{Raw: []byte(tc.raw)},
			}})
			if inner.called != tc.wantInner {
				t.Fatalf("defaulter called = %v, want %v", inner.called, tc.wantInner)
			}
			if !tc.wantInner && (!resp.Allowed || len(resp.Patches) != 0 || resp.PatchType != nil) {
				t.Errorf("response = %+v, want allowed unchanged", resp)
			}
		})
	}
}

// TestFeatureShortForm checks the seed's short form of policy features end
// to end through the product's mutating handler: codes become {code: …}
// objects in the patch, and an item that is neither is refused naming it.
func TestFeatureShortForm(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := licensingv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	h := admitUndecodable[*licensingv1alpha1.LicenseProduct]{
		newObj: func() *licensingv1alpha1.LicenseProduct { return &licensingv1alpha1.LicenseProduct{} },
		inner:  admission.WithDefaulter(scheme, &LicenseProductCustomDefaulter{}),
		kind:   "LicenseProduct",
		shape:  productShape,
	}
	handle := func(raw string) admission.Response {
		return h.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(raw)},
			UserInfo: authenticationv1.UserInfo{Username: "ada"},
		}})
	}
	const head = `{"apiVersion":"licensing.license-operator.dev/v1alpha1","kind":"LicenseProduct","metadata":{"name":"cad"},"spec":{"authorization":"Key",`

	resp := handle(head + `"policies":[{"code":"std","features":["export",{"code":"render","maxConsumption":5}]}],"policyDefaults":{"features":["print"]}}}`)
	if !resp.Allowed {
		t.Fatalf("short form refused: %+v", resp.Result)
	}
	got := map[string]any{}
	for _, p := range resp.Patches {
		got[p.Operation+" "+p.Path] = p.Value
	}
	for path, code := range map[string]string{"/spec/policies/0/features/0": "export", "/spec/policyDefaults/features/0": "print"} {
		v, ok := got["replace "+path]
		if !ok {
			t.Errorf("no replace of %s in %v", path, got)
			continue
		}
		if diff := cmp.Diff(map[string]any{"code": code}, v); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	for op := range got {
		if strings.Contains(op, "/features/1") {
			t.Errorf("the object form was changed: %s", op)
		}
	}

	resp = handle(head + `"policies":[{"code":"std","features":["export",5]}],"policyDefaults":{"features":[true]}}}`)
	if resp.Allowed || resp.Result == nil || resp.Result.Code != 422 {
		t.Fatalf("a number as a feature: %+v, want refused as invalid", resp.AdmissionResponse)
	}
	for _, want := range []string{`LicenseProduct.licensing.license-operator.dev "cad" is invalid`, "spec.policies[0].features[1]: Invalid value: 5", "spec.policyDefaults.features[0]: Invalid value: true", "a feature is its code, a string"} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("message %q does not contain %q", resp.Result.Message, want)
		}
	}
}
