package samples

import (
	"strings"
	"testing"
	"time"
)

func mustDecode(t *testing.T, y string) any {
	t.Helper()
	v, err := decode([]byte(y))
	if err != nil {
		t.Fatalf("decoding %q: %v", y, err)
	}
	return v
}

func TestMismatches(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	actual := `
state: Active
seats: {total: 5, used: 1, available: 4}
validFrom: "2025-03-01T00:00:00Z"
nextResetTime: "2026-07-01T00:00:00Z"
keyFingerprint: sha256:0123abcd
cost: {unitPrice: "1050.00", total: "5250.00"}
product: {covers: [acme-cad, fea-solver]}
conditions:
- {type: Ready, status: "True", reason: Resolved, message: The licence is Active}
- {type: Expired, status: "False", reason: Valid}
`
	cases := []struct {
		name     string
		expected string
		// want are substrings of the mismatches, one per mismatch; none means a match.
		want []string
	}{
		{name: "the fields listed match, the rest is not compared", expected: `{state: Active, seats: {used: 1}}`},
		{name: "a different value", expected: `{state: Expired}`, want: []string{`.state: want "Expired", got "Active"`}},
		{name: "a number is not the string of it", expected: `{seats: {total: "5"}}`, want: []string{`.seats.total: want "5", got 5`}},
		{name: "a string is not the number of it", expected: `{cost: {unitPrice: 1050.00}}`, want: []string{`.cost.unitPrice: want 1050`}},
		{name: "a missing field", expected: `{validUntil: "2027-03-01T00:00:00Z"}`, want: []string{`.validUntil: want "2027-03-01T00:00:00Z", got nothing`}},
		{name: "absent", expected: `{validUntil: <absent>, seats: {pending: <absent>}}`},
		{name: "absent under a field that is not there", expected: `{consumption: {used: <absent>, overage: <absent>}}`},
		{name: "absent beside a value under a field that is not there", expected: `{consumption: {used: <absent>, overage: 3}}`,
			want: []string{".consumption: want"}},
		{name: "0 and false are what a missing number and bool read as", expected: `{seats: {pending: 0}, trial: false}`},
		{name: "a map of zeros and absent fields under a field that is not there", expected: `{consumption: {used: 0, overage: <absent>}}`},
		{name: "but not another number", expected: `{seats: {pending: 1}}`, want: []string{".seats.pending: want 1, got nothing"}},
		{name: "absent but present", expected: `{seats: {available: <absent>}}`, want: []string{".seats.available: want absent, got 4"}},
		{name: "any", expected: `{keyFingerprint: <any>}`},
		{name: "any of a missing field", expected: `{keySecretName: <any>}`, want: []string{".keySecretName: want"}},
		{name: "past and future", expected: `{validFrom: <past>, nextResetTime: <future>}`},
		{name: "past and future swapped", expected: `{validFrom: <future>, nextResetTime: <past>}`,
			want: []string{".nextResetTime: want a time before", ".validFrom: want a time after"}},
		{name: "a time placeholder on something else", expected: `{state: <past>}`, want: []string{".state: want an RFC 3339 time"}},
		{name: "a regular expression", expected: `{keyFingerprint: "<match:^sha256:[0-9a-f]+$>"}`},
		{name: "a regular expression that does not match", expected: `{keyFingerprint: "<match:^sha256:[0-9a-f]{64}$>"}`,
			want: []string{".keyFingerprint: want a string matching"}},
		{name: "conditions by type, in any order", expected: `
conditions:
- {type: Expired, status: "False", reason: Valid}
- {type: Ready, status: "True", reason: Resolved}`},
		{name: "a condition's reason differs", expected: `
conditions:
- {type: Ready, status: "True", reason: Valid}`, want: []string{`.conditions[type=Ready].reason: want "Valid", got "Resolved"`}},
		{name: "a condition missing", expected: `
conditions:
- {type: SeatsExhausted, status: "False"}`, want: []string{".conditions[type=SeatsExhausted]: want it, got no element"}},
		{name: "other lists compare whole", expected: `{product: {covers: [acme-cad]}}`, want: []string{".product.covers: want 1 elements"}},
		{name: "other lists compare in order", expected: `{product: {covers: [fea-solver, acme-cad]}}`,
			want: []string{`.product.covers[0]: want "fea-solver"`, `.product.covers[1]: want "acme-cad"`}},
		{name: "a map where there is a scalar", expected: `{state: {phase: Active}}`, want: []string{`.state: want a map, got "Active"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Mismatches("", mustDecode(t, tc.expected), mustDecode(t, actual), now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d mismatches %q, want %d like %q", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("mismatch %d is %q, want it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseExpectation(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		wantErr string
	}{
		{name: "a partial status", file: "# comment\nstatus:\n  state: Active\n"},
		{name: "a misspelt key", file: "stauts:\n  state: Active\n", wantErr: `unknown key "stauts"`},
		{name: "an empty status asserts nothing", file: "status: {}\n", wantErr: "at least one status field"},
		{name: "no status", file: "# nothing\n", wantErr: "an expectation is a map"},
		{name: "a status that is not a map", file: "status: Active\n", wantErr: "at least one status field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExpectation([]byte(tc.file))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestNormalizeKeepsNumbersApartFromStrings(t *testing.T) {
	// An unstructured object from the API server holds int64; a YAML file
	// decodes to json.Number: both must compare equal, and unequal to "3".
	fromAPI, err := Normalize(map[string]any{"seats": int64(3), "price": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if m := Mismatches("", mustDecode(t, `{seats: 3, price: "3"}`), fromAPI, time.Now()); len(m) != 0 {
		t.Errorf("want a match, got %q", m)
	}
	if m := Mismatches("", mustDecode(t, `{seats: "3", price: 3}`), fromAPI, time.Now()); len(m) != 2 {
		t.Errorf("want 2 mismatches, got %q", m)
	}
}
