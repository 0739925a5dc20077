package licensing

import (
	"strings"
	"testing"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func TestSecretRefNeedsAccessCheck(t *testing.T) {
	ref := func(name, key string) *v1.LicenseKeySource {
		return &v1.LicenseKeySource{SecretRef: v1.SecretKeyReference{Name: name, Key: key}}
	}
	cases := map[string]struct {
		old, cur *v1.LicenseKeySource
		want     bool
	}{
		"create without a key":            {nil, nil, false},
		"create naming a Secret":          {nil, ref("db-password", ""), true},
		"update that keeps the reference": {ref("k", "license-key"), ref("k", "license-key"), false},
		"update naming another Secret":    {ref("k", ""), ref("db-password", ""), true},
		"update naming another key":       {ref("k", "license-key"), ref("k", "password"), true},
		"update that adds a reference":    {nil, ref("k", ""), true},
		"update that removes it":          {ref("k", ""), nil, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := SecretRefNeedsAccessCheck(tc.old, tc.cur); got != tc.want {
				t.Errorf("SecretRefNeedsAccessCheck = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSecretAccessDeniedMessage(t *testing.T) {
	got := SecretAccessDeniedMessage("mallory", "team-a", "db-password", "")
	for _, want := range []string{`user "mallory" may not get Secret "db-password" in namespace "team-a"`, "a licence may name only a Secret its author may read"} {
		if !strings.Contains(got, want) {
			t.Errorf("message %q does not say %q", got, want)
		}
	}
	if got := SecretAccessDeniedMessage("m", "ns", "s", "no RBAC policy matched"); !strings.HasSuffix(got, "(authorizer: no RBAC policy matched)") {
		t.Errorf("the authorizer's reason is missing: %q", got)
	}
}

// The three ways a named key can be missing read the same: the status is no
// oracle of whether a Secret exists or which keys it holds.
func TestKeyNotFoundMessageDisclosesNothing(t *testing.T) {
	got := KeyNotFoundMessage("team-a", "db-password", "license-key", "x/license-key")
	want := `No licence key found at key "license-key" of Secret "db-password" (spec.key.secretRef) in namespace "team-a": ` +
		"make sure the Secret exists and holds the key under that name, or set spec.key.secretRef.key (label the Secret x/license-key=true to have its changes seen at once)"
	if got != want {
		t.Errorf("KeyNotFoundMessage =\n  %q\nwant\n  %q", got, want)
	}
}
