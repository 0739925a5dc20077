package licensing

import (
	"regexp"
	"strings"
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

func TestKeyMatches(t *testing.T) {
	fp := KeyFingerprint([]byte("ACME-XK4T-9PQ2-LM7R-WV3N"))
	cases := map[string]struct {
		expected, actual string
		want             bool
	}{
		"no expected fingerprint":     {expected: "", actual: fp, want: true},
		"the issued key":              {expected: fp, actual: fp, want: true},
		"the issued key, capital hex": {expected: strings.ToUpper(fp[:7]) + strings.ToUpper(fp[7:]), actual: fp, want: true},
		"another key":                 {expected: fp, actual: KeyFingerprint([]byte("ACME-OTHER")), want: false},
	}
	for name, c := range cases {
		if got := KeyMatches(c.expected, c.actual); got != c.want {
			t.Errorf("%s: KeyMatches = %v, want %v", name, got, c.want)
		}
	}
}

func TestKeyMismatchMessageNamesNoKey(t *testing.T) {
	msg := KeyMismatchMessage("acme-key", "license-key", "sha256:aa", "sha256:bb")
	for _, want := range []string{`"acme-key"`, `"license-key"`, "sha256:aa", "sha256:bb", "spec.entitlement.keyFingerprint"} {
		if !strings.Contains(msg, want) {
			t.Errorf("KeyMismatchMessage = %q, want it to name %s", msg, want)
		}
	}
}
