package v1alpha1

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
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
