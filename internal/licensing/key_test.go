package licensing

import (
	"regexp"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	pattern := regexp.MustCompile(KeyPattern)
	seen := map[string]bool{}
	for range 2000 {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if !pattern.MatchString(k) {
			t.Fatalf("GenerateKey() = %q, does not match %s", k, KeyPattern)
		}
		if seen[k] {
			t.Fatalf("GenerateKey() returned %q twice", k)
		}
		seen[k] = true
	}
}

func TestKeyFingerprint(t *testing.T) {
	// SHA-256 of "abc", FIPS 180-2 test vector.
	want := "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := KeyFingerprint([]byte("abc")); got != want {
		t.Errorf("KeyFingerprint(abc) = %s, want %s", got, want)
	}
}
