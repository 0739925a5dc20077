package v1alpha1

import (
	"context"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// +kubebuilder:webhook:path=/mutate-licensing-license-operator-dev-v1alpha1-licenseassignment,mutating=true,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=licenseassignments,verbs=create;update,versions=v1alpha1,name=mlicenseassignment-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-licenseassignment,mutating=false,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=licenseassignments,verbs=create;update,versions=v1alpha1,name=vlicenseassignment-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// SetupLicenseAssignmentWebhookWithManager registers the LicenseAssignment
// webhooks. usernamePrefix is the installation's --username-prefix: a
// licence manager's username is it followed by their email.
func SetupLicenseAssignmentWebhookWithManager(mgr ctrl.Manager, usernamePrefix string) error {
	registerDefaulter(mgr, licenseAssignmentMutatePath, "LicenseAssignment", func() *licensingv1alpha1.LicenseAssignment { return &licensingv1alpha1.LicenseAssignment{} }, &LicenseAssignmentCustomDefaulter{}, nil)
	v := &LicenseAssignmentCustomValidator{
		Reader:         mgr.GetAPIReader(),
		Access:         &SubjectAccessReviewer{Client: mgr.GetClient()},
		UsernamePrefix: usernamePrefix,
	}
	decoder := admission.NewDecoder(mgr.GetScheme())
	mgr.GetWebhookServer().Register(AssignmentDeletePath, &webhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return v.HandleDelete(ctx, req, decoder)
	})})
	return ctrl.NewWebhookManagedBy(mgr, &licensingv1alpha1.LicenseAssignment{}).
		WithValidator(v).
		Complete()
}

// The DELETE webhook of LicenseAssignments keeps licence managers from
// deleting the assignments of licences they do not manage (the manager role
// allows delete on every assignment of the namespace). failurePolicy Ignore,
// like the other DELETE webhooks: an outage never blocks a deletion, a
// namespace's included; during one a manager is not limited
// (docs/security.md).
//
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-licenseassignment-delete,mutating=false,failurePolicy=ignore,sideEffects=None,groups=licensing.license-operator.dev,resources=licenseassignments,verbs=delete,versions=v1alpha1,name=dlicenseassignment-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// AssignmentDeletePath serves DELETEs of LicenseAssignments.
const AssignmentDeletePath = "/validate-licensing-license-operator-dev-v1alpha1-licenseassignment-delete"

// HandleDelete answers the DELETE of a LicenseAssignment: refused only for a
// licence manager whom licensing.ManagerLimit keeps from the assignment's
// licence. A failure to decide allows it: this webhook never stands in the
// way of anyone else's deletion.
func (v *LicenseAssignmentCustomValidator) HandleDelete(ctx context.Context, req admission.Request, decoder admission.Decoder) admission.Response {
	a := &licensingv1alpha1.LicenseAssignment{}
	if err := decoder.DecodeRaw(req.OldObject, a); err != nil {
		return admission.Allowed("")
	}
	err := v.validateManager(admission.NewContextWithRequest(ctx, req), nil, a)
	if status, ok := err.(apierrors.APIStatus); ok && apierrors.IsInvalid(err) {
		st := status.Status()
		return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &st}}
	}
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Judging a licence manager's deletion of an assignment")
	}
	return admission.Allowed("")
}

// LicenseAssignmentCustomDefaulter stamps created-by and updated-by. It
// leaves spec.seats alone: the schema defaults an absent value to 1, and an
// explicit 0 must reach the schema's minimum and be refused there, not be
// rewritten to 1 behind the writer's back.
type LicenseAssignmentCustomDefaulter struct{}

var _ admission.Defaulter[*licensingv1alpha1.LicenseAssignment] = &LicenseAssignmentCustomDefaulter{}

// Default implements admission.Defaulter.
func (d *LicenseAssignmentCustomDefaulter) Default(ctx context.Context, a *licensingv1alpha1.LicenseAssignment) error {
	return Stamp(ctx, a, specOf(a.Spec))
}

