package v1alpha1

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// TestStampUpdate checks that an update can neither drop nor forge the
// stamps: created-by comes from the old object, updated-by from the requesting
// user when the object changed, else from the old object.
func TestStampUpdate(t *testing.T) {
	cases := map[string]struct {
		oldAnn, newAnn map[string]string
		vendor         string
		want           map[string]string
	}{
		"edit": {
			oldAnn: map[string]string{licensingv1alpha1.CreatedByAnnotation: "alice", licensingv1alpha1.UpdatedByAnnotation: "alice"},
			vendor: "Acme",
			want:   map[string]string{licensingv1alpha1.CreatedByAnnotation: "alice", licensingv1alpha1.UpdatedByAnnotation: "bob"},
		},
		"no change keeps the last editor": {
			oldAnn: map[string]string{licensingv1alpha1.CreatedByAnnotation: "alice", licensingv1alpha1.UpdatedByAnnotation: "alice"},
			newAnn: map[string]string{licensingv1alpha1.UpdatedByAnnotation: "forged"},
			want:   map[string]string{licensingv1alpha1.CreatedByAnnotation: "alice", licensingv1alpha1.UpdatedByAnnotation: "alice"},
		},
		// An object stored before the webhook stamped it has no stamps: an
		// update changing nothing may not add forged ones.
		"no stamps before, none forged": {
			newAnn: map[string]string{licensingv1alpha1.CreatedByAnnotation: "forged", licensingv1alpha1.UpdatedByAnnotation: "forged"},
			want:   map[string]string{},
		},
	}
	for name, c := range cases {
		old := utiltesting.MakeProduct("p").Obj()
		old.Annotations = c.oldAnn
		raw, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		cur := old.DeepCopy()
		cur.Annotations = map[string]string{}
		for k, v := range c.oldAnn {
			cur.Annotations[k] = v
		}
		for k, v := range c.newAnn {
			cur.Annotations[k] = v
		}
		if c.vendor != "" {
			cur.Spec.Vendor = c.vendor
		}
		ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: admissionv1.Update,
			UserInfo:  authenticationv1.UserInfo{Username: "bob"},
			OldObject: runtime.RawExtension{Raw: raw},
		}})
		if err := Stamp(ctx, cur, specOf(cur.Spec)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(c.want, cur.Annotations, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: annotations (-want +got):\n%s", name, diff)
		}
	}
}
