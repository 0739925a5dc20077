package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// These tests run the licence-managers reconciler against the fake client
// and assert the RoleBinding it leaves; test/integration/security asks the
// real API server's RBAC what the binding grants.

func licenceWithUsers(users ...v1.LicenseUser) *v1.SoftwareLicense {
	l := ut.MakeLicense("cad", "ns").Obj()
	l.UID = "licence-uid"
	l.Spec.Users = users
	return l
}

func managerBinding(t *testing.T, owner *v1.SoftwareLicense, roleRef string, subjects ...string) *rbacv1.RoleBinding {
	t.Helper()
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cad-managers", Namespace: "ns", Labels: map[string]string{licensing.ManagerBindingLabel: "true"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleRef},
	}
	for _, s := range subjects {
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: s})
	}
	if owner != nil {
		if err := controllerutil.SetControllerReference(owner, rb, testScheme(t)); err != nil {
			t.Fatal(err)
		}
	}
	return rb
}

func TestLicenseManagersReconciler(t *testing.T) {
	managers := licenceWithUsers(v1.LicenseUser{Email: "zed@example.com", Manager: true}, v1.LicenseUser{Email: "bob@example.com"}, v1.LicenseUser{Email: "ann@example.com", Manager: true})
	noManagers := licenceWithUsers(v1.LicenseUser{Email: "bob@example.com"})
	deleting := licenceWithUsers(v1.LicenseUser{Email: "ann@example.com", Manager: true})
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	deleting.Finalizers = []string{v1.LicenseFinalizer}
	role := licensing.ManagerClusterRole
	cases := map[string]struct {
		objs   []client.Object
		prefix string
		// want is the subjects of the binding afterwards; nil: no binding.
		want      []string
		wantRole  string
		wantEvent string
	}{
		"managers: a binding of them, sorted": {
			objs: []client.Object{managers}, want: []string{"ann@example.com", "zed@example.com"}, wantRole: role,
		},
		"the username prefix": {
			objs: []client.Object{managers}, prefix: "oidc:", want: []string{"oidc:ann@example.com", "oidc:zed@example.com"}, wantRole: role,
		},
		"no managers: no binding": {objs: []client.Object{noManagers}},
		"a manager added": {
			objs: []client.Object{managers, managerBinding(t, managers, role, "ann@example.com")},
			want: []string{"ann@example.com", "zed@example.com"}, wantRole: role,
		},
		"a subject someone added is removed": {
			objs: []client.Object{managers, managerBinding(t, managers, role, "ann@example.com", "mallory", "zed@example.com")},
			want: []string{"ann@example.com", "zed@example.com"}, wantRole: role,
		},
		"the last manager gone: the binding is deleted": {
			objs: []client.Object{noManagers, managerBinding(t, noManagers, role, "ann@example.com")},
		},
		"a changed roleRef: the binding is replaced": {
			objs: []client.Object{managers, managerBinding(t, managers, "cluster-admin", "ann@example.com", "zed@example.com")},
			want: []string{"ann@example.com", "zed@example.com"}, wantRole: role,
		},
		"a binding of that name not the licence's: left alone, and an event says so": {
			objs: []client.Object{managers, managerBinding(t, nil, "view", "someone")},
			want: []string{"someone"}, wantRole: "view", wantEvent: "Warning ManagersBindingConflict RoleBinding cad-managers exists and does not belong to this licence",
		},
		"a licence being deleted keeps its binding until the garbage collector takes it": {
			objs: []client.Object{deleting, managerBinding(t, deleting, role, "ann@example.com")},
			want: []string{"ann@example.com"}, wantRole: role,
		},
		"a licence that is gone: nothing": {},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cl := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(c.objs...).Build()
			rec := events.NewFakeRecorder(10)
			r := &LicenseManagersReconciler{Client: cl, APIReader: cl, Scheme: testScheme(t), UsernamePrefix: c.prefix, Recorder: rec}
			res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "cad"}})
			if err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
			if res != (ctrl.Result{}) {
				t.Errorf("result %+v: the binding needs no requeue, only the watches", res)
			}
			rb := &rbacv1.RoleBinding{}
			err = cl.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "cad-managers"}, rb)
			if c.want == nil {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("want no binding, got %+v (%v)", rb, err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, s := range rb.Subjects {
					if s.Kind != rbacv1.UserKind || s.APIGroup != rbacv1.GroupName {
						t.Errorf("subject %+v is not a User", s)
					}
					got = append(got, s.Name)
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("subjects (-want +got):\n%s", diff)
				}
				if rb.RoleRef.Name != c.wantRole || rb.RoleRef.Kind != "ClusterRole" {
					t.Errorf("roleRef %+v, want ClusterRole %s", rb.RoleRef, c.wantRole)
				}
				if c.wantRole == role {
					if owner := metav1.GetControllerOf(rb); owner == nil || owner.UID != "licence-uid" || owner.Kind != "SoftwareLicense" {
						t.Errorf("controller %+v, want the licence", owner)
					}
					if rb.Labels[licensing.ManagerBindingLabel] != "true" {
						t.Errorf("labels %v: the operator's cache holds only labelled bindings", rb.Labels)
					}
				}
			}
			select {
			case e := <-rec.Events:
				if c.wantEvent == "" || !strings.HasPrefix(e, c.wantEvent) {
					t.Errorf("event %q, want %q", e, c.wantEvent)
				}
			default:
				if c.wantEvent != "" {
					t.Errorf("no event, want %q", c.wantEvent)
				}
			}
		})
	}
}