// LicenseAssignmentCustomValidator checks the assignment against the licence
// or product it names, and keeps licence managers to their own licences.
type LicenseAssignmentCustomValidator struct {
	Reader client.Reader
	// Access reviews whether a licence manager may create licences (then
	// they are not limited); nil limits every manager.
	Access LicenceCreateReviewer
	// UsernamePrefix is what the API server puts before a licence user's
	// email in their username (--username-prefix).
	UsernamePrefix string
}

var _ admission.Validator[*licensingv1alpha1.LicenseAssignment] = &LicenseAssignmentCustomValidator{}

// ValidateCreate implements admission.Validator.
func (v *LicenseAssignmentCustomValidator) ValidateCreate(ctx context.Context, a *licensingv1alpha1.LicenseAssignment) (admission.Warnings, error) {
	if err := v.validateManager(ctx, nil, a); err != nil {
		return nil, err
	}
	return v.validate(ctx, a)
}

// ValidateUpdate implements admission.Validator. Every change of the spec
// answers to the manager limit, even on an assignment being deleted.
func (v *LicenseAssignmentCustomValidator) ValidateUpdate(ctx context.Context, old, a *licensingv1alpha1.LicenseAssignment) (admission.Warnings, error) {
	if !equality.Semantic.DeepEqual(old.Spec, a.Spec) {
		if err := v.validateManager(ctx, old, a); err != nil {
			return nil, err
		}
	}
	if !judgesUpdate(old.Spec, a.Spec, a) {
		return nil, nil
	}
	return v.validate(ctx, a)
}

// validateManager gathers what licensing.ManagerLimit decides from: the
// licences the requester manages among those of the assignment's namespace
// and those its licenseRef names (before and after a change), and, only
// when the decision depends on it, whether the requester may create
// SoftwareLicenses in the namespace (a SubjectAccessReview with the
// requester's identity as the API server authenticated it).
func (v *LicenseAssignmentCustomValidator) validateManager(ctx context.Context, old, a *licensingv1alpha1.LicenseAssignment) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	list := &licensingv1alpha1.SoftwareLicenseList{}
	if err := v.Reader.List(ctx, list, client.InNamespace(a.Namespace)); err != nil {
		return fmt.Errorf("listing the licences of namespace %s: %w", a.Namespace, err)
	}
	licences := make([]*licensingv1alpha1.SoftwareLicense, 0, len(list.Items)+2)
	for i := range list.Items {
		licences = append(licences, &list.Items[i])
	}
	for _, x := range []*licensingv1alpha1.LicenseAssignment{old, a} {
		if x == nil {
			continue
		}
		ns, name, _ := strings.Cut(licensing.AssignmentLicenseKey(x), "/")
		if name == "" || ns == a.Namespace {
			continue
		}
		l := &licensingv1alpha1.SoftwareLicense{}
		if err := v.Reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, l); err == nil {
			licences = append(licences, l)
		} else if !apierrors.IsNotFound(err) {
			return err
		}
	}
	managed := licensing.ManagedBy(req.UserInfo.Username, v.UsernamePrefix, licences)
	if !licensing.ManagerLimitNeedsReview(old, a, managed) {
		return nil
	}
	mayCreate := false
	if v.Access != nil {
		if mayCreate, err = v.Access.MayCreateLicences(ctx, req.UserInfo, a.Namespace); err != nil {
			return fmt.Errorf("reviewing whether %s may create SoftwareLicenses in namespace %s: %w", req.UserInfo.Username, a.Namespace, err)
		}
	}
	if e := licensing.ManagerLimit(old, a, managed, mayCreate); e != nil {
		return invalid("LicenseAssignment", a.Name, field.ErrorList{e})
	}
	return nil
}

// ValidateDelete implements admission.Validator.
func (v *LicenseAssignmentCustomValidator) ValidateDelete(context.Context, *licensingv1alpha1.LicenseAssignment) (admission.Warnings, error) {
	return nil, nil
}

