package licensing

import (
	"fmt"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// This file holds the rule that keeps a licence from being an oracle of the
// Secrets of its namespace: the operator reads the Secret spec.key.secretRef
// names with its own rights and shows its SHA-256 in status.keyFingerprint, so
// only someone who may read that Secret may point a licence at it. The
// SoftwareLicense webhook asks the API server (a SubjectAccessReview with the
// requester's identity) whenever this rule says so.

// SecretRefNeedsAccessCheck says whether a create (old nil) or an update of a
// licence must check that the requester may get the Secret that
// spec.key.secretRef names: on create when it names one, on update when the
// reference changed (another Secret, or another key of it). An update that
// leaves the reference alone is not checked again: the Secret was judged when
// it was named, and a later editor of other fields (or the operator) need not
// be able to read it.
func SecretRefNeedsAccessCheck(old, cur *licensingv1alpha1.LicenseKeySource) bool {
	if cur == nil {
		return false
	}
	if old == nil {
		return true
	}
	return old.SecretRef != cur.SecretRef
}

// SecretAccessDeniedMessage is the refusal of a secretRef the requester may
// not read. It says why, and the same whether the Secret exists or not (an
// access review does not depend on it). reason is the authorizer's reason, if
// it gave one.
func SecretAccessDeniedMessage(user, namespace, secret, reason string) string {
	msg := fmt.Sprintf("user %q may not get Secret %q in namespace %q, and a licence may name only a Secret its author may read "+
		"(the operator shows its key's fingerprint in status): ask for get on that Secret, or have someone who may read it set spec.key",
		user, secret, namespace)
	if reason != "" {
		msg += fmt.Sprintf(" (authorizer: %s)", reason)
	}
	return msg
}

// KeyNotFoundMessage is the status message of a licence whose spec.key names
// a Secret that does not exist, or a key that Secret does not hold, or holds
// empty. The three read the same, so that the status never says whether a
// Secret exists or which keys it has.
func KeyNotFoundMessage(namespace, secret, dataKey, watchLabel string) string {
	return fmt.Sprintf("No licence key found at key %q of Secret %q (spec.key.secretRef) in namespace %q: "+
		"make sure the Secret exists and holds the key under that name, or set spec.key.secretRef.key "+
		"(label the Secret %s=true to have its changes seen at once)", dataKey, secret, namespace, watchLabel)
}
