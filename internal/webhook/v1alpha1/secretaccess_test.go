package v1alpha1

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// fakeAccess allows the Secrets in allowed and records what it was asked.
type fakeAccess struct {
	allowed map[string]bool
	asked   []string
}

func (f *fakeAccess) MayGetSecret(_ context.Context, user authenticationv1.UserInfo, namespace, name string) (bool, string, error) {
	f.asked = append(f.asked, user.Username+" "+namespace+"/"+name)
	return f.allowed[name], "", nil
}

func TestSoftwareLicenseSecretAccess(t *testing.T) {
	reqCtx := func(op admissionv1.Operation) context.Context {
		return admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: op, UserInfo: authenticationv1.UserInfo{Username: "mallory", Groups: []string{"tenants"}},
		}})
	}
	withKey := func(name, key string) *licensingv1alpha1.SoftwareLicense {
		return utiltesting.MakeLicense("l", "team-a").KeySecret(name, key).Obj()
	}
	cases := map[string]struct {
		op        admissionv1.Operation
		old, cur  *licensingv1alpha1.SoftwareLicense
		wantAsked int
		wantErr   string
	}{
		"create naming a Secret she may not get": {op: admissionv1.Create, cur: withKey("db-password", ""), wantAsked: 1,
			wantErr: `spec.key.secretRef.name: Forbidden: user "mallory" may not get Secret "db-password" in namespace "team-a"`},
		"create naming a Secret she may get": {op: admissionv1.Create, cur: withKey("vendor-key", ""), wantAsked: 1},
		"create without a key":               {op: admissionv1.Create, cur: utiltesting.MakeLicense("l", "team-a").Obj()},
		"update keeping the reference": {op: admissionv1.Update, old: withKey("db-password", ""), cur: func() *licensingv1alpha1.SoftwareLicense {
			l := withKey("db-password", "")
			l.Spec.Tags = []string{"x"}
			return l
		}()},
		"update of a licence being deleted pointing at another Secret": {op: admissionv1.Update, old: withKey("vendor-key", ""),
			cur: func() *licensingv1alpha1.SoftwareLicense {
				l := withKey("db-password", "")
				l.DeletionTimestamp = &metav1.Time{}
				return l
			}(), wantAsked: 1, wantErr: `may not get Secret "db-password"`},
		"update pointing at another Secret": {op: admissionv1.Update, old: withKey("vendor-key", ""), cur: withKey("db-password", ""), wantAsked: 1,
			wantErr: `may not get Secret "db-password"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			access := &fakeAccess{allowed: map[string]bool{"vendor-key": true}}
			v := &SoftwareLicenseCustomValidator{Access: access}
			var err error
			if tc.old == nil {
				_, err = v.ValidateCreate(reqCtx(tc.op), tc.cur)
			} else {
				_, err = v.ValidateUpdate(reqCtx(tc.op), tc.old, tc.cur)
			}
			if len(access.asked) != tc.wantAsked {
				t.Errorf("asked %v, want %d reviews", access.asked, tc.wantAsked)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
