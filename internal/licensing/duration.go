package licensing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// DurationPattern is the regular expression the CRD schema uses for calendar
// durations (api/v1alpha1.CalendarDuration). ParseDuration accepts exactly the
// strings this pattern matches; a test keeps the two in step.
const DurationPattern = "^[0-9]{1,6}(y|m|w|d|h|min)$"

// MaxDurationDigits is the largest number of digits the number of a duration
// may have, so the largest value ParseDuration accepts is MaxDurationValue.
const MaxDurationDigits = 6

// MaxDurationValue is the largest Value ParseDuration accepts (999999).
const MaxDurationValue = 999999

// durationHint tells a user what a duration looks like; every parse error ends with it.
const durationHint = "want a whole number followed by one of y, m, w, d, h, min (for example 1y, 2m, 3w, 30d, 4h, 5min)"

// ErrInvalidDuration is wrapped by every error ParseDuration returns, so
// callers can test for it with errors.Is.
var ErrInvalidDuration = errors.New("invalid duration")

// DurationUnit is the unit of a Duration. Its value is the suffix written in
// the duration string.
type DurationUnit string

const (
	// UnitYear is a calendar year ("y"): the same day and time of day a year
	// later, clamped to the end of February when Feb 29 does not exist.
	UnitYear DurationUnit = "y"
	// UnitMonth is a calendar month ("m"): the same day and time of day in a
	// later month, clamped to that month's last day when the day does not exist.
	UnitMonth DurationUnit = "m"
	// UnitWeek is a fixed week of 7*24 hours ("w").
	UnitWeek DurationUnit = "w"
	// UnitDay is a fixed day of 24 hours ("d").
	UnitDay DurationUnit = "d"
	// UnitHour is one hour ("h").
	UnitHour DurationUnit = "h"
	// UnitMinute is one minute ("min").
	UnitMinute DurationUnit = "min"
)

// fixedLength is the length of one unit for the units that have a fixed length.
func (u DurationUnit) fixedLength() (time.Duration, bool) {
	switch u {
	case UnitWeek:
		return 7 * 24 * time.Hour, true
	case UnitDay:
		return 24 * time.Hour, true
	case UnitHour:
		return time.Hour, true
	case UnitMinute:
		return time.Minute, true
	}
	return 0, false
}

// Duration is a calendar duration: a whole number (Value) of one unit (Unit),
// written as in DurationPattern, for example 1y, 2m, 3w, 30d, 4h or 5min.
// Years and months are calendar arithmetic with month-end clamping (see
// AddTo); weeks, days, hours and minutes are fixed lengths of time.
//
// Use ParseDuration to build one from user input. A Duration built by hand
// should have a Unit among the Unit constants and a Value between 0 and
// MaxDurationValue; the methods never panic on other values, but String does
// not round-trip them and AddTo and SubFrom leave the time unchanged for an
// unknown unit.
type Duration struct {
	// Value is the number of units, 0 to MaxDurationValue when parsed.
	Value int64
	// Unit is the unit, one of the Unit constants when parsed.
	Unit DurationUnit
}

