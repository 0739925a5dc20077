package v1alpha1

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-licensing-license-operator-dev-v1alpha1-licenseproduct,mutating=true,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=licenseproducts,verbs=create;update,versions=v1alpha1,name=mlicenseproduct-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensing-license-operator-dev-v1alpha1-licenseproduct,mutating=false,failurePolicy=fail,sideEffects=None,groups=licensing.license-operator.dev,resources=licenseproducts,verbs=create;update,versions=v1alpha1,name=vlicenseproduct-v1alpha1.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// SetupLicenseProductWebhookWithManager registers the LicenseProduct webhooks.
func SetupLicenseProductWebhookWithManager(mgr ctrl.Manager) error {
	registerDefaulter(mgr, licenseProductMutatePath, "LicenseProduct", func() *licensingv1alpha1.LicenseProduct { return &licensingv1alpha1.LicenseProduct{} }, &LicenseProductCustomDefaulter{}, productShape)
	return ctrl.NewWebhookManagedBy(mgr, &licensingv1alpha1.LicenseProduct{}).
		WithValidator(&LicenseProductCustomValidator{Reader: mgr.GetAPIReader()}).
		Complete()
}

// productShape refuses a features item of a policy, or of the product's
// policyDefaults, that is neither a code nor an object.
func productShape(obj map[string]any) field.ErrorList {
	return featureItemErrors(obj, "LicenseProduct")
}

// LicenseProductCustomDefaulter stamps created-by and updated-by.
type LicenseProductCustomDefaulter struct{}

var _ admission.Defaulter[*licensingv1alpha1.LicenseProduct] = &LicenseProductCustomDefaulter{}

// Default implements admission.Defaulter.
func (d *LicenseProductCustomDefaulter) Default(ctx context.Context, p *licensingv1alpha1.LicenseProduct) error {
	return Stamp(ctx, p, specOf(p.Spec))
}

// LicenseProductCustomValidator checks what needs other objects: bundle members.
type LicenseProductCustomValidator struct {
	Reader client.Reader
}

var _ admission.Validator[*licensingv1alpha1.LicenseProduct] = &LicenseProductCustomValidator{}

// ValidateCreate implements admission.Validator.
func (v *LicenseProductCustomValidator) ValidateCreate(ctx context.Context, p *licensingv1alpha1.LicenseProduct) (admission.Warnings, error) {
	return v.validate(ctx, p)
}

// ValidateUpdate implements admission.Validator.
func (v *LicenseProductCustomValidator) ValidateUpdate(ctx context.Context, old, p *licensingv1alpha1.LicenseProduct) (admission.Warnings, error) {
	if !judgesUpdate(old.Spec, p.Spec, p) {
		return nil, nil
	}
	return v.validate(ctx, p)
}

// ValidateDelete implements admission.Validator.
func (v *LicenseProductCustomValidator) ValidateDelete(context.Context, *licensingv1alpha1.LicenseProduct) (admission.Warnings, error) {
	return nil, nil
}

func (v *LicenseProductCustomValidator) validate(ctx context.Context, p *licensingv1alpha1.LicenseProduct) (admission.Warnings, error) {
	var missing []string
	if p.Spec.Bundle != nil {
		for _, name := range p.Spec.Bundle.Products {
			err := v.Reader.Get(ctx, types.NamespacedName{Name: name}, &licensingv1alpha1.LicenseProduct{})
			if apierrors.IsNotFound(err) {
				missing = append(missing, name)
			} else if err != nil {
				return nil, err
			}
		}
	}
	errs, warnings := ValidateLicenseProduct(p, missing)
	return warnings, invalid("LicenseProduct", p.Name, errs)
}

// ValidateLicenseProduct is the pure validation of a product: its image
// patterns, and the bundle members that do not exist (a warning, so that a
// GitOps tool may apply a bundle before its members).
func ValidateLicenseProduct(p *licensingv1alpha1.LicenseProduct, missingMembers []string) (field.ErrorList, admission.Warnings) {
	var errs field.ErrorList
	warnings := make(admission.Warnings, 0, len(missingMembers))
	if p.Spec.Workloads != nil {
		path := field.NewPath("spec", "workloads", "images")
		for i, pat := range p.Spec.Workloads.Images {
			switch {
			case strings.Trim(pat, "*") == "":
				errs = append(errs, field.Invalid(path.Index(i), pat, "a pattern of only '*' would make every Pod of the cluster need a seat of this product"))
			case strings.ContainsAny(pat, " \t\n'\"\\"):
				errs = append(errs, field.Invalid(path.Index(i), pat, "an image pattern has no spaces, quotes or backslashes"))
			}
		}
	}
	for _, m := range missingMembers {
		warnings = append(warnings, fmt.Sprintf("spec.bundle.products: LicenseProduct %q does not exist (yet); seats of this bundle will not cover it until it does", m))
	}
	return errs, warnings
}
