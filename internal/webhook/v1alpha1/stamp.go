// Package v1alpha1 holds the defaulting and validating webhooks of
// LicenseProduct, SoftwareLicense and LicenseAssignment: what CEL cannot check
// because it needs other objects, and the created-by / updated-by stamps. Each
// webhook is a thin handler: it fetches what it needs and calls a pure
// validator returning a field.ErrorList and warnings.
package v1alpha1

import (
	"context"
	"encoding/json"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Stamp sets the created-by and updated-by annotations of obj from the user of
// the admission request in ctx. On create both are set. On update created-by is
// carried over from the old object (a client replacing the object cannot drop
// or forge it), and updated-by is set only when the spec, labels or
// annotations change, so finalizer and status bookkeeping by the operator does
// not overwrite the last human editor. specChanged says whether the spec differs.
func Stamp(ctx context.Context, obj client.Object, specChanged func(old []byte) bool) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	user := req.UserInfo.Username
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	switch req.Operation {
	case admissionv1.Create:
		ann[licensingv1alpha1.CreatedByAnnotation] = user
		ann[licensingv1alpha1.UpdatedByAnnotation] = user
	case admissionv1.Update:
		old := &metav1.PartialObjectMetadata{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return err
		}
		oldAnn := old.GetAnnotations()
		if v, ok := oldAnn[licensingv1alpha1.CreatedByAnnotation]; ok {
			ann[licensingv1alpha1.CreatedByAnnotation] = v
		} else {
			delete(ann, licensingv1alpha1.CreatedByAnnotation)
		}
		if specChanged(req.OldObject.Raw) || !equality.Semantic.DeepEqual(old.GetLabels(), obj.GetLabels()) || userAnnotationsChanged(oldAnn, ann) {
			ann[licensingv1alpha1.UpdatedByAnnotation] = user
		} else if v, ok := oldAnn[licensingv1alpha1.UpdatedByAnnotation]; ok {
			ann[licensingv1alpha1.UpdatedByAnnotation] = v
		} else {
			delete(ann, licensingv1alpha1.UpdatedByAnnotation)
		}
	}
	obj.SetAnnotations(ann)
	return nil
}

func userAnnotationsChanged(old, cur map[string]string) bool {
	strip := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if k != licensingv1alpha1.CreatedByAnnotation && k != licensingv1alpha1.UpdatedByAnnotation {
				out[k] = v
			}
		}
		return out
	}
	return !equality.Semantic.DeepEqual(strip(old), strip(cur))
}

// specOf returns a func comparing the spec of the raw old object with cur.
func specOf[S any](cur S) func(old []byte) bool {
	return func(raw []byte) bool {
		var old struct {
			Spec S `json:"spec"`
		}
		if err := json.Unmarshal(raw, &old); err != nil {
			return true
		}
		return !equality.Semantic.DeepEqual(old.Spec, cur)
	}
}

// judgesUpdate says whether an update is validated against other objects:
// only when it changes the spec of an object that is not being deleted. An
// update that leaves the spec alone (the operator's finalizer, labels,
// annotations) passes whatever became of the objects the spec names since:
// else a licence whose policy was removed from its product could not even
// lose its finalizer, and could never be deleted.
func judgesUpdate[S any](oldSpec, newSpec S, obj client.Object) bool {
	return obj.GetDeletionTimestamp() == nil && !equality.Semantic.DeepEqual(oldSpec, newSpec)
}

// invalid turns errors into the admission error of kind/name, or nil.
func invalid(kind, name string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: licensingv1alpha1.GroupVersion.Group, Kind: kind}, name, errs)
}