// ParseDuration parses a duration such as "1y", "2m", "3w", "30d", "4h" or
// "5min": one to six ASCII digits followed by exactly one unit, with no sign,
// space or other text. It accepts exactly the strings DurationPattern matches
// (leading zeros included: "007d" is 7 days). The error wraps
// ErrInvalidDuration and says what is allowed.
func ParseDuration(s string) (Duration, error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	digits, unit := s[:n], DurationUnit(s[n:])
	switch {
	case s == "":
		return Duration{}, durationError(s, "empty; ")
	case n == 0:
		return Duration{}, durationError(s, "no number; ")
	case n > MaxDurationDigits:
		return Duration{}, durationError(s, fmt.Sprintf("the number has more than %d digits; ", MaxDurationDigits))
	case unit == "":
		return Duration{}, durationError(s, "no unit; ")
	}
	if _, ok := unit.fixedLength(); !ok && unit != UnitYear && unit != UnitMonth {
		return Duration{}, durationError(s, "")
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil { // unreachable: at most six ASCII digits
		return Duration{}, durationError(s, "")
	}
	return Duration{Value: v, Unit: unit}, nil
}

func durationError(s, why string) error {
	return fmt.Errorf("%w %q: %s%s", ErrInvalidDuration, s, why, durationHint)
}

// MustParseDuration is ParseDuration that panics on an error. It is meant for
// tests, fixtures and constants, never for user input.
func MustParseDuration(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// String returns the duration in the syntax ParseDuration reads, such as
// "30d" or "5min", without leading zeros. For every Duration returned by
// ParseDuration, ParseDuration(d.String()) returns d again.
func (d Duration) String() string {
	return strconv.FormatInt(d.Value, 10) + string(d.Unit)
}

// IsZero reports whether the duration is zero long (Value 0, whatever the
// unit); the zero Duration is zero.
func (d Duration) IsZero() bool {
	return d.Value == 0
}

// AddTo returns t plus the duration.
//
// Years and months are calendar arithmetic: the result is the same day of the
// month and the same wall-clock time of day in t's location, Value years or
// months later. If that day does not exist in the target month it is clamped
// to the month's last day: Jan 31 + 1m is Feb 28 (Feb 29 in a leap year),
// Mar 31 + 1m is Apr 30 and Feb 29 2024 + 1y is Feb 28 2025. (This differs
// from time.Time.AddDate, which would overflow into the next month.) If the
// wall-clock time does not exist on the target day because of a daylight
// saving change, it is normalised as time.Date does.
//
// Weeks, days, hours and minutes are fixed lengths (7*24h, 24h, 1h, 1min)
// added as elapsed time, so across a daylight saving change in t's location
// the wall-clock time of day moves by the change. The location of t is kept.
//
// For an unknown unit AddTo returns t unchanged.
func (d Duration) AddTo(t time.Time) time.Time {
	return d.shift(t, false)
}

// SubFrom returns t minus the duration, the inverse direction of AddTo with
// the same month-end clamping: Mar 31 - 1m is Feb 28 (Feb 29 in a leap year)
// and Feb 29 2024 - 1y is Feb 28 2023. It is meant for windows before a
// deadline, such as "expiring soon: 90d before the end".
//
// Because of the clamping, d.SubFrom(d.AddTo(t)) can be a few days earlier
// than t for years and months (Jan 31 + 1m - 1m = Jan 28); for the fixed
// units it is exactly t. For an unknown unit SubFrom returns t unchanged.
func (d Duration) SubFrom(t time.Time) time.Time {
	return d.shift(t, true)
}

// shift adds the duration to t, or subtracts it if back is set.
func (d Duration) shift(t time.Time, back bool) time.Time {
	switch d.Unit {
	case UnitYear:
		years := d.Value
		if back {
			years = -years
		}
		return addMonths(t, years, 0)
	case UnitMonth:
		// Split first so that no multiplication or negation can overflow.
		years, months := d.Value/12, d.Value%12
		if back {
			years, months = -years, -months
		}
		return addMonths(t, years, months)
	}
	unit, ok := d.Unit.fixedLength()
	if !ok {
		return t
	}
	n := d.Value
	if back {
		n = -n
	}
	if limit := int64(math.MaxInt64 / unit); n >= -limit && n <= limit {
		return t.Add(time.Duration(n) * unit)
	}
	// n units do not fit in a time.Duration (about 292 years), for example
	// 999999w. Add them as calendar days, hours or minutes in UTC, where
	// every day is exactly 24 hours long, so the result is the same as
	// adding the elapsed time.
	u := t.UTC()
	year, month, day := u.Date()
	hour, minute, sec := u.Clock()
	days, hours, minutes := int64(0), int64(0), int64(0)
	switch d.Unit {
	case UnitWeek:
		days = 7 * n
	case UnitDay:
		days = n
	case UnitHour:
		hours = n
	case UnitMinute:
		minutes = n
	}
	return time.Date(year, month, day+int(days), hour+int(hours), minute+int(minutes),
		sec, u.Nanosecond(), time.UTC).In(t.Location())
}

// addMonths adds years and months to the date of t, keeping the wall-clock
// time of day and the location, and clamps the day of the month to the last
// day of the target month. months is between -11 and 11.
func addMonths(t time.Time, years, months int64) time.Time {
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	m := int64(month-1) + months // -11..22
	y := int64(year) + years
	if m < 0 {
		m += 12
		y--
	} else if m >= 12 {
		m -= 12
		y++
	}
	targetMonth := time.Month(m + 1)
	if last := daysIn(int(y), targetMonth); day > last {
		day = last
	}
	return time.Date(int(y), targetMonth, day, hour, minute, sec, t.Nanosecond(), t.Location())
}

// daysIn returns the number of days in the month of the Gregorian calendar
// (proleptic, as package time uses).
func daysIn(year int, month time.Month) int {
	switch month {
	case time.February:
		if isLeap(year) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func isLeap(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

// Approx returns a rough fixed length of the duration, counting a year as 365
// days and a month as 30 days (weeks, days, hours and minutes are exact). It
// is only meant for sorting and display, never for computing dates: use
// AddTo and SubFrom for that. Lengths beyond what a time.Duration can hold
// (about 292 years, for example 999999d) saturate at the largest (or, for a
// negative Value, smallest) time.Duration. An unknown unit has length 0.
func (d Duration) Approx() time.Duration {
	var unit time.Duration
	switch d.Unit {
	case UnitYear:
		unit = 365 * 24 * time.Hour
	case UnitMonth:
		unit = 30 * 24 * time.Hour
	default:
		unit, _ = d.Unit.fixedLength()
	}
	if unit == 0 {
		return 0
	}
	limit := int64(math.MaxInt64 / unit)
	switch {
	case d.Value > limit:
		return math.MaxInt64
	case d.Value < -limit:
		return math.MinInt64
	}
	return time.Duration(d.Value) * unit
}
