package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the types that accept input the way people write it: a
// Decimal or Percent as a whole YAML number or a string, a Date as a calendar
// date or an RFC 3339 time. Their JSON methods are what Go clients and the
// webhooks decode with; the schema markers on the types are what the API
// server checks. The two agree: what the schema refuses, these refuse.

// DateLayout is the date-only form of a Date: 2024-03-12, 00:00 UTC that day.
const DateLayout = "2006-01-02"

// datePattern is the schema pattern of a Date: a calendar date, optionally
// followed by an RFC 3339 time of day and offset.
const datePattern = `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$`

var dateRE = regexp.MustCompile(datePattern)

// Date is a point in time written either as a calendar date, "2024-03-12"
// (00:00 UTC that day), or as an RFC 3339 time, "2024-03-12T09:30:00Z". It is
// written back in RFC 3339, in UTC.
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=35
// +kubebuilder:validation:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$`
type Date struct {
	metav1.Time `json:"-"`
}

// NewDate is the Date of t.
func NewDate(t time.Time) *Date {
	return &Date{Time: metav1.NewTime(t)}
}

// ParseDate parses a Date as written: "2024-03-12" (00:00 UTC) or an RFC 3339
// time. The error says what a valid value looks like.
func ParseDate(s string) (time.Time, error) {
	if !dateRE.MatchString(s) {
		return time.Time{}, dateError(s)
	}
	layout := time.RFC3339Nano
	if len(s) == len(DateLayout) {
		layout = DateLayout
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, dateError(s)
	}
	return t.UTC(), nil
}

func dateError(s string) error {
	return fmt.Errorf("%q is not a date: write a date such as \"2024-03-12\" (00:00 UTC) or an RFC 3339 time such as \"2024-03-12T09:30:00Z\"", s)
}

// UnmarshalJSON accepts a date-only or RFC 3339 string, or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		d.Time = metav1.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return dateError(string(b))
	}
	t, err := ParseDate(s)
	if err != nil {
		return err
	}
	d.Time = metav1.NewTime(t)
	return nil
}

// MarshalJSON writes the time in RFC 3339, in UTC, or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.UTC().Format(time.RFC3339Nano))
}

// ToUnstructured writes the Date as MarshalJSON does.
func (d Date) ToUnstructured() any {
	if d.IsZero() {
		return nil
	}
	return d.UTC().Format(time.RFC3339Nano)
}

// MarshalCBOR writes the Date as a CBOR text string, as MarshalJSON does.
func (d Date) MarshalCBOR() ([]byte, error) {
	return d.Time.MarshalCBOR()
}

// UnmarshalCBOR reads a Date written by MarshalCBOR.
func (d *Date) UnmarshalCBOR(b []byte) error {
	return d.Time.UnmarshalCBOR(b)
}

// OpenAPISchemaType is the schema type of a Date: a string.
func (Date) OpenAPISchemaType() []string { return []string{"string"} }

// OpenAPISchemaFormat is empty: a Date is not only a date-time.
func (Date) OpenAPISchemaFormat() string { return "" }

// decimalIntegerRE is a JSON number that is a whole number.
var decimalIntegerRE = regexp.MustCompile(`^-?[0-9]+$`)

// unmarshalDecimalText is the text of a Decimal or Percent written as a JSON
// string or as a whole JSON number, kept exactly. A fractional or exponent
// number is refused with the advice to quote it: as a float it would already
// be rounded.
func unmarshalDecimalText(b []byte, example string) (string, bool, error) {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return "", false, nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case decimalIntegerRE.Match(b):
		return string(b), true, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		return "", false, fmt.Errorf("decimal %s is a floating-point number: quote it, for example %q", b, n.String())
	}
	return "", false, fmt.Errorf("%s is not a decimal: write a whole number such as %s or a quoted decimal such as %q", b, example, example+".5")
}

// UnmarshalJSON accepts a string ("19.99") or a whole number (100) and keeps
// the text exactly; a fractional number (12.5) is refused: quote it.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s, ok, err := unmarshalDecimalText(b, "100")
	if err != nil {
		return err
	}
	if ok {
		*d = Decimal(s)
	}
	return nil
}

// MarshalJSON writes the Decimal as a string.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return json.Marshal(string(d))
}

// UnmarshalJSON accepts a string ("12.5") or a whole number (25) and keeps
// the text exactly; a fractional number (12.5) is refused: quote it.
func (p *Percent) UnmarshalJSON(b []byte) error {
	s, ok, err := unmarshalDecimalText(b, "25")
	if err != nil {
		return err
	}
	if ok {
		*p = Percent(s)
	}
	return nil
}

// MarshalJSON writes the Percent as a string.
func (p Percent) MarshalJSON() ([]byte, error) {
	return json.Marshal(string(p))
}
