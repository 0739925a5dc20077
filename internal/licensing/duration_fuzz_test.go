package licensing

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

// fuzzTime turns a fuzzed number into a UTC time between the years 1 and
// about 4000 (far enough from time.Time's limits that 999999w and 999999y
// in both directions stay representable), with a fuzzed time of day.
func fuzzTime(sec int64, nsec uint32) time.Time {
	const (
		first = -62135596800 // 0001-01-01T00:00:00Z
		span  = 126230400000 // about 4000 years of seconds
	)
	sec %= span
	if sec < 0 {
		sec += span
	}
	return time.Unix(first+sec, int64(nsec%1e9)).UTC()
}

func FuzzParseDuration(f *testing.F) {
	seeds := []string{
		"1y", "2m", "3w", "3d", "30d", "90d", "4h", "5min", "0d", "0y", "007d", "999999y", "999999m",
		"999999w", "999999d", "999999h", "999999min", "12m", "13m",
		"", "1x", "-1d", "+1d", " 1d", "1d ", "1d\n", "1 d", "1", "1234567d", "1y2m", "1D", "1mi", "1mins",
		"1.5d", "１d", "min",
	}
	times := []time.Time{
		time.Date(2024, 1, 31, 10, 30, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 3, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 12, 31, 0, 0, 0, 1, time.UTC),
	}
	for i, s := range seeds {
		t := times[i%len(times)]
		f.Add(s, t.Unix(), uint32(t.Nanosecond()))
	}

	re := regexp.MustCompile(DurationPattern)
	f.Fuzz(func(t *testing.T, s string, sec int64, nsec uint32) {
		d, err := ParseDuration(s) // must not panic

		// The CRD pattern and the parser accept the same strings.
		if matched := re.MatchString(s); matched != (err == nil) {
			t.Fatalf("%q: DurationPattern matches = %v, ParseDuration error = %v", s, matched, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidDuration) {
				t.Fatalf("%q: error %v does not wrap ErrInvalidDuration", s, err)
			}
			if d != (Duration{}) {
				t.Fatalf("%q: error %v with a non-zero Duration %#v", s, err, d)
			}
			return
		}
		if d.Value < 0 || d.Value > MaxDurationValue {
			t.Fatalf("%q: value %d out of range", s, d.Value)
		}

		// String round-trips.
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("%q: ParseDuration(%q) = %#v, %v; want %#v", s, d.String(), back, err, d)
		}
		if d.IsZero() != (d.Value == 0) {
			t.Fatalf("%q: IsZero() = %v", s, d.IsZero())
		}
		if a := d.Approx(); a < 0 {
			t.Fatalf("%q: Approx() = %v is negative", s, a)
		}

		from := fuzzTime(sec, nsec)
		added := d.AddTo(from)
		again := d.SubFrom(added)
		if d.IsZero() && (!added.Equal(from) || !again.Equal(from)) {
			t.Fatalf("%q from %v: AddTo = %v, SubFrom = %v; want unchanged", s, from, added, again)
		}
		if !d.IsZero() && !added.After(from) {
			t.Fatalf("%q from %v: AddTo = %v is not later", s, from, added)
		}
		if sub := d.SubFrom(from); !d.IsZero() && !sub.Before(from) {
			t.Fatalf("%q from %v: SubFrom = %v is not earlier", s, from, sub)
		}

		switch d.Unit {
		case UnitYear, UnitMonth:
			months := d.Value
			if d.Unit == UnitYear {
				months *= 12
			}
			// AddTo lands in the right month, on the same day or the
			// month's last day, at the same time of day.
			y, m, day := from.Date()
			total := int64(y)*12 + int64(m-1) + months
			wantY, wantM := int(total/12), time.Month(total%12+1)
			wantDay := min(day, daysIn(wantY, wantM))
			if gy, gm, gd := added.Date(); gy != wantY || gm != wantM || gd != wantDay {
				t.Fatalf("%q from %v: AddTo = %v, want %04d-%02d-%02d", s, from, added, wantY, wantM, wantDay)
			}
			// SubFrom brings it back to the original month, never to a
			// later day, and exactly back when no clamping happened.
			gy, gm, gd := again.Date()
			if gy != y || gm != m || gd > day {
				t.Fatalf("%q from %v: AddTo = %v, SubFrom = %v moved too far", s, from, added, again)
			}
			if wantDay == day && gd != day {
				t.Fatalf("%q from %v: AddTo = %v, SubFrom = %v; want exactly back", s, from, added, again)
			}
			for _, got := range []time.Time{added, again} {
				if got.Hour() != from.Hour() || got.Minute() != from.Minute() ||
					got.Second() != from.Second() || got.Nanosecond() != from.Nanosecond() {
					t.Fatalf("%q from %v: %v does not keep the time of day", s, from, got)
				}
			}
		default:
			// Fixed units: exact inverse and exact elapsed time.
			if !again.Equal(from) {
				t.Fatalf("%q from %v: AddTo = %v, SubFrom = %v; want exactly back", s, from, added, again)
			}
			unit, _ := d.Unit.fixedLength()
			if a := d.Approx(); a < time.Duration(1<<62) && added.Sub(from) != a {
				t.Fatalf("%q from %v: AddTo = %v is %v later, want %v", s, from, added, added.Sub(from), a)
			}
			if secs := added.Unix() - from.Unix(); secs != d.Value*int64(unit/time.Second) {
				t.Fatalf("%q from %v: AddTo = %v is %ds later, want %d units of %v", s, from, added, secs, d.Value, unit)
			}
		}
	})
}
