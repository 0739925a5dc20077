package v1alpha1

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// SecretAccessReviewer says whether a user may get a Secret.
type SecretAccessReviewer interface {
	// MayGetSecret reports whether user may get Secret namespace/name, and
	// the authorizer's reason when it gives one.
	MayGetSecret(ctx context.Context, user authenticationv1.UserInfo, namespace, name string) (bool, string, error)
}

// LicenceCreateReviewer says whether a user may create SoftwareLicenses.
type LicenceCreateReviewer interface {
	// MayCreateLicences reports whether user may create SoftwareLicenses in namespace.
	MayCreateLicences(ctx context.Context, user authenticationv1.UserInfo, namespace string) (bool, error)
}

// SubjectAccessReviewer asks the API server with a SubjectAccessReview
// (authorization.k8s.io/v1): the user, groups, uid and extra of the
// admission request, exactly as the API server authenticated them.
type SubjectAccessReviewer struct {
	Client client.Client
}

// MayGetSecret implements SecretAccessReviewer.
func (r *SubjectAccessReviewer) MayGetSecret(ctx context.Context, user authenticationv1.UserInfo, namespace, name string) (bool, string, error) {
	return r.review(ctx, user, &authorizationv1.ResourceAttributes{
		Namespace: namespace, Verb: "get", Group: "", Version: "v1", Resource: "secrets", Name: name,
	})
}

// MayCreateLicences implements LicenceCreateReviewer.
func (r *SubjectAccessReviewer) MayCreateLicences(ctx context.Context, user authenticationv1.UserInfo, namespace string) (bool, error) {
	allowed, _, err := r.review(ctx, user, &authorizationv1.ResourceAttributes{
		Namespace: namespace, Verb: "create", Group: licensingv1alpha1.GroupVersion.Group,
		Version: licensingv1alpha1.GroupVersion.Version, Resource: "softwarelicenses",
	})
	return allowed, err
}

// review asks whether user may do what attrs say, and the authorizer's reason.
func (r *SubjectAccessReviewer) review(ctx context.Context, user authenticationv1.UserInfo, attrs *authorizationv1.ResourceAttributes) (bool, string, error) {
	sar := &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               user.Username,
			Groups:             user.Groups,
			UID:                user.UID,
			Extra:              extra(user.Extra),
			ResourceAttributes: attrs,
		},
	}
	if err := r.Client.Create(ctx, sar); err != nil {
		return false, "", err
	}
	return sar.Status.Allowed && !sar.Status.Denied, sar.Status.Reason, nil
}

func extra(in map[string]authenticationv1.ExtraValue) map[string]authorizationv1.ExtraValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]authorizationv1.ExtraValue, len(in))
	for k, v := range in {
		out[k] = authorizationv1.ExtraValue(v)
	}
	return out
}
