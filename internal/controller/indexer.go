package controller

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Field index keys: every index the controllers query, registered in one
// place (SetupIndexes). A namespaced object's index is queried across all
// namespaces or, with client.InNamespace, within one.
const (
	// IndexAssignmentLicense indexes LicenseAssignments by the licence they
	// are bound to: status.license, "namespace/name".
	IndexAssignmentLicense = "status.license"
	// IndexAssignmentLicenseRef indexes LicenseAssignments by the licence
	// their spec.licenseRef names, "namespace/name" (the namespace defaults to
	// the assignment's own).
	IndexAssignmentLicenseRef = "spec.licenseRef"
	// IndexLicenseProduct indexes SoftwareLicenses by spec.productRef.name.
	IndexLicenseProduct = "spec.productRef.name"
	// IndexLicenseKeySecret indexes SoftwareLicenses by the name of the
	// Secret their spec.key.secretRef names (in the licence's namespace).
	IndexLicenseKeySecret = "spec.key.secretRef.name"
	// IndexAssignmentProduct indexes LicenseAssignments by the product their
	// spec.productRef names.
	IndexAssignmentProduct = "spec.productRef.name"
	// IndexLicenseCovers indexes SoftwareLicenses by every product a seat of
	// them is a seat of: status.product.covers and spec.productRef.name. The
	// licences a productRef assignment may draw from.
	IndexLicenseCovers = "status.product.covers"
	// IndexLicenseSharing indexes SoftwareLicenses by spec.sharing.from
	// (Namespace when unset), so a namespace's label change reaches the
	// licences shared by selector.
	IndexLicenseSharing = "spec.sharing.from"
	// IndexAssignmentNode indexes LicenseAssignments by the Node they name:
	// spec.assignee.node.name and status.boundAssignee.node.name, so that a
	// Node's change reaches the licences of its NodeLocked assignments.
	IndexAssignmentNode = "spec.assignee.node.name"
	// IndexProductBundleMember indexes LicenseProducts by each product their
	// spec.bundle.products includes.
	IndexProductBundleMember = "spec.bundle.products"
	// IndexLedgerAssignment indexes SeatLedgers by the assignment whose
	// seats and line they hold (spec.assignment, a name in the ledger's
	// namespace); use ledgers (spec.license) are not indexed. Queried with
	// client.InNamespace.
	IndexLedgerAssignment = "spec.assignment"
)

// Index is one field index: the key, the kind it indexes and how.
type Index struct {
	// Object is an empty object of the indexed kind.
	Object client.Object
	// Field is the index key, one of the Index* constants.
	Field string
	// Extract returns the values an object is indexed under.
	Extract client.IndexerFunc
}

// Indexes lists every field index of the controllers. SetupIndexes
// registers them with a manager; reconciler tests give them to the fake
// client (fake.ClientBuilder.WithIndex) so both query the same indexes.
func Indexes() []Index {
	return []Index{
		{&licensingv1alpha1.LicenseAssignment{}, IndexAssignmentLicense, assignmentLicense},
		{&licensingv1alpha1.LicenseAssignment{}, IndexAssignmentLicenseRef, assignmentLicenseRef},
		{&licensingv1alpha1.SoftwareLicense{}, IndexLicenseProduct, licenseProduct},
		{&licensingv1alpha1.SoftwareLicense{}, IndexLicenseKeySecret, licenseKeySecret},
		{&licensingv1alpha1.LicenseProduct{}, IndexProductBundleMember, productBundleMembers},
		{&licensingv1alpha1.LicenseAssignment{}, IndexAssignmentProduct, assignmentProduct},
		{&licensingv1alpha1.SoftwareLicense{}, IndexLicenseCovers, licenseCoversIndex},
		{&licensingv1alpha1.SoftwareLicense{}, IndexLicenseSharing, licenseSharing},
		{&licensingv1alpha1.LicenseAssignment{}, IndexAssignmentNode, assignmentNode},
		{&licensingv1alpha1.SeatLedger{}, IndexLedgerAssignment, ledgerAssignment},
	}
}

// SetupIndexes registers every field index of Indexes with indexer
// (mgr.GetFieldIndexer()).
func SetupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	for _, ix := range Indexes() {
		if err := indexer.IndexField(ctx, ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	return nil
}

// LicenseKey is the value IndexAssignmentLicense and IndexAssignmentLicenseRef
// index a licence under: "namespace/name".
func LicenseKey(namespace, name string) string { return namespace + "/" + name }

func assignmentLicense(obj client.Object) []string {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok || a.Status.License == "" {
		return nil
	}
	return []string{a.Status.License}
}

func assignmentLicenseRef(obj client.Object) []string {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok || a.Spec.LicenseRef == nil {
		return nil
	}
	return []string{LicenseRefKey(a)}
}

// LicenseRefKey is "namespace/name" of the licence an assignment's
// spec.licenseRef names, or "" when it names none.
func LicenseRefKey(a *licensingv1alpha1.LicenseAssignment) string {
	ref := a.Spec.LicenseRef
	if ref == nil {
		return ""
	}
	ns := ref.Namespace
	if ns == "" {
		ns = a.Namespace
	}
	return LicenseKey(ns, ref.Name)
}

func licenseProduct(obj client.Object) []string {
	l, ok := obj.(*licensingv1alpha1.SoftwareLicense)
	if !ok || l.Spec.ProductRef == nil {
		return nil
	}
	return []string{l.Spec.ProductRef.Name}
}

func licenseKeySecret(obj client.Object) []string {
	l, ok := obj.(*licensingv1alpha1.SoftwareLicense)
	if !ok || l.Spec.Key == nil {
		return nil
	}
	return []string{l.Spec.Key.SecretRef.Name}
}

func productBundleMembers(obj client.Object) []string {
	p, ok := obj.(*licensingv1alpha1.LicenseProduct)
	if !ok || p.Spec.Bundle == nil {
		return nil
	}
	return p.Spec.Bundle.Products
}

func assignmentProduct(obj client.Object) []string {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok || a.Spec.ProductRef == nil {
		return nil
	}
	return []string{a.Spec.ProductRef.Name}
}

func licenseCoversIndex(obj client.Object) []string {
	l, ok := obj.(*licensingv1alpha1.SoftwareLicense)
	if !ok {
		return nil
	}
	return licenseCovers(l)
}

func licenseSharing(obj client.Object) []string {
	l, ok := obj.(*licensingv1alpha1.SoftwareLicense)
	if !ok {
		return nil
	}
	if l.Spec.Sharing == nil || l.Spec.Sharing.From == "" {
		return []string{string(licensingv1alpha1.NamespacesFromNamespace)}
	}
	return []string{string(l.Spec.Sharing.From)}
}

func assignmentNode(obj client.Object) []string {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok {
		return nil
	}
	var out []string
	for _, as := range []*licensingv1alpha1.Assignee{&a.Spec.Assignee, a.Status.BoundAssignee} {
		if as != nil && as.Node != nil && (len(out) == 0 || out[0] != as.Node.Name) {
			out = append(out, as.Node.Name)
		}
	}
	return out
}

func ledgerAssignment(obj client.Object) []string {
	l, ok := obj.(*licensingv1alpha1.SeatLedger)
	if !ok || l.Spec.Assignment == "" {
		return nil
	}
	return []string{l.Spec.Assignment}
}
