package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

const (
	// KeySecretLabel (value "true") marks the Secrets that hold licence keys
	// and that the manager caches and watches. Generated key Secrets carry it;
	// a user may add it to a Secret a licence's spec.key names to have a key
	// change seen at once. The manager caches no other Secret (CacheOptions).
	KeySecretLabel = licensingv1alpha1.KeySecretLabel
	// keySecretLabelValue is the value of KeySecretLabel.
	keySecretLabelValue = "true"
	// KeySecretDataKey is the data key of a generated key Secret, and the
	// default of spec.key.secretRef.key.
	KeySecretDataKey = "license-key"
	// keySecretSuffix ends the name of a generated key Secret.
	keySecretSuffix = "-license-key"
	// maxSecretName is the longest name of a Secret (a DNS subdomain).
	maxSecretName = 253
)

// keyResult is what a licence's status says about its key.
type keyResult struct {
	// fingerprint is licensing.KeyFingerprint of the key, when it was read.
	fingerprint string
	// secretName is the generated key Secret, when the operator generated one.
	secretName string
	// problem says why the key is missing or wrong (Ready False, reason) and
	// how to fix it; empty when the key is fine. It never contains the key.
	problem string
	// reason is the Ready condition's reason for problem: KeyNotFound, or
	// KeyMismatch.
	reason string
}

// GeneratedKeySecretName is the name of the Secret the operator generates the
// key of a licence into: "<licence>-license-key", shortened with a hash of
// the licence name when that would be too long.
func GeneratedKeySecretName(license string) string {
	name := license + keySecretSuffix
	if len(name) <= maxSecretName {
		return name
	}
	sum := sha256.Sum256([]byte(license))
	hash := hex.EncodeToString(sum[:4])
	return license[:maxSecretName-len(keySecretSuffix)-len(hash)-1] + "-" + hash + keySecretSuffix
}

// reconcileKey finds the licence key and fingerprints it:
//   - spec.key names a Secret: read its key. The manager caches only Secrets
//     labelled KeySecretLabel, so an unlabelled user Secret is read uncached
//     through APIReader, and — a deliberate choice — the operator neither
//     watches nor labels it (it never changes a user's Secret): a change of
//     such a Secret shows at the licence's next reconcile (any change of the
//     licence, its product or its assignments, a lifecycle boundary, or an
//     annotation touch). Labelling the Secret KeySecretLabel=true makes it
//     cached and watched, and changes show at once. A metadata-only watch of
//     all Secrets would not help: the cache's Secret label selector applies
//     to metadata watches of Secrets too.
//   - the product authorises by Key and spec.key is unset: the operator
//     generates a random key into the Secret GeneratedKeySecretName, owned by
//     the licence (garbage-collected with it), labelled KeySecretLabel and
//     immutable; to rotate the key, delete that Secret. A Secret of that name
//     the licence does not own is never overwritten: the licence reports
//     KeyNotFound instead.
//   - spec.entitlement.keyFingerprint, when set, is the fingerprint of the
//     key the issuing platform issued: a key read from spec.key with another
//     fingerprint is reported KeyMismatch, and no key is generated (the
//     licence reports KeyNotFound until spec.key names the issued key).
//
// The key itself is never logged, put into status or into an event.
func (r *SoftwareLicenseReconciler) reconcileKey(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense,
	product *licensingv1alpha1.LicenseProduct) (keyResult, error) {
	if lic.Spec.Key != nil {
		ref := lic.Spec.Key.SecretRef
		dataKey := ref.Key
		if dataKey == "" {
			dataKey = KeySecretDataKey
		}
		// A Secret that does not exist and one without the key (or with it
		// empty) read the same: the status is no oracle of which Secrets
		// exist or which keys they hold (docs/security.md).
		notFound := keyResult{problem: licensing.KeyNotFoundMessage(lic.Namespace, ref.Name, dataKey, KeySecretLabel)}
		secret, err := r.getSecret(ctx, types.NamespacedName{Namespace: lic.Namespace, Name: ref.Name})
		switch {
		case apierrors.IsNotFound(err):
			return notFound, nil
		case err != nil:
			return keyResult{}, fmt.Errorf("reading key Secret %s: %w", ref.Name, err)
		}
		key := secret.Data[dataKey]
		if len(key) == 0 {
			return notFound, nil
		}
		fingerprint := licensing.KeyFingerprint(key)
		if expected := licensing.ExpectedKeyFingerprint(&lic.Spec); !licensing.KeyMatches(expected, fingerprint) {
			return keyResult{fingerprint: fingerprint, reason: licensingv1alpha1.ReasonKeyMismatch,
				problem: licensing.KeyMismatchMessage(ref.Name, dataKey, fingerprint, expected)}, nil
		}
		return keyResult{fingerprint: fingerprint}, nil
	}

	if product == nil || product.Spec.Authorization != licensingv1alpha1.AuthorizationKey {
		return keyResult{}, nil
	}
	if expected := licensing.ExpectedKeyFingerprint(&lic.Spec); expected != "" {
		return keyResult{problem: licensing.IssuedKeyNotGivenMessage(expected)}, nil
	}
	name := GeneratedKeySecretName(lic.Name)
	secret, err := r.getSecret(ctx, types.NamespacedName{Namespace: lic.Namespace, Name: name})
	switch {
	case apierrors.IsNotFound(err) && !lic.DeletionTimestamp.IsZero():
		return keyResult{}, nil // no new key for a licence on its way out
	case apierrors.IsNotFound(err):
		return r.generateKey(ctx, lic, name)
	case err != nil:
		return keyResult{}, fmt.Errorf("reading key Secret %s: %w", name, err)
	}
	if !metav1.IsControlledBy(secret, lic) {
		return keyResult{problem: fmt.Sprintf("Secret %q exists and is not owned by this licence, so no key is generated into it: "+
			"set spec.key.secretRef to use its key, or delete or rename it to have a key generated", name)}, nil
	}
	key := secret.Data[KeySecretDataKey]
	if len(key) == 0 {
		return keyResult{secretName: name, problem: fmt.Sprintf("The generated key Secret %q has no key %q: delete it to have a new key generated",
			name, KeySecretDataKey)}, nil
	}
	return keyResult{fingerprint: licensing.KeyFingerprint(key), secretName: name}, nil
}

// generateKey creates the key Secret of a licence with a new random key.
func (r *SoftwareLicenseReconciler) generateKey(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, name string) (keyResult, error) {
	key, err := licensing.GenerateKey()
	if err != nil {
		return keyResult{}, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: lic.Namespace,
			Labels:    map[string]string{KeySecretLabel: keySecretLabelValue},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{KeySecretDataKey: []byte(key)},
	}
	if err := controllerutil.SetControllerReference(lic, secret, r.Scheme); err != nil {
		return keyResult{}, err
	}
	if err := r.Create(ctx, secret); err != nil {
		// AlreadyExists: created since the read (another replica, or a user);
		// the retry reads it and checks who owns it.
		return keyResult{}, fmt.Errorf("creating key Secret %s: %w", name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Generated a licence key", "license", klog.KObj(lic), "secret", klog.KObj(secret))
	fingerprint := licensing.KeyFingerprint([]byte(key))
	r.recordKeyGenerated(lic, name, fingerprint)
	return keyResult{fingerprint: fingerprint, secretName: name}, nil
}

// getSecret reads a Secret from the cache, then, when the cache does not
// hold it (it holds only labelled Secrets), from the API server.
func (r *SoftwareLicenseReconciler) getSecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	err := r.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, secret)
	}
	if err != nil {
		return nil, err
	}
	return secret, nil
}
