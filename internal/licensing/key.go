package licensing

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
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
