package v1alpha1

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The DELETE webhooks of SoftwareLicense and LicenseProduct never refuse: a
// licence or product whose seats are held stays Terminating (its finalizer,
// see the controllers), and these only tell the deleting user so (an
// admission warning) and record who deleted it (an event, seed 000
// deleted_by). failurePolicy Ignore: an outage never blocks a deletion, a
// namespace's included; the event is then missed (docs/security.md).
// sideEffects NoneOnDryRun: a dry run records nothing.
//
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-softwarelicense-delete,mutating=false,failurePolicy=ignore,sideEffects=NoneOnDryRun,groups=licensing.license-operator.dev,resources=softwarelicenses,verbs=delete,versions=v1alpha1,name=dsoftwarelicense-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-licenseproduct-delete,mutating=false,failurePolicy=ignore,sideEffects=NoneOnDryRun,groups=licensing.license-operator.dev,resources=licenseproducts,verbs=delete,versions=v1alpha1,name=dlicenseproduct-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

const (
	// LicenseDeletePath serves DELETEs of SoftwareLicenses.
	LicenseDeletePath = "/validate-licensing-license-operator-dev-v1alpha1-softwarelicense-delete"
	// ProductDeletePath serves DELETEs of LicenseProducts.
	ProductDeletePath = "/validate-licensing-license-operator-dev-v1alpha1-licenseproduct-delete"
	// EventDeleted is the reason of the event recording who deleted a
	// licence or product.
	EventDeleted = "Deleted"
	actionDelete = "Delete"
)

// SetupDeletionWebhooksWithManager registers the DELETE webhooks.
func SetupDeletionWebhooksWithManager(mgr ctrl.Manager) error {
	h := &DeletionHandler{
		Reader:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("license-operator-deletion"),
		Decoder:  admission.NewDecoder(mgr.GetScheme()),
	}
	srv := mgr.GetWebhookServer()
	srv.Register(LicenseDeletePath, &webhook.Admission{Handler: admission.HandlerFunc(h.HandleLicense)})
	srv.Register(ProductDeletePath, &webhook.Admission{Handler: admission.HandlerFunc(h.HandleProduct)})
	return nil
}

// DeletionHandler answers the DELETEs of licences and products.
type DeletionHandler struct {
	// Reader lists licences and assignments (the manager's cache).
	Reader client.Reader
	// Recorder records who deleted what.
	Recorder events.EventRecorder
	Decoder  admission.Decoder
}

// HandleLicense answers the DELETE of a SoftwareLicense.
func (h *DeletionHandler) HandleLicense(ctx context.Context, req admission.Request) admission.Response {
	lic := &licensingv1alpha1.SoftwareLicense{}
	if err := h.Decoder.DecodeRaw(req.OldObject, lic); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	var assignments licensingv1alpha1.LicenseAssignmentList
	if err := h.Reader.List(ctx, &assignments, client.UnsafeDisableDeepCopy); err != nil {
		return h.unknown(ctx, err)
	}
	holders := licensing.LicenseHolders(licensing.LicenseKey(lic), assignments.Items)
	resp := admission.Allowed("")
	if len(holders) > 0 {
		resp = resp.WithWarnings(licensing.LicenseDeletionWarning(lic.Namespace, lic.Name, holders))
	}
	h.recordDeleted(req, lic, "SoftwareLicense", len(holders))
	return resp
}

// HandleProduct answers the DELETE of a LicenseProduct.
func (h *DeletionHandler) HandleProduct(ctx context.Context, req admission.Request) admission.Response {
	p := &licensingv1alpha1.LicenseProduct{}
	if err := h.Decoder.DecodeRaw(req.OldObject, p); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	var licenses licensingv1alpha1.SoftwareLicenseList
	if err := h.Reader.List(ctx, &licenses, client.UnsafeDisableDeepCopy); err != nil {
		return h.unknown(ctx, err)
	}
	var assignments licensingv1alpha1.LicenseAssignmentList
	if err := h.Reader.List(ctx, &assignments, client.UnsafeDisableDeepCopy); err != nil {
		return h.unknown(ctx, err)
	}
	holdings := licensing.ProductHolders(licensing.ProductSeatHolders(p.Name, licenses.Items, assignments.Items))
	resp := admission.Allowed("")
	n := 0
	for _, hl := range holdings {
		n += hl.Holders
	}
	if n > 0 {
		resp = resp.WithWarnings(licensing.ProductDeletionWarning(p.Name, holdings))
	}
	h.recordDeleted(req, p, "LicenseProduct", n)
	return resp
}

// unknown allows a deletion whose holders could not be counted: this
// webhook never stands in a deletion's way.
func (h *DeletionHandler) unknown(ctx context.Context, err error) admission.Response {
	ctrl.LoggerFrom(ctx).Error(err, "Counting the seat holders of a deletion")
	return admission.Allowed("")
}

// recordDeleted records who deleted obj, once: on the DELETE that starts
// the deletion (not on a repeated DELETE of an object already Terminating),
// and never on a dry run.
func (h *DeletionHandler) recordDeleted(req admission.Request, obj runtime.Object, kind string, holders int) {
	if h.Recorder == nil || req.Operation != admissionv1.Delete || (req.DryRun != nil && *req.DryRun) {
		return
	}
	if o, ok := obj.(client.Object); ok && o.GetDeletionTimestamp() != nil {
		return
	}
	eventType := corev1.EventTypeNormal
	if holders > 0 {
		eventType = corev1.EventTypeWarning
	}
	h.Recorder.Eventf(obj, nil, eventType, EventDeleted, actionDelete, "%s", licensing.DeletedByMessage(kind, req.UserInfo.Username, holders))
}