func (v *LicenseAssignmentCustomValidator) validate(ctx context.Context, a *licensingv1alpha1.LicenseAssignment) (admission.Warnings, error) {
	in := AssignmentContext{}
	ns := &corev1.Namespace{}
	if err := v.Reader.Get(ctx, types.NamespacedName{Name: a.Namespace}, ns); err == nil {
		in.NamespaceLabels = ns.Labels
	}
	if ref := a.Spec.LicenseRef; ref != nil {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = a.Namespace
		}
		l := &licensingv1alpha1.SoftwareLicense{}
		if err := v.Reader.Get(ctx, key, l); err == nil {
			in.License = l
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	if productName := licensing.AssignmentProduct(a, in.License); productName != "" {
		p := &licensingv1alpha1.LicenseProduct{}
		if err := v.Reader.Get(ctx, types.NamespacedName{Name: productName}, p); err == nil {
			in.Product = p
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	errs, warnings := ValidateLicenseAssignment(a, in)
	return warnings, invalid("LicenseAssignment", a.Name, errs)
}

// AssignmentContext is what ValidateLicenseAssignment needs besides the assignment.
type AssignmentContext struct {
	// License is the licence of spec.licenseRef, nil when absent or not found.
	License *licensingv1alpha1.SoftwareLicense
	// Product is the product of spec.productRef (or of the licence), nil when not found.
	Product *licensingv1alpha1.LicenseProduct
	// NamespaceLabels are the labels of the assignment's namespace.
	NamespaceLabels map[string]string
}

// ValidateLicenseAssignment is the pure validation of an assignment: the
// licence's sharing allows the assignment's namespace, the product accepts
// assignments from it, and the assignee fits the licence's seat model. A
// missing licence or product is a warning, so that GitOps ordering works.
func ValidateLicenseAssignment(a *licensingv1alpha1.LicenseAssignment, in AssignmentContext) (field.ErrorList, admission.Warnings) {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	var warnings admission.Warnings
	if ref := a.Spec.LicenseRef; ref != nil {
		ns := ref.Namespace
		if ns == "" {
			ns = a.Namespace
		}
		if in.License == nil {
			warnings = append(warnings, fmt.Sprintf("spec.licenseRef: SoftwareLicense %s/%s does not exist (yet); the assignment stays Pending until it does", ns, ref.Name))
		} else if !licensing.LicenseSharedWith(in.License, a.Namespace, in.NamespaceLabels) {
			errs = append(errs, field.Forbidden(spec.Child("licenseRef"), fmt.Sprintf("SoftwareLicense %s/%s is not shared with namespace %s: its spec.sharing must allow it", ns, ref.Name, a.Namespace)))
		}
	}
	if ref := a.Spec.ProductRef; ref != nil && in.Product == nil {
		warnings = append(warnings, fmt.Sprintf("spec.productRef: LicenseProduct %q does not exist (yet); the assignment stays Pending until it does", ref.Name))
	}
	if in.Product != nil && !licensing.NamespaceAllowedByProduct(in.Product, in.NamespaceLabels) {
		errs = append(errs, field.Forbidden(spec, fmt.Sprintf("LicenseProduct %s does not accept assignments from namespace %s (spec.allowAssignmentsFrom)", in.Product.Name, a.Namespace)))
	}
	// The assignee rule of Grant, on the same effective policy: a licence
	// whose policy does not resolve yet binds nothing and is not judged.
	if l := in.License; l != nil && l.Status.EffectivePolicy != nil {
		if ok, why := licensing.AssigneeFits(licensing.SeatModelOf(l.Status.EffectivePolicy), licensing.LicenseKey(l), l, in.Product, a.Spec.Assignee); !ok {
			errs = append(errs, field.Invalid(field.NewPath("spec", "assignee"), "", why))
		}
	}
	return errs, warnings
}
