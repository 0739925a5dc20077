package licensing

// This file holds the rules an assignment answers to, before any capacity:
// whether its assignee suits the licence's seat model and users, whether
// the product lets its namespace draw seats, and how far a licence manager
// (spec.users[].manager) may go with it. Grant (the seats) and the
// LicenseAssignment webhook (admission) both call them, so that the two
// never disagree. Nothing here talks to a client.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// AssignmentProduct names the product whose rules an assignment answers to:
// its spec.productRef, else the product of l, the licence its
// spec.licenseRef names (nil when not known); "" when neither says.
func AssignmentProduct(a *licensingv1alpha1.LicenseAssignment, l *licensingv1alpha1.SoftwareLicense) string {
	switch {
	case a.Spec.ProductRef != nil:
		return a.Spec.ProductRef.Name
	case l != nil && l.Spec.ProductRef != nil:
		return l.Spec.ProductRef.Name
	}
	return ""
}

// SeatModelOf is the seat model of an effective policy: its seatModel, else
// the built-in DefaultSeatModel.
func SeatModelOf(pol *licensingv1alpha1.EffectivePolicy) licensingv1alpha1.SeatModel {
	if pol != nil && pol.SeatModel != nil {
		return *pol.SeatModel
	}
	return DefaultSeatModel
}

// AssigneeFits says whether assignee as suits licence l (key
// "namespace/name") whose seats follow model, and if not, why, in words that
// say what would fit:
//   - NamedUser seats go to users (spec.assignee.user); on a licence of a
//     product that authorizes by User, only to a user the licence lists in
//     spec.users (matched exactly, as admission matches the requester);
//   - NodeLocked seats go to nodes (spec.assignee.node);
//   - Concurrent seats go to a service account or a workload selector;
//   - Site seats go to any assignee.
//
// p is the licence's product, nil for a licence without one.
func AssigneeFits(model licensingv1alpha1.SeatModel, key string, l *licensingv1alpha1.SoftwareLicense, p *licensingv1alpha1.LicenseProduct, as licensingv1alpha1.Assignee) (bool, string) {
	switch model {
	case licensingv1alpha1.SeatModelNamedUser:
		if as.User == nil {
			return false, fmt.Sprintf("licence %s has NamedUser seats: the assignee must be a user (spec.assignee.user.email), not %s", key, assigneeKind(as))
		}
		if p != nil && p.Spec.Authorization == licensingv1alpha1.AuthorizationUser && !licenceHasUser(l, as.User.Email) {
			return false, fmt.Sprintf("user %s is not a user of licence %s (product %s is user-based): add the user to the licence's spec.users", as.User.Email, key, p.Name)
		}
	case licensingv1alpha1.SeatModelNodeLocked:
		if as.Node == nil {
			return false, fmt.Sprintf("licence %s has NodeLocked seats: the assignee must be a node (spec.assignee.node.name), not %s", key, assigneeKind(as))
		}
	case licensingv1alpha1.SeatModelConcurrent:
		if as.ServiceAccount == nil && as.Workload == nil {
			return false, fmt.Sprintf("licence %s has Concurrent seats: the assignee must be a service account (spec.assignee.serviceAccount.name) or a workload selector (spec.assignee.workload.selector), not %s", key, assigneeKind(as))
		}
	}
	return true, ""
}

// licenceHasUser says whether l lists email in spec.users, exactly.
func licenceHasUser(l *licensingv1alpha1.SoftwareLicense, email string) bool {
	for _, u := range l.Spec.Users {
		if u.Email == email {
			return true
		}
	}
	return false
}

// NamespaceAllowedByProduct says whether a product's allowAssignmentsFrom
// admits the namespace (absent: every namespace). A Selector without a
// namespaceSelector admits none (the schema refuses that combination).
func NamespaceAllowedByProduct(p *licensingv1alpha1.LicenseProduct, nsLabels map[string]string) bool {
	if p == nil || p.Spec.AllowAssignmentsFrom == nil || p.Spec.AllowAssignmentsFrom.From != licensingv1alpha1.AssignmentsFromSelector {
		return true
	}
	if p.Spec.AllowAssignmentsFrom.NamespaceSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(p.Spec.AllowAssignmentsFrom.NamespaceSelector)
	return err == nil && sel.Matches(labels.Set(nsLabels))
}

// ManagerClusterRole is the ClusterRole (config/rbac/license_manager_role.yaml,
// named with config/default's prefix) that the managers of a licence are
// bound to in the licence's namespace: it lets them manage LicenseAssignments
// and read SoftwareLicenses and LicenseProducts, nothing else. It must never
// grant more than get, list and watch on softwarelicenses (ManagerLimit).
const ManagerClusterRole = "license-operator-license-manager"

