package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// LicenseProductReconciler computes the status of LicenseProducts: whether
// its policies and bundle members are consistent (Ready), and the count and
// seats of its licences. It is the only writer of that status. It protects a
// product whose licences' seats are held from deletion (ProductFinalizer,
// licensing.ProductDeletion).
type LicenseProductReconciler struct {
	client.Client
	// Clock stamps condition transitions.
	Clock clock.PassiveClock
	// Recorder emits the event of a deleted product that waits for its holders.
	Recorder events.EventRecorder
}

// EventProductHeldBySeats: a deleted product stays until the assignments
// holding seats of its licences are released (Warning; names the licences).
const EventProductHeldBySeats = "HeldBySeats"

// Reconcile computes the status of one product and patches it when it changed.
func (r *LicenseProductReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	product := &licensingv1alpha1.LicenseProduct{}
	if err := r.Get(ctx, req.NamespacedName, product); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	holders, err := r.protect(ctx, product)
	if err != nil || product.DeletionTimestamp != nil && len(holders) == 0 {
		return ctrl.Result{}, err
	}

	missing, err := r.missingBundleMembers(ctx, product)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Read-only, and a product may have thousands of licences: no deep copies.
	var licenses licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &licenses, client.MatchingFields{IndexLicenseProduct: product.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the licences of the product: %w", err)
	}

	uses, err := r.productUses(ctx, product)
	if err != nil {
		return ctrl.Result{}, err
	}
	status := computeProductStatus(product, productInputs{
		missingMembers: missing,
		licenses:       licenses.Items,
		uses:           uses,
		holders:        holders,
	}, r.Clock.Now())

	if equality.Semantic.DeepEqual(product.Status, status) {
		return ctrl.Result{}, nil
	}
	wasTerminating := meta.IsStatusConditionTrue(product.Status.Conditions, licensingv1alpha1.ConditionTerminating)
	patch := client.MergeFrom(product.DeepCopy())
	product.Status = status
	if err := r.Status().Patch(ctx, product, patch); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("patching the status: %w", err))
	}
	if c := meta.FindStatusCondition(status.Conditions, licensingv1alpha1.ConditionTerminating); c != nil && !wasTerminating && r.Recorder != nil {
		r.Recorder.Eventf(product, nil, corev1.EventTypeWarning, EventProductHeldBySeats, "CountSeats", "%s", c.Message)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Updated product status", "product", klog.KObj(product), "licenses", status.Licenses)
	return ctrl.Result{}, nil
}

// protect keeps ProductFinalizer on a product while assignments hold seats
// of its licences, and removes it from a product being deleted once none do
// (licensing.ProductDeletion). It returns the holders. The finalizer is
// added only once seats are held, and stays on a product that is not being
// deleted: a product nobody holds seats of is deleted at once.
func (r *LicenseProductReconciler) protect(ctx context.Context, product *licensingv1alpha1.LicenseProduct) ([]licensing.SeatHolder, error) {
	var licenses licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &licenses, client.MatchingFields{IndexLicenseCovers: product.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the licences of the product: %w", err)
	}
	var assignments []licensingv1alpha1.LicenseAssignment
	for i := range licenses.Items {
		var list licensingv1alpha1.LicenseAssignmentList
		key := LicenseKey(licenses.Items[i].Namespace, licenses.Items[i].Name)
		if err := r.List(ctx, &list, client.MatchingFields{IndexAssignmentLicense: key}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing the assignments of licence %s: %w", key, err)
		}
		assignments = append(assignments, list.Items...)
	}
	holders := licensing.ProductSeatHolders(product.Name, licenses.Items, assignments)
	has := controllerutil.ContainsFinalizer(product, licensingv1alpha1.ProductFinalizer)
	switch {
	case product.DeletionTimestamp == nil && len(holders) > 0 && !has:
		controllerutil.AddFinalizer(product, licensingv1alpha1.ProductFinalizer)
	case product.DeletionTimestamp != nil && has && licensing.ProductDeletion(len(holders)) == licensing.DeletionProceed:
		controllerutil.RemoveFinalizer(product, licensingv1alpha1.ProductFinalizer)
	default:
		return holders, nil
	}
	if err := r.Update(ctx, product); err != nil {
		return nil, client.IgnoreNotFound(fmt.Errorf("updating the seats-protection finalizer: %w", err))
	}
	ctrl.LoggerFrom(ctx).Info("Updated the seats-protection finalizer", "product", klog.KObj(product), "holders", len(holders),
		"deleting", product.DeletionTimestamp != nil)
	return holders, nil
}

