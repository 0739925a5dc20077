package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// NodeVMLabeler labels Nodes whose spec.providerID names a cloud virtual
// machine (licensing.NeedsVirtualMachineLabel) with
// licensingv1alpha1.VirtualMachineLabel=true, so that preventVM keeps Pods
// and NodeLocked seats off them. It runs only with --label-vm-nodes, because
// it needs `patch nodes` (config/rbac/node-vm-labeler, not part of the
// default role). It only ever adds the label: a label an operator set, to
// any value, is left as it is, and it never removes one.
type NodeVMLabeler struct {
	client.Client
}

// Reconcile labels one node when it needs the label.
func (r *NodeVMLabeler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var node corev1.Node
	if err := r.Get(ctx, req.NamespacedName, &node); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !licensing.NeedsVirtualMachineLabel(&node) {
		return ctrl.Result{}, nil
	}
	// A merge patch guarded by the resourceVersion: a label an operator
	// added since the cached read is never overwritten.
	base := node.DeepCopy()
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels[licensingv1alpha1.VirtualMachineLabel] = licensing.VirtualMachineLabelValue
	if err := r.Patch(ctx, &node, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("labelling node %s a virtual machine: %w", node.Name, err))
	}
	ctrl.LoggerFrom(ctx).Info("Labelled a cloud virtual-machine node", "node", klog.KObj(&node),
		"providerID", node.Spec.ProviderID, "label", licensingv1alpha1.VirtualMachineLabel)
	return ctrl.Result{}, nil
}

// SetupWithManager registers the labeller. It sees only nodes that need the label.
func (r *NodeVMLabeler) SetupWithManager(mgr ctrl.Manager) error {
	needs := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		n, ok := obj.(*corev1.Node)
		return ok && licensing.NeedsVirtualMachineLabel(n)
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Node{}, builder.WithPredicates(needs, predicate.Funcs{
			DeleteFunc: func(event.DeleteEvent) bool { return false },
		})).
		Named("node-vm-labeler").
		Complete(r)
}
