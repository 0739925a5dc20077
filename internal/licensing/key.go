package licensing

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// keyAlphabet has 32 symbols without the look-alikes 0/O and 1/I, so a
// generated key can be read out and typed; 32 symbols make every symbol
// exactly 5 random bits.
const keyAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

const (
	keyGroups    = 5
	keyGroupSize = 4
)

// KeyPattern describes the shape of a generated licence key, such as
// "7KQM-X2PA-HV9T-C4RW-ZN8E": 5 groups of 4 symbols, 100 random bits.
const KeyPattern = `^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){4}$`

// GenerateKey returns a new random licence key from crypto/rand in readable
// groups (see KeyPattern).
func GenerateKey() (string, error) {
	raw := make([]byte, keyGroups*keyGroupSize)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("reading random bytes for a licence key: %w", err)
	}
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%keyGroupSize == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(keyAlphabet[int(c)%len(keyAlphabet)]) // 256 is a multiple of 32: no bias
	}
	return b.String(), nil
}

// KeyFingerprint is "sha256:" and the hex SHA-256 of a licence key: what
// status shows instead of the key.
func KeyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ExpectedKeyFingerprint is the fingerprint spec.entitlement.keyFingerprint
// says the issuing platform's key has, or "".
func ExpectedKeyFingerprint(spec *licensingv1alpha1.SoftwareLicenseSpec) string {
	if spec.Entitlement == nil {
		return ""
	}
	return spec.Entitlement.KeyFingerprint
}

// KeyMatches says whether a key whose fingerprint is actual is the key
// expected (ExpectedKeyFingerprint); an empty expected matches every key.
// The hex digits compare without regard to case.
func KeyMatches(expected, actual string) bool {
	return expected == "" || strings.EqualFold(expected, actual)
}

// KeyMismatchMessage is the status message of a licence whose key, read from
// dataKey of Secret secret, has fingerprint actual where the entitlement says
// expected. Fingerprints are what status shows anyway; the key is never named.
func KeyMismatchMessage(secret, dataKey, actual, expected string) string {
	return fmt.Sprintf("The key at key %q of Secret %q (spec.key.secretRef) has fingerprint %s, but spec.entitlement.keyFingerprint "+
		"says the issuing platform's key has %s: the Secret holds another key than the one issued; put the issued key into the Secret, "+
		"or correct spec.entitlement.keyFingerprint", dataKey, secret, actual, expected)
}

// IssuedKeyNotGivenMessage is the status message of a licence of a Key
// product with spec.entitlement.keyFingerprint and no spec.key: the key is
// the platform's, so the operator generates none in its place.
func IssuedKeyNotGivenMessage(expected string) string {
	return fmt.Sprintf("spec.entitlement.keyFingerprint (%s) says the issuing platform issued this licence's key, so the operator "+
		"generates no key for it: put the issued key into a Secret of this namespace and name it in spec.key.secretRef", expected)
}
