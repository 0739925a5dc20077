package controller

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The operator binds licence managers to one predefined ClusterRole, so it
// needs bind on that role alone (never escalate), and to keep the bindings.
//
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=license-operator-license-manager

// EventManagersBindingConflict, on a licence: a RoleBinding of the name its
// managers' binding needs exists and is not the licence's (Warning).
const EventManagersBindingConflict = "ManagersBindingConflict"

// LicenseManagersReconciler keeps, for each licence with managers
// (spec.users[].manager), a RoleBinding in the licence's namespace owned by
// the licence that binds licensing.ManagerClusterRole to them: the binding
// follows the licence's managers, goes when it has none (and, through the
// garbage collector, with the licence), and is put back when someone else
// changes it. It writes nothing else; the SoftwareLicense reconciler owns the
// licence's status.
type LicenseManagersReconciler struct {
	client.Client
	// APIReader reads a binding the cache does not hold (its label was removed).
	APIReader client.Reader
	Scheme    *runtime.Scheme
	// UsernamePrefix is what the API server puts before a licence user's
	// email in their username (--username-prefix).
	UsernamePrefix string
	Recorder       events.EventRecorder
}

// Reconcile implements reconcile.Reconciler.
func (r *LicenseManagersReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	lic := &licensingv1alpha1.SoftwareLicense{}
	if err := r.Get(ctx, req.NamespacedName, lic); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !lic.DeletionTimestamp.IsZero() {
		// The managers keep managing while the licence is Terminating; the
		// garbage collector removes the binding after it.
		return ctrl.Result{}, nil
	}
	want, err := r.desired(lic)
	if err != nil {
		return ctrl.Result{}, err
	}
	have := &rbacv1.RoleBinding{}
	err = r.Get(ctx, client.ObjectKeyFromObject(want), have)
	if apierrors.IsNotFound(err) {
		if len(want.Subjects) == 0 {
			return ctrl.Result{}, nil
		}
		if err = r.Create(ctx, want); err == nil {
			log.Info("Created the RoleBinding of the licence managers", "roleBinding", klog.KObj(want), "managers", len(want.Subjects))
			return ctrl.Result{}, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
		// Not in the cache, which holds only labelled bindings: read it.
		err = r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have)
	}
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(have, lic) {
		r.Recorder.Eventf(lic, nil, corev1.EventTypeWarning, EventManagersBindingConflict, "BindManagers",
			"RoleBinding %s exists and does not belong to this licence, so its managers are not bound: rename or delete that RoleBinding", have.Name)
		return ctrl.Result{}, nil
	}
	switch {
	case len(want.Subjects) == 0:
		log.Info("Deleting the RoleBinding of the licence managers: the licence has none", "roleBinding", klog.KObj(have))
		return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, have, client.Preconditions{UID: &have.UID}))
	case have.RoleRef != want.RoleRef:
		// roleRef is immutable: replace the binding.
		log.Info("Replacing the RoleBinding of the licence managers: its roleRef was changed", "roleBinding", klog.KObj(have))
		if err := r.Delete(ctx, have, client.Preconditions{UID: &have.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.Create(ctx, want)
	case !equality.Semantic.DeepEqual(have.Subjects, want.Subjects) || !hasLabels(have.Labels, want.Labels):
		log.Info("Updating the RoleBinding of the licence managers", "roleBinding", klog.KObj(have), "managers", len(want.Subjects))
		have.Subjects = want.Subjects
		if have.Labels == nil {
			have.Labels = map[string]string{}
		}
		maps.Copy(have.Labels, want.Labels)
		return ctrl.Result{}, r.Update(ctx, have)
	}
	return ctrl.Result{}, nil
}

// desired is the RoleBinding of the licence's managers, owned by the licence.
func (r *LicenseManagersReconciler) desired(lic *licensingv1alpha1.SoftwareLicense) (*rbacv1.RoleBinding, error) {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name:      licensing.ManagerBindingName(lic.Name),
			Namespace: lic.Namespace,
			Labels:    map[string]string{licensing.ManagerBindingLabel: licensing.ManagerBindingLabelValue},
		},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: licensing.ManagerClusterRole},
		Subjects: licensing.ManagerSubjects(lic, r.UsernamePrefix),
	}
	if err := controllerutil.SetControllerReference(lic, rb, r.Scheme); err != nil {
		return nil, fmt.Errorf("owning the managers' RoleBinding: %w", err)
	}
	return rb, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// SetupWithManager registers the reconciler: licences whose spec changed,
// and the RoleBindings they own (a binding someone else edits or deletes is
// put back).
func (r *LicenseManagersReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("softwarelicense-managers").
		For(&licensingv1alpha1.SoftwareLicense{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&rbacv1.RoleBinding{}).
		Complete(r)
}
