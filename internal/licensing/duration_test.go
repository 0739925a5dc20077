package licensing

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// date returns a UTC time; tests use it to keep tables short.
func date(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want Duration
	}{
		{"1y", Duration{1, UnitYear}},
		{"2m", Duration{2, UnitMonth}},
		{"3w", Duration{3, UnitWeek}},
		{"3d", Duration{3, UnitDay}},
		{"30d", Duration{30, UnitDay}},
		{"90d", Duration{90, UnitDay}},
		{"4h", Duration{4, UnitHour}},
		{"5min", Duration{5, UnitMinute}},
		{"0d", Duration{0, UnitDay}},
		{"0min", Duration{0, UnitMinute}},
		{"007d", Duration{7, UnitDay}},
		{"000000y", Duration{0, UnitYear}},
		{"999999y", Duration{MaxDurationValue, UnitYear}},
		{"999999min", Duration{MaxDurationValue, UnitMinute}},
		{"12m", Duration{12, UnitMonth}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDuration(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	const hint = "want a whole number followed by one of y, m, w, d, h, min (for example 1y, 2m, 3w, 30d, 4h, 5min)"
	tests := []struct {
		in      string
		wantErr string
	}{
		{"1x", `invalid duration "1x": ` + hint},
		{"", `invalid duration "": empty; ` + hint},
		{"d", `invalid duration "d": no number; ` + hint},
		{"min", `invalid duration "min": no number; ` + hint},
		{"-1d", `invalid duration "-1d": no number; ` + hint},
		{"+1d", `invalid duration "+1d": no number; ` + hint},
		{" 1d", `invalid duration " 1d": no number; ` + hint},
		{"1d ", `invalid duration "1d ": ` + hint},
		{"1 d", `invalid duration "1 d": ` + hint},
		{"1", `invalid duration "1": no unit; ` + hint},
		{"1234567d", `invalid duration "1234567d": the number has more than 6 digits; ` + hint},
		{"0000000d", `invalid duration "0000000d": the number has more than 6 digits; ` + hint},
		{"1.5d", `invalid duration "1.5d": ` + hint},
		{"1y2m", `invalid duration "1y2m": ` + hint},
		{"1d1h", `invalid duration "1d1h": ` + hint},
		{"1D", `invalid duration "1D": ` + hint},
		{"1Y", `invalid duration "1Y": ` + hint},
		{"1M", `invalid duration "1M": ` + hint},
		{"1mi", `invalid duration "1mi": ` + hint},
		{"1mins", `invalid duration "1mins": ` + hint},
		{"1s", `invalid duration "1s": ` + hint},
		{"1ms", `invalid duration "1ms": ` + hint},
		{"1yy", `invalid duration "1yy": ` + hint},
		{"1d\n", `invalid duration "1d\n": ` + hint},
		{"１d", `invalid duration "１d": no number; ` + hint}, // full-width digit
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", tt.in, got)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("ParseDuration(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
			if !errors.Is(err, ErrInvalidDuration) {
				t.Errorf("ParseDuration(%q) error %v does not wrap ErrInvalidDuration", tt.in, err)
			}
			if diff := cmp.Diff(Duration{}, got); diff != "" {
				t.Errorf("ParseDuration(%q) returned a non-zero Duration on error (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// durationPatternCases are strings the CRD pattern and the parser must agree on.
var durationPatternCases = []string{
	// good
	"0y", "1y", "2m", "3w", "3d", "30d", "4h", "5min", "0min", "007d", "999999d", "000001m", "12h",
	// bad
	"", "y", "m", "min", "1", "123456", "1234567d", "0000000y", "-1d", "+1d", " 1d", "1d ", "1 d",
	"1d\n", "\n1d", "1x", "1D", "1Y", "1M", "1H", "1MIN", "1Min", "1mi", "1mins", "1minute", "1s", "1ms",
	"1ns", "1us", "1y2m", "1d1h", "1yd", "1.5d", "1,5d", "1e3d", "0x10d", "1_000d", "１d", "1d\x00",
	"d1", "1dd", "1mm", "1hh", "min5", "5nim", "1\td",
}

func TestDurationPatternMatchesParser(t *testing.T) {
	re := regexp.MustCompile(DurationPattern)
	for _, s := range durationPatternCases {
		_, err := ParseDuration(s)
		if matched, parsed := re.MatchString(s), err == nil; matched != parsed {
			t.Errorf("%q: DurationPattern matches = %v, but ParseDuration succeeds = %v (err: %v)", s, matched, parsed, err)
		}
	}
}

func TestDurationPatternIsTheCRDPattern(t *testing.T) {
	// The CRD marker on api/v1alpha1.CalendarDuration uses this exact text.
	if diff := cmp.Diff("^[0-9]{1,6}(y|m|w|d|h|min)$", DurationPattern); diff != "" {
		t.Errorf("DurationPattern changed (-want +got):\n%s", diff)
	}
}

func TestMustParseDuration(t *testing.T) {
	if diff := cmp.Diff(Duration{90, UnitDay}, MustParseDuration("90d")); diff != "" {
		t.Errorf("MustParseDuration(90d) mismatch (-want +got):\n%s", diff)
	}
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, ErrInvalidDuration) {
			t.Errorf("MustParseDuration(1x) panicked with %v, want an ErrInvalidDuration error", r)
		}
	}()
	MustParseDuration("1x")
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    Duration
		want string
	}{
		{Duration{1, UnitYear}, "1y"},
		{Duration{2, UnitMonth}, "2m"},
		{Duration{3, UnitWeek}, "3w"},
		{Duration{30, UnitDay}, "30d"},
		{Duration{4, UnitHour}, "4h"},
		{Duration{5, UnitMinute}, "5min"},
		{Duration{0, UnitDay}, "0d"},
		{Duration{MaxDurationValue, UnitMinute}, "999999min"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.d.String()); diff != "" {
			t.Errorf("%#v.String() mismatch (-want +got):\n%s", tt.d, diff)
		}
	}
}

func TestDurationStringRoundTrip(t *testing.T) {
	for _, s := range durationPatternCases {
		d, err := ParseDuration(s)
		if err != nil {
			continue
		}
		back, err := ParseDuration(d.String())
		if err != nil {
			t.Errorf("ParseDuration(%q).String() = %q does not parse: %v", s, d.String(), err)
			continue
		}
		if diff := cmp.Diff(d, back); diff != "" {
			t.Errorf("%q: round trip through String() %q mismatch (-want +got):\n%s", s, d.String(), diff)
		}
	}
}

func TestDurationIsZero(t *testing.T) {
	tests := []struct {
		d    Duration
		want bool
	}{
		{Duration{}, true},
		{MustParseDuration("0d"), true},
		{MustParseDuration("0y"), true},
		{MustParseDuration("000000min"), true},
		{MustParseDuration("1min"), false},
		{MustParseDuration("1y"), false},
	}
	for _, tt := range tests {
		if got := tt.d.IsZero(); got != tt.want {
			t.Errorf("%#v.IsZero() = %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestDurationAddTo(t *testing.T) {
	tests := []struct {
		name string
		d    string
		from time.Time
		want time.Time
	}{
		// Calendar months with month-end clamping.
		{"jan31+1m non-leap", "1m", date(2023, 1, 31, 0, 0), date(2023, 2, 28, 0, 0)},
		{"jan31+1m leap", "1m", date(2024, 1, 31, 0, 0), date(2024, 2, 29, 0, 0)},
		{"jan30+1m leap", "1m", date(2024, 1, 30, 0, 0), date(2024, 2, 29, 0, 0)},
		{"jan29+1m non-leap", "1m", date(2023, 1, 29, 0, 0), date(2023, 2, 28, 0, 0)},
		{"jan28+1m", "1m", date(2023, 1, 28, 0, 0), date(2023, 2, 28, 0, 0)},
		{"mar31+1m", "1m", date(2024, 3, 31, 0, 0), date(2024, 4, 30, 0, 0)},
		{"may31+1m", "1m", date(2024, 5, 31, 0, 0), date(2024, 6, 30, 0, 0)},
		{"aug31+1m", "1m", date(2024, 8, 31, 0, 0), date(2024, 9, 30, 0, 0)},
		{"oct31+1m", "1m", date(2024, 10, 31, 0, 0), date(2024, 11, 30, 0, 0)},
		{"jan31+2m", "2m", date(2023, 1, 31, 0, 0), date(2023, 3, 31, 0, 0)},
		{"jan31+3m", "3m", date(2023, 1, 31, 0, 0), date(2023, 4, 30, 0, 0)},
		{"jan15+1m", "1m", date(2023, 1, 15, 0, 0), date(2023, 2, 15, 0, 0)},
		{"feb28+1m", "1m", date(2023, 2, 28, 0, 0), date(2023, 3, 28, 0, 0)},
		{"dec31+1m crosses year", "1m", date(2023, 12, 31, 0, 0), date(2024, 1, 31, 0, 0)},
		{"nov30+3m crosses year into leap feb", "3m", date(2023, 11, 30, 0, 0), date(2024, 2, 29, 0, 0)},
		{"dec15+12m", "12m", date(2023, 12, 15, 0, 0), date(2024, 12, 15, 0, 0)},
		{"dec31+13m", "13m", date(2023, 12, 31, 0, 0), date(2025, 1, 31, 0, 0)},
		{"aug31+18m", "18m", date(2022, 8, 31, 0, 0), date(2024, 2, 29, 0, 0)},
		{"jan31+25m", "25m", date(2022, 1, 31, 0, 0), date(2024, 2, 29, 0, 0)},
		{"0m", "0m", date(2024, 1, 31, 10, 0), date(2024, 1, 31, 10, 0)},

		// Calendar years and leap years: 2024 and 2000 are leap, 2100 is not.
		{"feb29 2024+1y", "1y", date(2024, 2, 29, 0, 0), date(2025, 2, 28, 0, 0)},
		{"feb29 2024+4y", "4y", date(2024, 2, 29, 0, 0), date(2028, 2, 29, 0, 0)},
		{"feb29 2096+4y to 2100 not leap", "4y", date(2096, 2, 29, 0, 0), date(2100, 2, 28, 0, 0)},
		{"feb29 1996+4y to 2000 leap", "4y", date(1996, 2, 29, 0, 0), date(2000, 2, 29, 0, 0)},
		{"feb29 2000+100y to 2100 not leap", "100y", date(2000, 2, 29, 0, 0), date(2100, 2, 28, 0, 0)},
		{"feb29 2000+400y", "400y", date(2000, 2, 29, 0, 0), date(2400, 2, 29, 0, 0)},
		{"jan31 2100+1m not leap", "1m", date(2100, 1, 31, 0, 0), date(2100, 2, 28, 0, 0)},
		{"jan31 2000+1m leap", "1m", date(2000, 1, 31, 0, 0), date(2000, 2, 29, 0, 0)},
		{"feb28 2023+1y", "1y", date(2023, 2, 28, 0, 0), date(2024, 2, 28, 0, 0)},
		{"mar1 2023+1y", "1y", date(2023, 3, 1, 0, 0), date(2024, 3, 1, 0, 0)},
		{"0y", "0y", date(2024, 2, 29, 0, 0), date(2024, 2, 29, 0, 0)},
		{"999999y", "999999y", date(2024, 6, 15, 0, 0), date(1002023, 6, 15, 0, 0)},

		// Fixed units.
		{"3d", "3d", date(2024, 2, 27, 12, 0), date(2024, 3, 1, 12, 0)},
		{"3d non-leap", "3d", date(2023, 2, 27, 12, 0), date(2023, 3, 2, 12, 0)},
		{"30d jan31", "30d", date(2023, 1, 31, 0, 0), date(2023, 3, 2, 0, 0)},
		{"90d", "90d", date(2024, 1, 1, 0, 0), date(2024, 3, 31, 0, 0)},
		{"1w", "1w", date(2024, 12, 28, 9, 0), date(2025, 1, 4, 9, 0)},
		{"3w", "3w", date(2024, 2, 15, 0, 0), date(2024, 3, 7, 0, 0)},
		{"52w", "52w", date(2024, 1, 1, 0, 0), date(2024, 12, 30, 0, 0)},
		{"4h", "4h", date(2024, 12, 31, 22, 0), date(2025, 1, 1, 2, 0)},
		{"25h", "25h", date(2024, 2, 28, 23, 0), date(2024, 3, 1, 0, 0)},
		{"5min", "5min", date(2024, 12, 31, 23, 57), date(2025, 1, 1, 0, 2)},
		{"90min", "90min", date(2024, 1, 1, 23, 0), date(2024, 1, 2, 0, 30)},
		{"0d", "0d", date(2024, 1, 1, 23, 0), date(2024, 1, 1, 23, 0)},
		// Values whose length does not fit in a time.Duration (> ~292 years).
		{"999999d", "999999d", date(2000, 1, 1, 0, 0), date(2000, 1, 1, 0, 0).AddDate(0, 0, 999999)},
		{"999999w", "999999w", date(2000, 1, 1, 6, 0), date(2000, 1, 1, 6, 0).AddDate(0, 0, 7*999999)},
		{"999999h", "999999h", date(2000, 1, 1, 0, 0), date(2000, 1, 1, 0, 0).Add(999999 * time.Hour)},
		{"999999min", "999999min", date(2000, 1, 1, 0, 0), date(2000, 1, 1, 0, 0).Add(999999 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustParseDuration(tt.d).AddTo(tt.from)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s.AddTo(%v) mismatch (-want +got):\n%s", tt.d, tt.from, diff)
			}
		})
	}
}

func TestDurationSubFrom(t *testing.T) {
	tests := []struct {
		name string
		d    string
		from time.Time
		want time.Time
	}{
		{"mar31-1m non-leap", "1m", date(2023, 3, 31, 0, 0), date(2023, 2, 28, 0, 0)},
		{"mar31-1m leap", "1m", date(2024, 3, 31, 0, 0), date(2024, 2, 29, 0, 0)},
		{"mar31-1m 2100 not leap", "1m", date(2100, 3, 31, 0, 0), date(2100, 2, 28, 0, 0)},
		{"mar31-1m 2000 leap", "1m", date(2000, 3, 31, 0, 0), date(2000, 2, 29, 0, 0)},
		{"may31-1m", "1m", date(2024, 5, 31, 0, 0), date(2024, 4, 30, 0, 0)},
		{"dec31-1m", "1m", date(2024, 12, 31, 0, 0), date(2024, 11, 30, 0, 0)},
		{"jan31-1m crosses year", "1m", date(2024, 1, 31, 0, 0), date(2023, 12, 31, 0, 0)},
		{"jan31-11m", "11m", date(2024, 1, 31, 0, 0), date(2023, 2, 28, 0, 0)},
		{"jan31-12m", "12m", date(2024, 1, 31, 0, 0), date(2023, 1, 31, 0, 0)},
		{"may31-15m", "15m", date(2025, 5, 31, 0, 0), date(2024, 2, 29, 0, 0)},
		{"apr30-2m", "2m", date(2024, 4, 30, 0, 0), date(2024, 2, 29, 0, 0)},
		{"mar15-1m", "1m", date(2024, 3, 15, 0, 0), date(2024, 2, 15, 0, 0)},
		{"feb29 2024-1y", "1y", date(2024, 2, 29, 0, 0), date(2023, 2, 28, 0, 0)},
		{"feb29 2024-4y", "4y", date(2024, 2, 29, 0, 0), date(2020, 2, 29, 0, 0)},
		{"feb29 2104-4y to 2100 not leap", "4y", date(2104, 2, 29, 0, 0), date(2100, 2, 28, 0, 0)},
		{"feb29 2004-4y to 2000 leap", "4y", date(2004, 2, 29, 0, 0), date(2000, 2, 29, 0, 0)},
		{"90d before", "90d", date(2024, 3, 31, 0, 0), date(2024, 1, 1, 0, 0)},
		{"3d over leap day", "3d", date(2024, 3, 1, 12, 0), date(2024, 2, 27, 12, 0)},
		{"1w", "1w", date(2025, 1, 4, 9, 0), date(2024, 12, 28, 9, 0)},
		{"4h", "4h", date(2025, 1, 1, 2, 0), date(2024, 12, 31, 22, 0)},
		{"5min", "5min", date(2025, 1, 1, 0, 2), date(2024, 12, 31, 23, 57)},
		{"0m", "0m", date(2024, 3, 31, 0, 0), date(2024, 3, 31, 0, 0)},
		{"999999d", "999999d", date(4000, 1, 1, 0, 0), date(4000, 1, 1, 0, 0).AddDate(0, 0, -999999)},
		{"999999w", "999999w", date(4000, 1, 1, 0, 0), date(4000, 1, 1, 0, 0).AddDate(0, 0, -7*999999)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustParseDuration(tt.d).SubFrom(tt.from)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s.SubFrom(%v) mismatch (-want +got):\n%s", tt.d, tt.from, diff)
			}
		})
	}
}

func TestDurationKeepsTimeOfDayAndLocation(t *testing.T) {
	// A fixed zone, so that no daylight saving change moves the clock.
	ist := time.FixedZone("IST", 5*3600+1800)
	from := time.Date(2024, 1, 31, 23, 45, 12, 345678901, ist)
	tests := []struct {
		d       string
		wantAdd time.Time
		wantSub time.Time
	}{
		{"1m", time.Date(2024, 2, 29, 23, 45, 12, 345678901, ist), time.Date(2023, 12, 31, 23, 45, 12, 345678901, ist)},
		{"1y", time.Date(2025, 1, 31, 23, 45, 12, 345678901, ist), time.Date(2023, 1, 31, 23, 45, 12, 345678901, ist)},
		{"1d", time.Date(2024, 2, 1, 23, 45, 12, 345678901, ist), time.Date(2024, 1, 30, 23, 45, 12, 345678901, ist)},
		{"1w", time.Date(2024, 2, 7, 23, 45, 12, 345678901, ist), time.Date(2024, 1, 24, 23, 45, 12, 345678901, ist)},
		{"1h", time.Date(2024, 2, 1, 0, 45, 12, 345678901, ist), time.Date(2024, 1, 31, 22, 45, 12, 345678901, ist)},
		{"5min", time.Date(2024, 1, 31, 23, 50, 12, 345678901, ist), time.Date(2024, 1, 31, 23, 40, 12, 345678901, ist)},
		{"999999d", from.AddDate(0, 0, 999999), from.AddDate(0, 0, -999999)},
	}
	for _, tt := range tests {
		t.Run(tt.d, func(t *testing.T) {
			d := MustParseDuration(tt.d)
			add, sub := d.AddTo(from), d.SubFrom(from)
			// cmp compares times with Equal, which ignores the location, so compare it separately.
			if diff := cmp.Diff(tt.wantAdd, add); diff != "" {
				t.Errorf("%s.AddTo mismatch (-want +got):\n%s", tt.d, diff)
			}
			if diff := cmp.Diff(tt.wantSub, sub); diff != "" {
				t.Errorf("%s.SubFrom mismatch (-want +got):\n%s", tt.d, diff)
			}
			for _, got := range []time.Time{add, sub} {
				if got.Location() != ist {
					t.Errorf("%s: location %v, want %v", tt.d, got.Location(), ist)
				}
				if got.Format("15:04:05.999999999") != "23:45:12.345678901" && d.Unit != UnitHour && d.Unit != UnitMinute {
					t.Errorf("%s: time of day %s, want 23:45:12.345678901", tt.d, got.Format("15:04:05.999999999"))
				}
			}
		})
	}
}

func TestDurationDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	// Clocks go forward on 2024-03-31 at 02:00 in Berlin.
	from := time.Date(2024, 3, 30, 12, 0, 0, 0, berlin)
	// Calendar units keep the wall clock.
	if diff := cmp.Diff(time.Date(2024, 4, 30, 12, 0, 0, 0, berlin), MustParseDuration("1m").AddTo(from)); diff != "" {
		t.Errorf("1m across DST (-want +got):\n%s", diff)
	}
	// Fixed units add elapsed time: 24h later is 13:00 local time.
	if diff := cmp.Diff(time.Date(2024, 3, 31, 13, 0, 0, 0, berlin), MustParseDuration("1d").AddTo(from)); diff != "" {
		t.Errorf("1d across DST (-want +got):\n%s", diff)
	}
	if got := MustParseDuration("1d").AddTo(from).Location(); got != berlin {
		t.Errorf("location %v, want %v", got, berlin)
	}
}

func TestDurationUnknownUnitLeavesTimeAlone(t *testing.T) {
	from := date(2024, 1, 31, 10, 0)
	for _, d := range []Duration{{}, {5, "s"}, {1, "Y"}} {
		if diff := cmp.Diff(from, d.AddTo(from)); diff != "" {
			t.Errorf("%#v.AddTo (-want +got):\n%s", d, diff)
		}
		if diff := cmp.Diff(from, d.SubFrom(from)); diff != "" {
			t.Errorf("%#v.SubFrom (-want +got):\n%s", d, diff)
		}
	}
}

func TestDurationExtremeValuesDoNotPanic(t *testing.T) {
	from := date(2024, 1, 31, 10, 0)
	for _, unit := range []DurationUnit{UnitYear, UnitMonth, UnitWeek, UnitDay, UnitHour, UnitMinute} {
		for _, v := range []int64{math.MaxInt64, math.MinInt64, -1, -13} {
			d := Duration{v, unit}
			_ = d.AddTo(from)
			_ = d.SubFrom(from)
			_ = d.Approx()
			_ = d.String()
		}
	}
	// A negative value goes the other way.
	if diff := cmp.Diff(date(2023, 12, 31, 10, 0), Duration{-1, UnitMonth}.AddTo(from)); diff != "" {
		t.Errorf("-1m AddTo (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(date(2025, 2, 28, 10, 0), Duration{-13, UnitMonth}.SubFrom(from)); diff != "" {
		t.Errorf("-13m SubFrom (-want +got):\n%s", diff)
	}
}

func TestDurationApprox(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		d    Duration
		want time.Duration
	}{
		{MustParseDuration("1y"), 365 * day},
		{MustParseDuration("2m"), 60 * day},
		{MustParseDuration("3w"), 21 * day},
		{MustParseDuration("30d"), 30 * day},
		{MustParseDuration("4h"), 4 * time.Hour},
		{MustParseDuration("5min"), 5 * time.Minute},
		{MustParseDuration("0y"), 0},
		{MustParseDuration("999999h"), 999999 * time.Hour},
		{MustParseDuration("999999d"), math.MaxInt64},
		{MustParseDuration("999999y"), math.MaxInt64},
		{Duration{-1, UnitDay}, -day},
		{Duration{math.MinInt64, UnitMinute}, math.MinInt64},
		{Duration{1, "s"}, 0},
		{Duration{}, 0},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.d.Approx()); diff != "" {
			t.Errorf("%#v.Approx() mismatch (-want +got):\n%s", tt.d, diff)
		}
	}
	// Approx orders durations as a reader would expect.
	ordered := []string{"0d", "5min", "4h", "1d", "1w", "30d", "1m", "2m", "90d", "1y", "2y"}
	for i := 1; i < len(ordered); i++ {
		a, b := MustParseDuration(ordered[i-1]), MustParseDuration(ordered[i])
		if a.Approx() > b.Approx() {
			t.Errorf("%s.Approx() = %v > %s.Approx() = %v", a, a.Approx(), b, b.Approx())
		}
	}
}

func TestParseDurationLongInput(t *testing.T) {
	s := strings.Repeat("9", 1000) + "d"
	if _, err := ParseDuration(s); !errors.Is(err, ErrInvalidDuration) {
		t.Errorf("ParseDuration(1000 digits) error = %v, want ErrInvalidDuration", err)
	}
}