// productInputs are what the status of a product is computed from besides
// the product itself.
type productInputs struct {
	// missingMembers are the bundle members that do not exist, quoted.
	missingMembers []string
	// licenses are the product's licences (IndexLicenseProduct).
	licenses []licensingv1alpha1.SoftwareLicense
	// uses is status.uses (nil for a product that is not freeToUse).
	uses *int32
	// holders hold seats of the product's licences.
	holders []licensing.SeatHolder
}

// computeProductStatus computes, from what Reconcile read and with no I/O,
// the whole status of a product at now.
func computeProductStatus(product *licensingv1alpha1.LicenseProduct, in productInputs, now time.Time) licensingv1alpha1.LicenseProductStatus {
	status := licensingv1alpha1.LicenseProductStatus{
		ObservedGeneration: product.Generation,
		Conditions:         append([]metav1.Condition(nil), product.Status.Conditions...),
		Licenses:           int32(len(in.licenses)),
		Seats:              sumSeats(in.licenses),
		Uses:               in.uses,
	}
	set := func(c metav1.Condition) {
		c.ObservedGeneration, c.LastTransitionTime = product.Generation, metav1.NewTime(now)
		meta.SetStatusCondition(&status.Conditions, c)
	}
	ready := productReadiness(product, in.missingMembers)
	set(ready)
	set(stalledCondition(ready))
	if product.DeletionTimestamp != nil {
		set(metav1.Condition{
			Type:    licensingv1alpha1.ConditionTerminating,
			Status:  metav1.ConditionTrue,
			Reason:  licensingv1alpha1.ReasonHeldBySeats,
			Message: licensing.ProductTerminatingMessage(licensing.ProductHolders(in.holders)),
		})
	}
	return status
}

// missingBundleMembers reads the members of a bundle product and returns
// those that do not exist, quoted.
func (r *LicenseProductReconciler) missingBundleMembers(ctx context.Context, product *licensingv1alpha1.LicenseProduct) ([]string, error) {
	if product.Spec.Bundle == nil {
		return nil, nil
	}
	var missing []string
	for _, name := range product.Spec.Bundle.Products {
		err := r.Get(ctx, types.NamespacedName{Name: name}, &licensingv1alpha1.LicenseProduct{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, fmt.Sprintf("%q", name))
		case err != nil:
			return nil, fmt.Errorf("reading bundle member %s: %w", name, err)
		}
	}
	return missing, nil
}

