package v1alpha1

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "2024-03-12", want: time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC)},
		{in: "2024-03-12T09:30:00Z", want: time.Date(2024, 3, 12, 9, 30, 0, 0, time.UTC)},
		{in: "2024-03-12T09:30:00.5Z", want: time.Date(2024, 3, 12, 9, 30, 0, 5e8, time.UTC)},
		{in: "2024-03-12T00:30:00+01:00", want: time.Date(2024, 3, 11, 23, 30, 0, 0, time.UTC)},
		{in: "2024-02-29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{in: "12/03/2024", err: true},
		{in: "2024-3-12", err: true},
		{in: "2024-13-01", err: true},
		{in: "2024-03-12T09:30:00", err: true},
		{in: "2024-03-12 09:30:00Z", err: true},
		{in: "2024-03-12t09:30:00z", err: true},
		{in: "2023-02-29", err: true},
		{in: "", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDate(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %v, want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), `"2024-03-12"`) || !strings.Contains(err.Error(), "RFC 3339") {
					t.Errorf("error %q does not say what a valid value looks like", err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	var spec struct {
		Start *Date `json:"startDate,omitempty"`
	}
	if err := json.Unmarshal([]byte(`{"startDate":"2024-03-12"}`), &spec); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 3, 12, 0, 0, 0, 0, time.UTC); !spec.Start.UTC().Equal(want) {
		t.Errorf("startDate = %v, want %v", spec.Start.Time, want)
	}
	out, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"startDate":"2024-03-12T00:00:00Z"}`; got != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
	for _, bad := range []string{`{"startDate":20240312}`, `{"startDate":"12/03/2024"}`, `{"startDate":true}`} {
		if err := json.Unmarshal([]byte(bad), &spec); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("Unmarshal(%s) error = %v, want one that names the forms", bad, err)
		}
	}
	if u := (Date{}).ToUnstructured(); u != nil {
		t.Errorf("zero Date ToUnstructured = %v, want nil", u)
	}
	if u := NewDate(time.Date(2024, 3, 12, 1, 0, 0, 0, time.FixedZone("x", 3600))).ToUnstructured(); u != "2024-03-12T00:00:00Z" {
		t.Errorf("ToUnstructured = %v, want the UTC RFC 3339 text", u)
	}
}

func TestDecimalJSON(t *testing.T) {
	cases := []struct {
		in      string
		want    Decimal
		wantErr string
	}{
		{in: `100`, want: "100"},
		{in: `"100"`, want: "100"},
		{in: `"19.99"`, want: "19.99"},
		{in: `"19.9900"`, want: "19.9900"},
		{in: `0`, want: "0"},
		{in: `null`, want: ""},
		{in: `123456789012345678901234567890`, want: "123456789012345678901234567890"},
		{in: `12.5`, wantErr: `quote it, for example "12.5"`},
		{in: `1e2`, wantErr: `quote it, for example "1e2"`},
		{in: `true`, wantErr: "write a whole number such as 100"},
		{in: `{}`, wantErr: "write a whole number such as 100"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var d Decimal
			err := json.Unmarshal([]byte(tc.in), &d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Unmarshal(%s) = %q, %v; want an error containing %q", tc.in, d, err, tc.wantErr)
				}
				return
			}
			if err != nil || d != tc.want {
				t.Fatalf("Unmarshal(%s) = %q, %v; want %q", tc.in, d, err, tc.want)
			}
		})
	}

	var cost LicenseCost
	if err := json.Unmarshal([]byte(`{"listPrice":100,"negotiatedDiscountPercent":25}`), &cost); err != nil {
		t.Fatal(err)
	}
	if *cost.ListPrice != "100" || cost.NegotiatedDiscountPercent != "25" {
		t.Errorf("cost = %+v, want listPrice 100 and discount 25", cost)
	}
	out, err := json.Marshal(cost)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"listPrice":"100","negotiatedDiscountPercent":"25"}`; got != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
	if err := json.Unmarshal([]byte(`{"negotiatedDiscountPercent":12.5}`), &cost); err == nil || !strings.Contains(err.Error(), "quote it") {
		t.Errorf("a fractional discount: error = %v, want quote it", err)
	}
}

// FuzzParseDate checks that ParseDate accepts only what the schema pattern
// accepts, and that an accepted Date survives a JSON round trip unchanged.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2024-03-12", "2024-03-12T09:30:00Z", "2024-03-12T09:30:00.123456789+05:30", "2024-02-30",
		"12/03/2024", "2024-03-12T24:00:00Z", "0000-01-01", "9999-12-31T23:59:59Z", "", "2024-03-12T09:30:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		if err != nil {
			if !strings.Contains(err.Error(), "RFC 3339") {
				t.Fatalf("ParseDate(%q) error %q does not say what a valid value looks like", s, err)
			}
			return
		}
		if !dateRE.MatchString(s) {
			t.Fatalf("ParseDate accepted %q, which the schema pattern refuses", s)
		}
		raw, err := json.Marshal(NewDate(got))
		if err != nil {
			t.Fatal(err)
		}
		var back Date
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("the written form %s of %q does not parse: %v", raw, s, err)
		}
		if !back.UTC().Equal(got) {
			t.Fatalf("round trip of %q: %v, want %v", s, back.Time, got)
		}
	})
}

// FuzzDecimalJSON checks that a Decimal decodes only from a string or a whole
// JSON number, keeps that text exactly, and writes it back as a string.
func FuzzDecimalJSON(f *testing.F) {
	for _, s := range []string{`100`, `"19.99"`, `12.5`, `1e2`, `-3`, `true`, `null`, `"x"`, `[]`, `007`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d Decimal
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			return
		}
		raw := strings.TrimSpace(in)
		var s string
		switch {
		case raw == "null":
			return
		case json.Unmarshal([]byte(raw), &s) == nil:
		case decimalIntegerRE.MatchString(raw):
			s = raw
		default:
			t.Fatalf("Decimal accepted %q, neither a string nor a whole number", in)
		}
		if string(d) != s {
			t.Fatalf("Decimal of %q = %q, want the text %q", in, d, s)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again string
		if err := json.Unmarshal(out, &again); err != nil || again != s {
			t.Fatalf("Decimal %q written as %s", d, out)
		}
	})
}
