package v1alpha1

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// +kubebuilder:webhook:path=/mutate-licensing-license-operator-dev-v1alpha1-softwarelicense,mutating=true,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=softwarelicenses,verbs=create;update,versions=v1alpha1,name=msoftwarelicense-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-softwarelicense,mutating=false,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=softwarelicenses,verbs=create;update,versions=v1alpha1,name=vsoftwarelicense-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// SetupSoftwareLicenseWebhookWithManager registers the SoftwareLicense webhooks.
func SetupSoftwareLicenseWebhookWithManager(mgr ctrl.Manager) error {
	registerDefaulter(mgr, softwareLicenseMutatePath, "SoftwareLicense", func() *licensingv1alpha1.SoftwareLicense { return &licensingv1alpha1.SoftwareLicense{} }, &SoftwareLicenseCustomDefaulter{Reader: mgr.GetAPIReader()}, licenceShape)
	return ctrl.NewWebhookManagedBy(mgr, &licensingv1alpha1.SoftwareLicense{}).
		WithValidator(&SoftwareLicenseCustomValidator{Reader: mgr.GetAPIReader(), Access: &SubjectAccessReviewer{Client: mgr.GetClient()}}).
		Complete()
}

// licenceShape refuses a features item of spec.overrides that is neither a
// code nor an object.
func licenceShape(obj map[string]any) field.ErrorList {
	return featureItemErrors(obj, "SoftwareLicense")
}

// SoftwareLicenseCustomDefaulter stamps the users and, on create, copies the
// vendor, product name and SKU from the product when the licence gives none.
type SoftwareLicenseCustomDefaulter struct {
	Reader client.Reader
}

var _ admission.Defaulter[*licensingv1alpha1.SoftwareLicense] = &SoftwareLicenseCustomDefaulter{}

// Default implements admission.Defaulter.
func (d *SoftwareLicenseCustomDefaulter) Default(ctx context.Context, l *licensingv1alpha1.SoftwareLicense) error {
	if err := Stamp(ctx, l, specOf(l.Spec)); err != nil {
		return err
	}
	if req, err := admission.RequestFromContext(ctx); err == nil && req.Operation == "CREATE" && l.Spec.ProductRef != nil {
		p := &licensingv1alpha1.LicenseProduct{}
		if err := d.Reader.Get(ctx, types.NamespacedName{Name: l.Spec.ProductRef.Name}, p); err == nil {
			DefaultSoftwareLicense(l, p)
		}
	}
	return nil
}

// DefaultSoftwareLicense fills vendor, productName and productSKU from the product.
func DefaultSoftwareLicense(l *licensingv1alpha1.SoftwareLicense, p *licensingv1alpha1.LicenseProduct) {
	if l.Spec.Vendor == "" {
		l.Spec.Vendor = p.Spec.Vendor
	}
	if l.Spec.ProductName == "" {
		l.Spec.ProductName = p.Spec.DisplayName
	}
	if l.Spec.ProductSKU == "" {
		l.Spec.ProductSKU = p.Spec.SKU
	}
}

// SoftwareLicenseCustomValidator checks the licence against its product, and
// that its author may read the Secret its spec.key names.
type SoftwareLicenseCustomValidator struct {
	Reader client.Reader
	// Access reviews whether the requester may get a Secret; nil refuses
	// every spec.key.secretRef that needs a review.
	Access SecretAccessReviewer
}

var _ admission.Validator[*licensingv1alpha1.SoftwareLicense] = &SoftwareLicenseCustomValidator{}

// ValidateCreate implements admission.Validator.
func (v *SoftwareLicenseCustomValidator) ValidateCreate(ctx context.Context, l *licensingv1alpha1.SoftwareLicense) (admission.Warnings, error) {
	return v.validate(ctx, nil, l)
}

// ValidateUpdate implements admission.Validator. A change of the secretRef
// is checked even on a licence being deleted (which stays while its seats
// are held); the rest only when judgesUpdate says so.
func (v *SoftwareLicenseCustomValidator) ValidateUpdate(ctx context.Context, old, l *licensingv1alpha1.SoftwareLicense) (admission.Warnings, error) {
	if !judgesUpdate(old.Spec, l.Spec, l) {
		errs, err := v.validateSecretAccess(ctx, old.Spec.Key, l)
		if err != nil {
			return nil, err
		}
		return nil, invalid("SoftwareLicense", l.Name, errs)
	}
	return v.validate(ctx, old, l)
}

// ValidateDelete implements admission.Validator. Deletion is answered by the
// DELETE webhook of its own (deletion.go), whose failures never block it.
func (v *SoftwareLicenseCustomValidator) ValidateDelete(context.Context, *licensingv1alpha1.SoftwareLicense) (admission.Warnings, error) {
	return nil, nil
}