// productReadiness is the Ready condition: the default policy is one of the
// product's policies and every bundle member exists (missing lists those
// that do not).
func productReadiness(product *licensingv1alpha1.LicenseProduct, missing []string) metav1.Condition {
	c := metav1.Condition{Type: licensingv1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	if def := product.Spec.DefaultPolicy; def != "" && !hasPolicy(product, def) {
		c.Reason = licensingv1alpha1.ReasonPolicyNotFound
		c.Message = fmt.Sprintf("spec.defaultPolicy %q is not one of spec.policies", def)
		return c
	}
	if len(missing) > 0 {
		c.Reason = licensingv1alpha1.ReasonBundleMemberNotFound
		c.Message = fmt.Sprintf("Bundle members %s do not exist: create them or remove them from spec.bundle.products", strings.Join(missing, ", "))
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, licensingv1alpha1.ReasonResolved
	c.Message = fmt.Sprintf("%d policies", len(product.Spec.Policies))
	if product.Spec.Bundle != nil {
		c.Message += fmt.Sprintf(", bundle of %d products", len(product.Spec.Bundle.Products))
	}
	return c
}

func hasPolicy(product *licensingv1alpha1.LicenseProduct, code string) bool {
	for _, p := range product.Spec.Policies {
		if p.Code == code {
			return true
		}
	}
	return false
}

// sumSeats sums the seats of licences: total is absent when any licence is
// unlimited, used comes from the licences' statuses, and available is the
// sum of each licence's available seats (DESIGN.md: summed over its
// licences), so the seats one licence holds beyond its total never hide the
// free seats of another.
func sumSeats(licenses []licensingv1alpha1.SoftwareLicense) licensingv1alpha1.SeatCounts {
	var out licensingv1alpha1.SeatCounts
	var total, available int64
	unlimited := false
	for i := range licenses {
		l := &licenses[i]
		out.Used += l.Status.Seats.Used
		if l.Spec.Seats == nil {
			unlimited = true
		} else {
			total += int64(*l.Spec.Seats)
			available += int64(*licensing.AvailableSeats(l.Status.Seats.Used, l.Spec.Seats))
		}
	}
	if !unlimited {
		t, a := int32(min(total, int64(1<<31-1))), int32(min(available, int64(1<<31-1)))
		out.Total, out.Available = &t, &a
	}
	return out
}

// SetupWithManager registers the controller. Besides its products it
// watches licences (mapped to their product when their seats, product or
// used seats change) and products (mapped through IndexProductBundleMember to
// the bundles that include them, when they are created or deleted, so a
// bundle's Ready follows its members).
func (r *LicenseProductReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.watchProductUses(ctrl.NewControllerManagedBy(mgr)).
		For(&licensingv1alpha1.LicenseProduct{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&licensingv1alpha1.SoftwareLicense{}, handler.EnqueueRequestsFromMapFunc(productOfLicense),
			builder.WithPredicates(licenseSeatsChanged)).
		Watches(&licensingv1alpha1.LicenseProduct{}, handler.EnqueueRequestsFromMapFunc(r.bundlesOfProduct),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Watches(&licensingv1alpha1.LicenseAssignment{}, handler.EnqueueRequestsFromMapFunc(r.productsOfAssignment),
			builder.WithPredicates(assignmentHoldingChanged)).
		Named("licenseproduct").
		Complete(r)
}

func productOfLicense(_ context.Context, obj client.Object) []reconcile.Request {
	l, ok := obj.(*licensingv1alpha1.SoftwareLicense)
	if !ok {
		return nil
	}
	return productRequests(l)
}

// productRequests are the products a seat of the licence is a seat of.
func productRequests(l *licensingv1alpha1.SoftwareLicense) []reconcile.Request {
	covers := licenseCovers(l)
	reqs := make([]reconcile.Request, 0, len(covers))
	for _, p := range covers {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: p}})
	}
	return reqs
}

// productsOfAssignment maps an assignment to the products of the licence it
// holds seats of: their deletion protection counts it.
func (r *LicenseProductReconciler) productsOfAssignment(ctx context.Context, obj client.Object) []reconcile.Request {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok {
		return nil
	}
	ns, name, found := cutKey(a.Status.License)
	if !found {
		return nil
	}
	var l licensingv1alpha1.SoftwareLicense
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &l); err != nil {
		return nil
	}
	return productRequests(&l)
}

// assignmentHoldingChanged passes assignment events that change whether it
// holds seats of a licence: creations, deletions, and updates of
// status.state or status.license.
var assignmentHoldingChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licensingv1alpha1.LicenseAssignment)
		n, ok2 := e.ObjectNew.(*licensingv1alpha1.LicenseAssignment)
		if !ok1 || !ok2 {
			return true
		}
		return o.Status.State != n.Status.State || o.Status.License != n.Status.License ||
			!o.DeletionTimestamp.Equal(n.DeletionTimestamp)
	},
}

// bundlesOfProduct maps a product to the bundles that include it.
func (r *LicenseProductReconciler) bundlesOfProduct(ctx context.Context, obj client.Object) []reconcile.Request {
	var bundles licensingv1alpha1.LicenseProductList
	if err := r.List(ctx, &bundles, client.MatchingFields{IndexProductBundleMember: obj.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the bundles of a product", "product", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(bundles.Items))
	for i := range bundles.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: bundles.Items[i].Name}})
	}
	return reqs
}

// licenseSeatsChanged passes licence updates that change what a product counts.
var licenseSeatsChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licensingv1alpha1.SoftwareLicense)
		n, ok2 := e.ObjectNew.(*licensingv1alpha1.SoftwareLicense)
		if !ok1 || !ok2 {
			return true
		}
		return !equality.Semantic.DeepEqual(o.Spec.Seats, n.Spec.Seats) ||
			!equality.Semantic.DeepEqual(o.Spec.ProductRef, n.Spec.ProductRef) ||
			o.Status.Seats.Used != n.Status.Seats.Used
	},
}
