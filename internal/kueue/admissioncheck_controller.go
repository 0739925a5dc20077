package kueue

import (
	"context"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"
	kueueac "sigs.k8s.io/kueue/client-go/applyconfiguration/kueue/v1beta2"
)

// Reasons of the Active condition of the operator's AdmissionChecks.
const (
	// ReasonActive: the operator reserves seats for the check.
	ReasonActive = "Active"
)

// activeMessage is the Active condition's message.
const activeMessage = "license-operator reserves licence seats for the Workloads of the ClusterQueues that list this check (docs/kueue.md)"

// AdmissionCheckReconciler keeps the condition Active=True on every
// AdmissionCheck whose controllerName is ControllerName while the operator
// runs: Kueue deactivates a ClusterQueue whose checks are not active. It
// writes only that condition, with a server-side apply of its own field
// manager.
type AdmissionCheckReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
}

// SetupWithManager registers the controller.
func (r *AdmissionCheckReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		ac, ok := o.(*kueuev1beta2.AdmissionCheck)
		return ok && ac.Spec.ControllerName == ControllerName
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("kueue-admissioncheck").
		For(&kueuev1beta2.AdmissionCheck{}, builder.WithPredicates(ours)).
		Complete(r)
}

// Reconcile sets Active=True on the check when it is not already.
func (r *AdmissionCheckReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ac := &kueuev1beta2.AdmissionCheck{}
	if err := r.Client.Get(ctx, req.NamespacedName, ac); err != nil || ac.Spec.ControllerName != ControllerName {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cur := apimeta.FindStatusCondition(ac.Status.Conditions, kueuev1beta2.AdmissionCheckActive)
	if cur != nil && cur.Status == metav1.ConditionTrue && cur.Reason == ReasonActive && cur.ObservedGeneration == ac.Generation {
		return ctrl.Result{}, nil
	}
	since := metav1.NewTime(r.Clock.Now())
	if cur != nil && cur.Status == metav1.ConditionTrue {
		since = cur.LastTransitionTime
	}
	apply := kueueac.AdmissionCheck(ac.Name).WithUID(ac.UID).WithStatus(kueueac.AdmissionCheckStatus().WithConditions(
		metav1ac.Condition().WithType(kueuev1beta2.AdmissionCheckActive).WithStatus(metav1.ConditionTrue).
			WithReason(ReasonActive).WithMessage(activeMessage).WithObservedGeneration(ac.Generation).
			WithLastTransitionTime(since)))
	if err := r.Client.Status().Apply(ctx, apply, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("Marked the AdmissionCheck Active", "admissionCheck", ac.Name)
	return ctrl.Result{}, nil
}