// validate judges a create (old nil) or an update of l.
func (v *SoftwareLicenseCustomValidator) validate(ctx context.Context, old, l *licensingv1alpha1.SoftwareLicense) (admission.Warnings, error) {
	var oldKey *licensingv1alpha1.LicenseKeySource
	if old != nil {
		oldKey = old.Spec.Key
	}
	errs, err := v.validateSecretAccess(ctx, oldKey, l)
	if err != nil {
		return nil, err
	}
	var warnings admission.Warnings
	if w := licensing.ZeroSeatsWarning(l); w != "" {
		warnings = append(warnings, w)
	}
	if l.Spec.ProductRef == nil {
		return warnings, invalid("SoftwareLicense", l.Name, errs)
	}
	p := &licensingv1alpha1.LicenseProduct{}
	err = v.Reader.Get(ctx, types.NamespacedName{Name: l.Spec.ProductRef.Name}, p)
	if apierrors.IsNotFound(err) {
		p = nil
	} else if err != nil {
		return nil, err
	}
	var nsLabels map[string]string
	if p != nil && p.Spec.AllowAssignmentsFrom != nil && p.Spec.AllowAssignmentsFrom.From == licensingv1alpha1.AssignmentsFromSelector {
		ns := &corev1.Namespace{}
		if err := v.Reader.Get(ctx, types.NamespacedName{Name: l.Namespace}, ns); err != nil {
			return nil, err
		}
		nsLabels = ns.Labels
	}
	productErrs, productWarnings := ValidateSoftwareLicense(l, p, nsLabels)
	return append(warnings, productWarnings...), invalid("SoftwareLicense", l.Name, append(errs, productErrs...))
}

// validateSecretAccess refuses a spec.key.secretRef that names a Secret the
// requester may not get, when licensing.SecretRefNeedsAccessCheck says the
// change must be checked: else a licence would be an oracle of every Secret of
// its namespace (its status shows the key's SHA-256).
func (v *SoftwareLicenseCustomValidator) validateSecretAccess(ctx context.Context, oldKey *licensingv1alpha1.LicenseKeySource, l *licensingv1alpha1.SoftwareLicense) (field.ErrorList, error) {
	if !licensing.SecretRefNeedsAccessCheck(oldKey, l.Spec.Key) {
		return nil, nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	name := l.Spec.Key.SecretRef.Name
	allowed, reason := false, "no access reviewer is configured"
	if v.Access != nil {
		if allowed, reason, err = v.Access.MayGetSecret(ctx, req.UserInfo, l.Namespace, name); err != nil {
			return nil, fmt.Errorf("reviewing whether %s may get Secret %s/%s: %w", req.UserInfo.Username, l.Namespace, name, err)
		}
	}
	if allowed {
		return nil, nil
	}
	path := field.NewPath("spec", "key", "secretRef", "name")
	return field.ErrorList{field.Forbidden(path, licensing.SecretAccessDeniedMessage(req.UserInfo.Username, l.Namespace, name, reason))}, nil
}

// ValidateSoftwareLicense is the pure validation of a licence against its
// product p (nil when it does not exist: a warning, not a denial, so GitOps
// ordering works): the policy code exists, a bundle licence names a policy,
// and the product accepts licences from the licence's namespace.
func ValidateSoftwareLicense(l *licensingv1alpha1.SoftwareLicense, p *licensingv1alpha1.LicenseProduct, nsLabels map[string]string) (field.ErrorList, admission.Warnings) {
	spec := field.NewPath("spec")
	if p == nil {
		return nil, admission.Warnings{fmt.Sprintf("spec.productRef: LicenseProduct %q does not exist (yet); the licence stays not Ready and grants no seats until it does", l.Spec.ProductRef.Name)}
	}
	var errs field.ErrorList
	if l.Spec.PolicyCode != "" && !hasPolicy(p, l.Spec.PolicyCode) {
		errs = append(errs, field.NotFound(spec.Child("policyCode"), fmt.Sprintf("%s (LicenseProduct %s has %s)", l.Spec.PolicyCode, p.Name, licensing.PolicyCodes(p))))
	}
	if p.Spec.Bundle != nil && l.Spec.PolicyCode == "" {
		errs = append(errs, field.Required(spec.Child("policyCode"), fmt.Sprintf("LicenseProduct %s is a bundle: a licence of a bundle must name one of its policies (%s)", p.Name, licensing.PolicyCodes(p))))
	}
	if !licensing.NamespaceAllowedByProduct(p, nsLabels) {
		errs = append(errs, field.Forbidden(spec.Child("productRef"), fmt.Sprintf("LicenseProduct %s does not accept licences and assignments from namespace %s (spec.allowAssignmentsFrom)", p.Name, l.Namespace)))
	}
	if res := licensing.ResolvePolicy(l, p); res.Resolved && licensing.TrialAutoRenews(l, &res.Policy.PolicySettings) {
		errs = append(errs, field.Forbidden(spec.Child("autoRenew"), fmt.Sprintf("policy %q of LicenseProduct %s is a trial: a trial ends and cannot renew itself; remove spec.autoRenew, or use a policy that is not a trial", res.Policy.Code, p.Name)))
	}
	if licensing.NeedsUsers(l, p) {
		errs = append(errs, field.Required(spec.Child("users"), fmt.Sprintf("LicenseProduct %s authorizes by User: a licence of it is held by the users it lists; add at least one (spec.users[].email, for example ada@example.com)", p.Name)))
	}
	return errs, nil
}

func hasPolicy(p *licensingv1alpha1.LicenseProduct, code string) bool {
	for _, pol := range p.Spec.Policies {
		if pol.Code == code {
			return true
		}
	}
	return false
}
