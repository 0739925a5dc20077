package v1alpha1

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// fakeCreateAccess answers whether a user may create licences and records
// what it was asked.
type fakeCreateAccess struct {
	may   bool
	asked []string
}

func (f *fakeCreateAccess) MayCreateLicences(_ context.Context, user authenticationv1.UserInfo, namespace string) (bool, error) {
	f.asked = append(f.asked, user.Username+" "+strings.Join(user.Groups, ",")+" "+namespace)
	return f.may, nil
}

// TestAssignmentManagerInputs checks what the webhook gathers for
// licensing.ManagerLimit: the managers of the namespace's licences and of a
// shared licence elsewhere, matched with the username prefix, and a review
// asked with the requester's identity only when the answer matters.
func TestAssignmentManagerInputs(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := licensingv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mine := utiltesting.MakeLicense("cad", "team").Obj()
	mine.Spec.Users = []licensingv1alpha1.LicenseUser{{Email: "ann@example.com", Manager: true}}
	shared := utiltesting.MakeLicense("cad", "vendor").SharedWithAll().Obj()
	shared.Spec.Users = []licensingv1alpha1.LicenseUser{{Email: "bob@example.com", Manager: true}}
	other := utiltesting.MakeLicense("other", "team").Obj()
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(mine, shared, other).Build()
	cases := map[string]struct {
		user      string
		a         *licensingv1alpha1.LicenseAssignment
		may       bool
		wantAsked int
		wantErr   string
	}{
		"a manager, own licence: no review":            {user: "oidc:ann@example.com", a: utiltesting.MakeAssignment("x", "team").License("cad").Obj()},
		"a manager, another licence: reviewed":         {user: "oidc:ann@example.com", a: utiltesting.MakeAssignment("x", "team").License("other").Obj(), wantAsked: 1, wantErr: "spec.licenseRef: Forbidden"},
		"a manager who may create licences":            {user: "oidc:ann@example.com", a: utiltesting.MakeAssignment("x", "team").License("other").Obj(), may: true, wantAsked: 1},
		"the email without the prefix is not her":      {user: "ann@example.com", a: utiltesting.MakeAssignment("x", "team").License("other").Obj()},
		"not a manager: no review":                     {user: "oidc:carol@example.com", a: utiltesting.MakeAssignment("x", "team").Product("cad").Obj()},
		"manager of the shared licence it names":       {user: "oidc:bob@example.com", a: utiltesting.MakeAssignment("x", "team").License("cad", "vendor").Obj()},
		"manager of a shared licence, a productRef":    {user: "oidc:bob@example.com", a: utiltesting.MakeAssignment("x", "team").Product("cad").Obj()},
		"manager of a shared licence, a local licence": {user: "oidc:bob@example.com", a: utiltesting.MakeAssignment("x", "team").License("other").Obj()},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			access := &fakeCreateAccess{may: tc.may}
			v := &LicenseAssignmentCustomValidator{Reader: reader, Access: access, UsernamePrefix: "oidc:"}
			ctx := admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
				Operation: admissionv1.Create, UserInfo: authenticationv1.UserInfo{Username: tc.user, Groups: []string{"staff"}},
			}})
			err := v.validateManager(ctx, nil, tc.a)
			if len(access.asked) != tc.wantAsked {
				t.Errorf("asked %v, want %d reviews", access.asked, tc.wantAsked)
			}
			for _, q := range access.asked {
				if q != tc.user+" staff team" {
					t.Errorf("asked %q, want the requester's identity in the assignment's namespace", q)
				}
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
