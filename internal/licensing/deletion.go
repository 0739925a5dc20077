package licensing

import (
	"fmt"
	"sort"
	"strings"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// This file holds the rules of deletion protection (DESIGN.md, seat rules):
// a SoftwareLicense or LicenseProduct whose seats are held stays, Terminating,
// until its holders are released, the way a PersistentVolumeClaim in use
// does; and the texts that name the holders. The controllers and the DELETE
// webhooks call them; they decide nothing these functions do not.

// maxNamedHolders is how many holders a text names before it counts the rest.
const maxNamedHolders = 10

// SeatHolder is an assignment that holds seats of a licence.
type SeatHolder struct {
	// Namespace and Name of the assignment.
	Namespace, Name string
	// License is the key ("namespace/name") of the licence it holds seats of.
	License string
}

// HoldsSeats says whether an assignment holds seats of the licence its
// status.license names: it is Bound, or Rejected (a refused transfer keeps
// the seats), and not being deleted (an assignment being deleted gave its
// seats back).
func HoldsSeats(a *licensingv1alpha1.LicenseAssignment) bool {
	return a.DeletionTimestamp == nil && holds(a)
}

// LicenseHolders are the assignments that hold seats of the licence with key
// "namespace/name", by namespace and name.
func LicenseHolders(key string, assignments []licensingv1alpha1.LicenseAssignment) []SeatHolder {
	var out []SeatHolder
	for i := range assignments {
		a := &assignments[i]
		if a.Status.License == key && HoldsSeats(a) {
			out = append(out, SeatHolder{Namespace: a.Namespace, Name: a.Name, License: key})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// DeletionAction is what a licence or product being deleted does about the
// seats it has given.
type DeletionAction string

const (
	// DeletionProceed: nothing holds its seats; its finalizer goes.
	DeletionProceed DeletionAction = "Proceed"
	// DeletionWait: assignments hold its seats. It stays Terminating; they
	// keep their seats and their workloads are still admitted; nothing new
	// binds to it. It goes when the last holder is released.
	DeletionWait DeletionAction = "Wait"
	// DeletionRelease: the licence's own namespace is being deleted, so the
	// protection yields (else the namespace could never go): its holders, in
	// other namespaces too, are released, then its finalizer goes.
	DeletionRelease DeletionAction = "Release"
)

// LicenseDeletion is what a SoftwareLicense being deleted does, given how
// many assignments hold its seats and whether its namespace is being deleted.
func LicenseDeletion(holders int, namespaceDeleting bool) DeletionAction {
	switch {
	case namespaceDeleting:
		return DeletionRelease
	case holders > 0:
		return DeletionWait
	}
	return DeletionProceed
}

// ProductDeletion is what a LicenseProduct being deleted does, given how
// many assignments hold seats of its licences. A product is cluster-scoped:
// nothing makes its protection yield.
func ProductDeletion(holders int) DeletionAction {
	if holders > 0 {
		return DeletionWait
	}
	return DeletionProceed
}

// HoldersText names the holders for a reader in readerNamespace: the
// assignments of that namespace by name (at most maxNamedHolders), the
// others counted only, so that nobody learns from a message who holds seats
// in a namespace they may not see. For example "assignments a, b and 3 in
// other namespaces".
func HoldersText(readerNamespace string, holders []SeatHolder) string {
	var own []string
	others := 0
	for _, h := range holders {
		if h.Namespace == readerNamespace {
			own = append(own, h.Name)
		} else {
			others++
		}
	}
	var parts []string
	if len(own) > 0 {
		word := "assignment"
		if len(own) > 1 {
			word = "assignments"
		}
		named := own
		if len(named) > maxNamedHolders {
			named = named[:maxNamedHolders]
		}
		text := word + " " + strings.Join(named, ", ")
		if more := len(own) - len(named); more > 0 {
			text += fmt.Sprintf(" and %d more", more)
		}
		parts = append(parts, text)
	}
	if others > 0 {
		if len(own) > 0 {
			parts = append(parts, fmt.Sprintf("%d in other namespaces", others))
		} else {
			parts = append(parts, fmt.Sprintf("%d %s in other namespaces", others, plural(others, "assignment", "assignments")))
		}
	}
	if len(parts) == 0 {
		return "no assignments"
	}
	return strings.Join(parts, " and ")
}

// LicenseTerminatingMessage is the message of a deleted licence's
// Terminating condition, and of its event, for readers of its namespace.
func LicenseTerminatingMessage(namespace string, holders []SeatHolder) string {
	return fmt.Sprintf("The licence was deleted and stays until the %d %s holding its seats %s released (%s): "+
		"they keep their seats and their workloads are still admitted, and nothing new binds to it. Delete them to let it go",
		len(holders), plural(len(holders), "assignment", "assignments"), plural(len(holders), "is", "are"), HoldersText(namespace, holders))
}

// LicenseDeletionWarning is the admission warning of a DELETE of a licence
// whose seats are held, for the deleting user (a reader of its namespace).
func LicenseDeletionWarning(namespace, name string, holders []SeatHolder) string {
	return fmt.Sprintf("SoftwareLicense %s/%s stays Terminating until its %d seat %s %s released (%s): they keep their seats until then, and nothing new binds to it",
		namespace, name, len(holders), plural(len(holders), "holder", "holders"), plural(len(holders), "is", "are"), HoldersText(namespace, holders))
}

// LicenseHolding is what one licence of a product holds: the product's
// holders by licence.
type LicenseHolding struct {
	// License is the licence key, "namespace/name".
	License string
	// Holders is the number of assignments that hold its seats.
	Holders int
}

// ProductHolders groups the holders of a product's licences by licence,
// leaving out the licences nothing holds, by licence key.
func ProductHolders(holders []SeatHolder) []LicenseHolding {
	by := map[string]int{}
	for _, h := range holders {
		by[h.License]++
	}
	out := make([]LicenseHolding, 0, len(by))
	for k, n := range by {
		out = append(out, LicenseHolding{License: k, Holders: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].License < out[j].License })
	return out
}

// productHoldingsText is "licences a/x (2 assignments), b/y (1 assignment)".
// A product is cluster-scoped, and those who may delete one see every
// licence; the assignments are counted, not named.
func productHoldingsText(holdings []LicenseHolding) string {
	var parts []string
	for i, h := range holdings {
		if i == maxNamedHolders {
			parts = append(parts, fmt.Sprintf("and %d more", len(holdings)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d %s)", h.License, h.Holders, plural(h.Holders, "assignment", "assignments")))
	}
	return plural(len(holdings), "licence", "licences") + " " + strings.Join(parts, ", ")
}

// ProductTerminatingMessage is the message of a deleted product's
// Terminating condition, and of its event.
func ProductTerminatingMessage(holdings []LicenseHolding) string {
	n := 0
	for _, h := range holdings {
		n += h.Holders
	}
	return fmt.Sprintf("The product was deleted and stays until the %d %s holding seats of its licences %s released (%s): "+
		"they keep their seats and their workloads are still admitted, and no licence of it binds new seats. Delete them to let it go",
		n, plural(n, "assignment", "assignments"), plural(n, "is", "are"), productHoldingsText(holdings))
}

// ProductDeletionWarning is the admission warning of a DELETE of a product
// whose licences' seats are held.
func ProductDeletionWarning(name string, holdings []LicenseHolding) string {
	n := 0
	for _, h := range holdings {
		n += h.Holders
	}
	return fmt.Sprintf("LicenseProduct %s stays Terminating until its %d seat %s %s released (%s): they keep their seats until then, and no licence of it binds new seats",
		name, n, plural(n, "holder", "holders"), plural(n, "is", "are"), productHoldingsText(holdings))
}

// DeletedByMessage is the message of the event that records who deleted a
// licence or product (seed 000 deleted_by) and how many seat holders the
// deletion waits for.
func DeletedByMessage(kind, user string, holders int) string {
	if holders == 0 {
		return fmt.Sprintf("%s deleted by %s", kind, user)
	}
	return fmt.Sprintf("%s deleted by %s: it stays Terminating until its %d seat %s %s released",
		kind, user, holders, plural(holders, "holder", "holders"), plural(holders, "is", "are"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ProductLicense says whether a seat of the licence is a seat of product:
// its spec.productRef names it, or it covers it (a bundle's member).
func ProductLicense(l *licensingv1alpha1.SoftwareLicense, product string) bool {
	return (l.Spec.ProductRef != nil && l.Spec.ProductRef.Name == product) || LicenseCovers(l, product)
}

// ProductSeatHolders are the assignments that hold seats of the product's
// licences (ProductLicense), by namespace and name.
func ProductSeatHolders(product string, licenses []licensingv1alpha1.SoftwareLicense, assignments []licensingv1alpha1.LicenseAssignment) []SeatHolder {
	keys := map[string]bool{}
	for i := range licenses {
		if ProductLicense(&licenses[i], product) {
			keys[LicenseKey(&licenses[i])] = true
		}
	}
	var out []SeatHolder
	for i := range assignments {
		a := &assignments[i]
		if keys[a.Status.License] && HoldsSeats(a) {
			out = append(out, SeatHolder{Namespace: a.Namespace, Name: a.Name, License: a.Status.License})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}
