package diagnose

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// view is what the webhook decides a workload of one namespace with, as
// far as the reader may read it: the products, the licences the
// namespace's assignments are bound to and those of other namespaces it
// may list, the namespace's assignments and labels. It is read from the
// objects' status, never from the seat ledgers.
type view struct {
	namespace   string
	products    []licensingv1alpha1.LicenseProduct
	licences    []licensingv1alpha1.SoftwareLicense
	assignments []licensingv1alpha1.LicenseAssignment
	nsLabels    map[string]string
}

// readView reads the view of namespace. Objects the reader may not list
// are left out (the products, the licences of other namespaces, the
// namespace's labels); what it cannot do without (the assignments of the
// namespace) is an error.
func readView(ctx context.Context, r client.Reader, namespace string) (*view, error) {
	v := &view{namespace: namespace}
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.List(ctx, products); err == nil {
		v.products = products.Items
	} else if !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("listing LicenseProducts: %w", err)
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	if err := r.List(ctx, asgs, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing the LicenseAssignments of namespace %s: %w", namespace, err)
	}
	v.assignments = asgs.Items
	licences := &licensingv1alpha1.SoftwareLicenseList{}
	err := r.List(ctx, licences)
	if apierrors.IsForbidden(err) {
		// Only the namespace's own, and those its assignments are bound to.
		err = r.List(ctx, licences, client.InNamespace(namespace))
	}
	if err != nil {
		return nil, fmt.Errorf("listing SoftwareLicenses: %w", err)
	}
	v.licences = licences.Items
	for _, a := range v.assignments {
		if a.Status.License != "" && v.licence(a.Status.License) == nil {
			ns, name, _ := strings.Cut(a.Status.License, "/")
			l := &licensingv1alpha1.SoftwareLicense{}
			if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, l); err == nil {
				v.licences = append(v.licences, *l)
			}
		}
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, types.NamespacedName{Name: namespace}, ns); err == nil {
		v.nsLabels = ns.Labels
	}
	return v, nil
}

// licence is the licence of key namespace/name, or nil.
func (v *view) licence(key string) *licensingv1alpha1.SoftwareLicense {
	i := slices.IndexFunc(v.licences, func(l licensingv1alpha1.SoftwareLicense) bool { return licensing.LicenseKey(&l) == key })
	if i < 0 {
		return nil
	}
	return &v.licences[i]
}

// assignment is the namespace's assignment named name, or nil.
func (v *view) assignment(name string) *licensingv1alpha1.LicenseAssignment {
	i := slices.IndexFunc(v.assignments, func(a licensingv1alpha1.LicenseAssignment) bool { return a.Name == name })
	if i < 0 {
		return nil
	}
	return &v.assignments[i]
}

// product is the product named name, or nil.
func (v *view) product(name string) *licensingv1alpha1.LicenseProduct {
	i := slices.IndexFunc(v.products, func(p licensingv1alpha1.LicenseProduct) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &v.products[i]
}

// needs are the products w needs a seat of (licensing.RequiredProducts).
func (v *view) needs(w *licensing.Workload) []licensing.ProductNeed {
	return licensing.RequiredProducts(w, v.products)
}

// covers are the covers of w for product, as the webhook finds them
// (licensing.FindCovers), from the status it reads.
func (v *view) covers(w *licensing.Workload, product string) []licensing.Cover {
	var auth licensingv1alpha1.AuthorizationMethod
	if p := v.product(product); p != nil {
		auth = p.Spec.Authorization
	}
	covers, _ := licensing.FindCovers(licensing.CoverageInput{
		Workload: w, Product: product, NamespaceLabels: v.nsLabels,
		Licenses: v.licences, Assignments: v.assignments, Authorization: auth,
	})
	return covers
}

// lineCover is the cover of the line a WaitingForSeat event names: its
// assignment and licence as their status has them (a bare assignment of
// that name when the reader cannot find it).
func (v *view) lineCover(ev licensing.WaitingEvent) licensing.Cover {
	c := licensing.Cover{Product: ev.Product, Counted: true, License: v.licence(ev.Licence), Assignment: v.assignment(ev.Assignment)}
	if c.License == nil && ev.Licence == "" && c.Assignment != nil {
		// The queue controller had not found the licence: the assignment's.
		c.License = v.licence(c.Assignment.Status.License)
	}
	if c.Assignment == nil {
		c.Assignment = &licensingv1alpha1.LicenseAssignment{}
		c.Assignment.Name, c.Assignment.Namespace = ev.Assignment, v.namespace
	}
	c.Seats = licensing.AssignmentSeats(c.Assignment)
	if c.License != nil {
		c.SeatModel, c.Enforcement = licensing.SeatModelOf(c.License.Status.EffectivePolicy), licensing.EnforcementOf(c.License)
	}
	return c
}
