package v1alpha1

import (
	"context"
	"encoding/json"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The paths of the mutating webhooks, as in their kubebuilder:webhook markers.
const (
	licenseProductMutatePath    = "/mutate-licensing-license-operator-dev-v1alpha1-licenseproduct"
	softwareLicenseMutatePath   = "/mutate-licensing-license-operator-dev-v1alpha1-softwarelicense"
	licenseAssignmentMutatePath = "/mutate-licensing-license-operator-dev-v1alpha1-licenseassignment"
)

// registerDefaulter serves defaulter at path through admitUndecodable, so
// that an object the Go types cannot decode is refused by the API server's
// schema validation, which runs after the mutating webhooks and names the
// field, rather than by a Go decoder error here. shape, if given, judges the
// object as sent first, for the input forms the schema alone would word
// misleadingly (kind names the object in its refusal).
func registerDefaulter[T runtime.Object](mgr ctrl.Manager, path, kind string, newObj func() T, defaulter admission.Defaulter[T], shape func(map[string]any) field.ErrorList) {
	recoverPanic := true
	mgr.GetWebhookServer().Register(path, &admission.Webhook{
		Handler: admitUndecodable[T]{
			newObj: newObj,
			inner:  admission.WithDefaulter(mgr.GetScheme(), defaulter),
			kind:   kind,
			shape:  shape,
		},
		RecoverPanic: &recoverPanic,
	})
}

// admitUndecodable refuses an object that shape refuses, admits one that
// does not decode into T unchanged, and hands every other request to inner.
// Its stamps are not needed: an object that does not decode is refused, by
// the schema or else by the validating webhook, which decodes it too.
type admitUndecodable[T runtime.Object] struct {
	newObj func() T
	inner  admission.Handler
	kind   string
	shape  func(map[string]any) field.ErrorList
}

// Handle implements admission.Handler.
func (h admitUndecodable[T]) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Delete {
		if h.shape != nil {
			var obj map[string]any
			if json.Unmarshal(req.Object.Raw, &obj) == nil {
				if errs := h.shape(obj); len(errs) > 0 {
					name, _, _ := unstructured.NestedString(obj, "metadata", "name")
					st := invalid(h.kind, name, errs).(apierrors.APIStatus).Status()
					return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &st}}
				}
			}
		}
		if err := json.Unmarshal(req.Object.Raw, h.newObj()); err != nil {
			return admission.Allowed("the object does not decode; the API server's schema validation judges it")
		}
	}
	return h.inner.Handle(ctx, req)
}

// FeatureListPaths are where the features lists of a kind are written, as
// dotted fields of the object ("*" is every item of a list): the lists whose
// items may be written in the short form, a code alone.
var FeatureListPaths = map[string][]string{
	"LicenseProduct":  {"spec.policies.*.features", "spec.policyDefaults.features"},
	"SoftwareLicense": {"spec.overrides.features"},
}

// ForEachFeatureList calls fn with each features list of obj, an object of
// kind as decoded from JSON, and the list's field path (FeatureListPaths).
// A value that is not a list is skipped: the schema names it.
func ForEachFeatureList(obj map[string]any, kind string, fn func(items []any, path *field.Path)) {
	for _, p := range FeatureListPaths[kind] {
		walkFeatures(obj, strings.Split(p, "."), nil, fn)
	}
}

// featureItemErrors refuses each item of the features lists of obj, an
// object of kind, that is neither a feature's code (a string, the short form)
// nor an object: the schema would say "must be of type object", hiding that
// a code alone is fine too.
func featureItemErrors(obj map[string]any, kind string) field.ErrorList {
	var errs field.ErrorList
	ForEachFeatureList(obj, kind, func(items []any, path *field.Path) {
		for i, item := range items {
			switch item.(type) {
			case string, map[string]any:
			default:
				errs = append(errs, field.Invalid(path.Index(i), item,
					"a feature is its code, a string (features: [export, render]), or an object with a code and an optional maxConsumption ({code: export, maxConsumption: 5})"))
			}
		}
	})
	return errs
}

func walkFeatures(v any, segs []string, path *field.Path, fn func([]any, *field.Path)) {
	if len(segs) == 0 {
		if items, ok := v.([]any); ok {
			fn(items, path)
		}
		return
	}
	if segs[0] == "*" {
		items, _ := v.([]any)
		for i, item := range items {
			walkFeatures(item, segs[1:], path.Index(i), fn)
		}
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	next, ok := m[segs[0]]
	if !ok {
		return
	}
	if path == nil {
		walkFeatures(next, segs[1:], field.NewPath(segs[0]), fn)
		return
	}
	walkFeatures(next, segs[1:], path.Child(segs[0]), fn)
}