// ManagerBindingLabel marks the RoleBindings the operator keeps for licence
// managers; the operator's cache holds only those.
const ManagerBindingLabel = licensingv1alpha1.LabelPrefix + "license-managers"

// ManagerBindingLabelValue is the value of ManagerBindingLabel.
const ManagerBindingLabelValue = "true"

// ManagerBindingName is the name of the RoleBinding of the managers of the
// licence named licence: "<licence>-managers", or, when that would pass the
// 253 characters of an object name, the licence name cut short and a hash of
// all of it, so that two long names never share a binding.
func ManagerBindingName(licence string) string {
	const suffix, maxName = "-managers", 253
	if len(licence)+len(suffix) <= maxName {
		return licence + suffix
	}
	sum := sha256.Sum256([]byte(licence))
	hash := hex.EncodeToString(sum[:])[:10]
	return licence[:maxName-len(suffix)-len(hash)-1] + "-" + hash + suffix
}

// ManagerUsername is the username the API server gives the licence user
// email: the email with the installation's username prefix (flag
// --username-prefix, for example "oidc:"), the inverse of
// Identity.LicenceUser.
func ManagerUsername(prefix, email string) string { return prefix + email }

// ManagerSubjects are the RoleBinding subjects of licence l's managers: a
// User for each spec.users[] with manager true, named as the API server
// authenticates it, sorted. None when the licence has no manager.
func ManagerSubjects(l *licensingv1alpha1.SoftwareLicense, prefix string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, u := range l.Spec.Users {
		if u.Manager {
			out = append(out, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: ManagerUsername(prefix, u.Email)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return slices.CompactFunc(out, func(a, b rbacv1.Subject) bool { return a.Name == b.Name })
}

// ManagedBy are the keys ("namespace/name", sorted, without repeats) of the
// licences among ls that username manages: it is, with the prefix, the email
// of one of their spec.users[] with manager true.
func ManagedBy(username, prefix string, ls []*licensingv1alpha1.SoftwareLicense) []string {
	var out []string
	for _, l := range ls {
		for _, u := range l.Spec.Users {
			if u.Manager && ManagerUsername(prefix, u.Email) == username {
				out = append(out, LicenseKey(l))
				break
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// ManagerLimit is the refusal of a create (old nil), a spec change or a
// deletion (old nil, cur the assignment deleted) of assignment cur by a
// requester who manages the licences managed (the keys
// of ManagedBy over the licences of cur's namespace and those its
// licenseRef, before and after, names), or nil:
//   - a requester who manages none of them is not limited: whatever lets
//     them write assignments, it is not a manager binding;
//   - nor is one who may create SoftwareLicenses in cur's namespace
//     (mayCreateLicences, a SubjectAccessReview): they could make themselves
//     manager of any licence there, so limiting them protects nothing, and
//     namespace editors, administrators and the operator pass;
//   - everyone else may create, change or delete only assignments whose
//     spec.licenseRef names a licence they manage, before the change and
//     after it: not a productRef, not another licence.
func ManagerLimit(old, cur *licensingv1alpha1.LicenseAssignment, managed []string, mayCreateLicences bool) *field.Error {
	if len(managed) == 0 || mayCreateLicences {
		return nil
	}
	path := field.NewPath("spec", "licenseRef")
	limit := fmt.Sprintf("a licence manager may create, change or delete only the assignments whose spec.licenseRef names a licence they manage (%s)", strings.Join(managed, ", "))
	if cur.Spec.LicenseRef == nil {
		return field.Required(path, limit+"; this assignment names spec.productRef instead: set spec.licenseRef to one of them")
	}
	if k := AssignmentLicenseKey(cur); !slices.Contains(managed, k) {
		return field.Forbidden(path, fmt.Sprintf("%s; it names %s: set spec.licenseRef to one of them, or ask an administrator of the namespace", limit, k))
	}
	if old != nil {
		if k := AssignmentLicenseKey(old); !slices.Contains(managed, k) {
			what := "spec.productRef"
			if k != "" {
				what = "licence " + k
			}
			return field.Forbidden(path, fmt.Sprintf("%s; this assignment draws on %s, which they do not manage: ask an administrator of the namespace", limit, what))
		}
	}
	return nil
}

// ManagerLimitNeedsReview says whether ManagerLimit depends on whether the
// requester may create licences: only then does the webhook ask.
func ManagerLimitNeedsReview(old, cur *licensingv1alpha1.LicenseAssignment, managed []string) bool {
	return ManagerLimit(old, cur, managed, false) != nil
}
