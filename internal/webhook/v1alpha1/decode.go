package v1alpha1

import (
	"context"
	"encoding/json"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
// field, rather than by a Go decoder error here.
func registerDefaulter[T runtime.Object](mgr ctrl.Manager, path string, newObj func() T, defaulter admission.Defaulter[T]) {
	recoverPanic := true
	mgr.GetWebhookServer().Register(path, &admission.Webhook{
		Handler: admitUndecodable[T]{
			newObj: newObj,
			inner:  admission.WithDefaulter(mgr.GetScheme(), defaulter),
		},
		RecoverPanic: &recoverPanic,
	})
}

// admitUndecodable admits an object that does not decode into T unchanged,
// and hands every other request to inner. Its stamps are not needed: an
// object that does not decode is refused, by the schema or else by the
// validating webhook, which decodes it too.
type admitUndecodable[T runtime.Object] struct {
	newObj func() T
	inner  admission.Handler
}

// Handle implements admission.Handler.
func (h admitUndecodable[T]) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Delete {
		if err := json.Unmarshal(req.Object.Raw, h.newObj()); err != nil {
			return admission.Allowed("the object does not decode; the API server's schema validation judges it")
		}
	}
	return h.inner.Handle(ctx, req)
}
