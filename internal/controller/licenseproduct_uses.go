package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// productUses is status.uses of a freeToUse product (licensing.ProductUses),
// recounted from the Pods every pass; nil for other products.
func (r *LicenseProductReconciler) productUses(ctx context.Context, product *licensingv1alpha1.LicenseProduct) (*int32, error) {
	if !licensing.FreeToUse(product) {
		return nil, nil
	}
	var products licensingv1alpha1.LicenseProductList
	if err := r.List(ctx, &products, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the products: %w", err)
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Pods: %w", err)
	}
	return licensing.ProductUses(product, products.Items, pods.Items), nil
}

// watchProductUses reconciles the freeToUse products a Pod needs when it is
// created, finishes or is deleted.
func (r *LicenseProductReconciler) watchProductUses(b *builder.Builder) *builder.Builder {
	changes := predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod)
			return licensing.PodTerminal(o) != licensing.PodTerminal(n)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return b.Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.freeProductsOfPod), builder.WithPredicates(changes))
}

// freeProductsOfPod are the freeToUse products the Pod needs.
func (r *LicenseProductReconciler) freeProductsOfPod(ctx context.Context, obj client.Object) []reconcile.Request {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	var products licensingv1alpha1.LicenseProductList
	if err := r.List(ctx, &products, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	w := licensing.WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
	var out []reconcile.Request
	for _, need := range licensing.RequiredProducts(&w, products.Items) {
		for i := range products.Items {
			if products.Items[i].Name == need.Product && licensing.FreeToUse(&products.Items[i]) {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: need.Product}})
			}
		}
	}
	return out
}
