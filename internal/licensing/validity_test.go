package licensing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// at parses an RFC 3339 instant.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// tp is at as a pointer.
func tp(t *testing.T, s string) *time.Time {
	t.Helper()
	v := at(t, s)
	return &v
}

// settings returns effective policy settings: the built-ins changed by set.
func settings(set func(*v1.PolicySettings)) *v1.PolicySettings {
	s := BuiltinPolicy()
	if set != nil {
		set(&s)
	}
	return &s
}

func typ(lt v1.LicenseType, valid string) func(*v1.PolicySettings) {
	return func(s *v1.PolicySettings) {
		s.Type = &lt
		if valid != "" {
			s.ValidDuration = ptr.To(v1.CalendarDuration(valid))
		}
	}
}

func TestComputeLifecycle(t *testing.T) {
	cases := map[string]struct {
		lic  *v1.SoftwareLicense
		eff  *v1.PolicySettings
		now  string
		want Lifecycle
	}{
		"perpetual from creation: no end": {
			lic:  ut.MakeLicense("l", "ns").Created(at(t, "2025-01-10T08:00:00Z")).Obj(),
			eff:  settings(nil),
			now:  "2026-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2025-01-10T08:00:00Z"), ValidFrom: at(t, "2025-01-10T08:00:00Z")},
		},
		"OEM with a validDuration: never ends, as perpetual": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-10T08:00:00Z")).Obj(),
			eff:  settings(typ(v1.LicenseTypeOEM, "1y")),
			now:  "2030-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2025-01-10T08:00:00Z"), ValidFrom: at(t, "2025-01-10T08:00:00Z")},
		},
		"purchase date beats creation": {
			lic:  ut.MakeLicense("l", "ns").Created(at(t, "2025-01-10T08:00:00Z")).Purchased(at(t, "2024-12-01T00:00:00Z")).Obj(),
			eff:  settings(nil),
			now:  "2026-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2024-12-01T00:00:00Z"), ValidFrom: at(t, "2024-12-01T00:00:00Z")},
		},
		"start date beats purchase date": {
			lic: ut.MakeLicense("l", "ns").Created(at(t, "2025-01-10T08:00:00Z")).
				Purchased(at(t, "2024-12-01T00:00:00Z")).Start(at(t, "2025-02-01T00:00:00Z")).Obj(),
			eff:  settings(nil),
			now:  "2026-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2025-02-01T00:00:00Z"), ValidFrom: at(t, "2025-02-01T00:00:00Z")},
		},
		"perpetual with an explicit expiry date ends then": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Expiry(at(t, "2027-01-01T00:00:00Z")).Obj(),
			eff:  settings(nil),
			now:  "2026-01-01T00:00:00Z",
			want: lc(t, "2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026-10-03T00:00:00Z"),
		},
		"perpetual ignores validDuration": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Obj(),
			eff:  settings(func(s *v1.PolicySettings) { s.ValidDuration = ptr.To(v1.CalendarDuration("1y")) }),
			now:  "2026-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2025-01-01T00:00:00Z"), ValidFrom: at(t, "2025-01-01T00:00:00Z")},
		},
		"time-limited 1y from Feb 29 ends Feb 28": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2024-02-29T12:00:00Z")).Obj(),
			eff:  settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now:  "2024-06-01T00:00:00Z",
			want: lc(t, "2024-02-29T12:00:00Z", "2025-02-28T12:00:00Z", "2024-11-30T12:00:00Z"),
		},
		"time-limited 1m from Jan 31 in a leap year ends Feb 29": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2024-01-31T00:00:00Z")).Obj(),
			eff:  settings(typ(v1.LicenseTypeTimeLimited, "1m")),
			now:  "2024-02-01T00:00:00Z",
			want: lc(t, "2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2023-12-01T00:00:00Z"),
		},
		"time-limited 1m from Jan 31 in a common year ends Feb 28": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2023-01-31T00:00:00Z")).Obj(),
			eff:  settings(typ(v1.LicenseTypeTimeLimited, "1m")),
			now:  "2023-02-01T00:00:00Z",
			want: lc(t, "2023-01-31T00:00:00Z", "2023-02-28T00:00:00Z", "2022-11-30T00:00:00Z"),
		},
		"explicit expiry date beats validDuration": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Expiry(at(t, "2025-03-15T00:00:00Z")).Obj(),
			eff:  settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now:  "2025-02-01T00:00:00Z",
			want: lc(t, "2025-01-01T00:00:00Z", "2025-03-15T00:00:00Z", "2024-12-15T00:00:00Z"),
		},
		"subscription without validDuration never ends": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).AutoRenew().Obj(),
			eff:  settings(typ(v1.LicenseTypeSubscription, "")),
			now:  "2030-01-01T00:00:00Z",
			want: Lifecycle{Start: at(t, "2025-01-01T00:00:00Z"), ValidFrom: at(t, "2025-01-01T00:00:00Z")},
		},
		"5min with a 1min window, grace and maintenance": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T10:00:00Z")).Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				typ(v1.LicenseTypeTimeLimited, "5min")(s)
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1min"))
				s.GracePeriod = ptr.To(v1.CalendarDuration("2min"))
				s.MaintenanceDuration = ptr.To(v1.CalendarDuration("3min"))
			}),
			now: "2025-01-01T10:00:00Z",
			want: func() Lifecycle {
				l := lc(t, "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z", "2025-01-01T10:04:00Z")
				l.GraceUntil = tp(t, "2025-01-01T10:07:00Z")
				l.MaintenanceUntil = tp(t, "2025-01-01T10:03:00Z")
				return l
			}(),
		},
		"renewal date moves the renewal time and the window": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).
				Expiry(at(t, "2026-01-01T00:00:00Z")).Renewal(at(t, "2025-11-01T00:00:00Z")).Obj(),
			eff: settings(func(s *v1.PolicySettings) { s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1m")) }),
			now: "2025-06-01T00:00:00Z",
			want: Lifecycle{
				Start: at(t, "2025-01-01T00:00:00Z"), ValidFrom: at(t, "2025-01-01T00:00:00Z"),
				ValidUntil: tp(t, "2026-01-01T00:00:00Z"), RenewalTime: tp(t, "2025-11-01T00:00:00Z"),
				ExpiringSoonFrom: tp(t, "2025-10-01T00:00:00Z"),
			},
		},
		"auto-renewing monthly subscription from Jan 31, in its second term": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2024-01-31T09:00:00Z")).AutoRenew().Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				typ(v1.LicenseTypeSubscription, "1m")(s)
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("7d"))
				s.GracePeriod = ptr.To(v1.CalendarDuration("3d"))
			}),
			now: "2024-03-01T00:00:00Z",
			want: Lifecycle{
				Start: at(t, "2024-01-31T09:00:00Z"), ValidFrom: at(t, "2024-02-29T09:00:00Z"),
				ValidUntil: tp(t, "2024-03-31T09:00:00Z"), RenewalTime: tp(t, "2024-03-31T09:00:00Z"),
				ExpiringSoonFrom: tp(t, "2024-03-24T09:00:00Z"), GraceUntil: tp(t, "2024-04-03T09:00:00Z"),
				Renewals: 1, AutoRenews: true,
			},
		},
		"auto-renewing subscription renews exactly at the end of the term": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2024-01-31T09:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeSubscription, "1m")),
			now: "2024-03-31T09:00:00Z",
			want: Lifecycle{
				Start: at(t, "2024-01-31T09:00:00Z"), ValidFrom: at(t, "2024-03-31T09:00:00Z"),
				ValidUntil: tp(t, "2024-04-30T09:00:00Z"), RenewalTime: tp(t, "2024-04-30T09:00:00Z"),
				ExpiringSoonFrom: tp(t, "2024-01-31T09:00:00Z"), Renewals: 2, AutoRenews: true,
			},
		},
		"auto-renewing subscription one nanosecond before the end is still in the term": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2024-01-31T09:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeSubscription, "1m")),
			now: "2024-03-31T08:59:59.999999999Z",
			want: Lifecycle{
				Start: at(t, "2024-01-31T09:00:00Z"), ValidFrom: at(t, "2024-02-29T09:00:00Z"),
				ValidUntil: tp(t, "2024-03-31T09:00:00Z"), RenewalTime: tp(t, "2024-03-31T09:00:00Z"),
				ExpiringSoonFrom: tp(t, "2024-01-01T09:00:00Z"), Renewals: 1, AutoRenews: true,
			},
		},
		"auto-renewing yearly time-limited licence from Feb 29": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2024-02-29T00:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now: "2028-03-01T00:00:00Z",
			want: Lifecycle{
				Start: at(t, "2024-02-29T00:00:00Z"), ValidFrom: at(t, "2028-02-29T00:00:00Z"),
				ValidUntil: tp(t, "2029-02-28T00:00:00Z"), RenewalTime: tp(t, "2029-02-28T00:00:00Z"),
				ExpiringSoonFrom: tp(t, "2028-11-30T00:00:00Z"), Renewals: 4, AutoRenews: true,
			},
		},
		"auto-renewing every 5min for ten years: renewals counted without stepping": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2016-01-01T00:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeSubscription, "5min")),
			// 2016-01-01 to 2026-01-01 is 3653 days of 288 terms each.
			now: "2026-01-01T00:02:30Z",
			want: Lifecycle{
				Start: at(t, "2016-01-01T00:00:00Z"), ValidFrom: at(t, "2026-01-01T00:00:00Z"),
				ValidUntil: tp(t, "2026-01-01T00:05:00Z"), RenewalTime: tp(t, "2026-01-01T00:05:00Z"),
				ExpiringSoonFrom: tp(t, "2025-10-03T00:05:00Z"), Renewals: 3653 * 288, AutoRenews: true,
			},
		},
		"auto-renew before the start is the first term": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-06-01T00:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeSubscription, "1y")),
			now: "2025-01-01T00:00:00Z",
			want: Lifecycle{
				Start: at(t, "2025-06-01T00:00:00Z"), ValidFrom: at(t, "2025-06-01T00:00:00Z"),
				ValidUntil: tp(t, "2026-06-01T00:00:00Z"), RenewalTime: tp(t, "2026-06-01T00:00:00Z"),
				ExpiringSoonFrom: tp(t, "2026-03-03T00:00:00Z"), AutoRenews: true,
			},
		},
		"auto-renew does not apply with an explicit expiry date": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Expiry(at(t, "2025-02-01T00:00:00Z")).AutoRenew().Obj(),
			eff:  settings(typ(v1.LicenseTypeSubscription, "1m")),
			now:  "2025-06-01T00:00:00Z",
			want: lc(t, "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2024-11-03T00:00:00Z"),
		},
		"auto-renew does not apply to a Consumption licence": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).AutoRenew().Obj(),
			eff: settings(typ(v1.LicenseTypeConsumption, "1m")),
			now: "2025-06-01T00:00:00Z",
			want: func() Lifecycle {
				l := lc(t, "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2024-11-03T00:00:00Z")
				l.PeriodStart = tp(t, "2025-01-01T00:00:00Z")
				return l
			}(),
		},
		"consumption resets monthly from Jan 31": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-31T00:00:00Z")).Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				s.Type = ptr.To(v1.LicenseTypeConsumption)
				s.Consumption = &v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10), ResetPeriod: ptr.To(v1.CalendarDuration("1m"))}
			}),
			now: "2025-03-30T23:59:59Z",
			want: Lifecycle{
				Start: at(t, "2025-01-31T00:00:00Z"), ValidFrom: at(t, "2025-01-31T00:00:00Z"),
				PeriodStart: tp(t, "2025-02-28T00:00:00Z"), NextReset: tp(t, "2025-03-31T00:00:00Z"),
			},
		},
		"consumption reset before the start: the first period": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-31T00:00:00Z")).Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				s.Type = ptr.To(v1.LicenseTypeConsumption)
				s.Consumption = &v1.ConsumptionPolicy{ResetPeriod: ptr.To(v1.CalendarDuration("1w"))}
			}),
			now: "2025-01-01T00:00:00Z",
			want: Lifecycle{
				Start: at(t, "2025-01-31T00:00:00Z"), ValidFrom: at(t, "2025-01-31T00:00:00Z"),
				PeriodStart: tp(t, "2025-01-31T00:00:00Z"), NextReset: tp(t, "2025-02-07T00:00:00Z"),
			},
		},
		"non-UTC inputs are computed in UTC": {
			lic: ut.MakeLicense("l", "ns").Start(time.Date(2025, 1, 31, 23, 30, 0, 0, time.FixedZone("X", -3600))).Obj(),
			eff: settings(typ(v1.LicenseTypeTimeLimited, "1m")),
			now: "2025-02-10T00:00:00Z",
			// 23:30 at -01:00 is Feb 1 00:30 UTC, so the month ends Mar 1, not Feb 28.
			want: lc(t, "2025-02-01T00:30:00Z", "2025-03-01T00:30:00Z", "2024-12-01T00:30:00Z"),
		},
	}
	// The seed's date-only form, as the API server stores it.
	var seed v1.SoftwareLicense
	if err := json.Unmarshal([]byte(`{"spec":{"startDate":"2024-03-12","expiryDate":"2025-03-12T12:00:00+02:00"}}`), &seed); err != nil {
		t.Fatal(err)
	}
	cases["a date-only startDate starts at 00:00 UTC that day"] = struct {
		lic  *v1.SoftwareLicense
		eff  *v1.PolicySettings
		now  string
		want Lifecycle
	}{
		lic:  &seed,
		eff:  settings(typ(v1.LicenseTypeTimeLimited, "")),
		now:  "2024-06-01T00:00:00Z",
		want: lc(t, "2024-03-12T00:00:00Z", "2025-03-12T10:00:00Z", "2024-12-12T10:00:00Z"),
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ComputeLifecycle(tc.lic, tc.eff, at(t, tc.now))
			if err != nil {
				t.Fatalf("ComputeLifecycle() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ComputeLifecycle() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// lc is the lifecycle of a non-renewing licence that starts at start and ends at end.
func lc(t *testing.T, start, end, expiringSoon string) Lifecycle {
	return Lifecycle{
		Start: at(t, start), ValidFrom: at(t, start),
		ValidUntil: tp(t, end), RenewalTime: tp(t, end), ExpiringSoonFrom: tp(t, expiringSoon),
	}
}

func TestComputeLifecycleInvalidDuration(t *testing.T) {
	for _, field := range []string{"validDuration", "gracePeriod", "maintenanceDuration", "expiringSoonWindow", "consumption.resetPeriod"} {
		t.Run(field, func(t *testing.T) {
			eff := settings(typ(v1.LicenseTypeConsumption, "1y"))
			bad := ptr.To(v1.CalendarDuration("1 year"))
			switch field {
			case "validDuration":
				eff.ValidDuration = bad
			case "gracePeriod":
				eff.GracePeriod = bad
			case "maintenanceDuration":
				eff.MaintenanceDuration = bad
			case "expiringSoonWindow":
				eff.ExpiringSoonWindow = bad
			case "consumption.resetPeriod":
				eff.Consumption = &v1.ConsumptionPolicy{ResetPeriod: bad}
			}
			_, err := ComputeLifecycle(ut.MakeLicense("l", "ns").Obj(), eff, at(t, "2025-01-01T00:00:00Z"))
			if err == nil {
				t.Fatal("ComputeLifecycle() accepted an invalid duration")
			}
			if want := field + ": invalid duration"; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestPeriod(t *testing.T) {
	cases := map[string]struct {
		anchor, now string
		d           string
		wantK       int64
		from, until string
	}{
		"before the anchor":              {"2025-01-31T00:00:00Z", "2024-01-01T00:00:00Z", "1m", 0, "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z"},
		"at the anchor":                  {"2025-01-31T00:00:00Z", "2025-01-31T00:00:00Z", "1m", 0, "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z"},
		"month end kept from the anchor": {"2025-01-31T00:00:00Z", "2025-05-31T00:00:00Z", "1m", 4, "2025-05-31T00:00:00Z", "2025-06-30T00:00:00Z"},
		"day before in the month":        {"2025-01-31T00:00:00Z", "2025-05-30T23:59:59Z", "1m", 3, "2025-04-30T00:00:00Z", "2025-05-31T00:00:00Z"},
		"quarters":                       {"2024-11-30T00:00:00Z", "2025-03-01T00:00:00Z", "3m", 1, "2025-02-28T00:00:00Z", "2025-05-30T00:00:00Z"},
		"two-year periods":               {"2020-02-29T00:00:00Z", "2024-02-28T00:00:00Z", "2y", 1, "2022-02-28T00:00:00Z", "2024-02-29T00:00:00Z"},
		"weeks":                          {"2025-01-01T00:00:00Z", "2025-01-15T00:00:00Z", "1w", 2, "2025-01-15T00:00:00Z", "2025-01-22T00:00:00Z"},
		"hours, one nanosecond before":   {"2025-01-01T00:00:00Z", "2025-01-01T02:59:59.999999999Z", "1h", 2, "2025-01-01T02:00:00Z", "2025-01-01T03:00:00Z"},
		"minutes over three centuries":   {"1800-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "5min", 109573 * 288, "2100-01-01T00:00:00Z", "2100-01-01T00:05:00Z"},
		"sub-second anchor":              {"2025-01-01T00:00:00.5Z", "2025-01-01T00:10:00.4Z", "5min", 1, "2025-01-01T00:05:00.5Z", "2025-01-01T00:10:00.5Z"},
		"days":                           {"2025-01-01T12:00:00Z", "2025-03-01T11:00:00Z", "30d", 1, "2025-01-31T12:00:00Z", "2025-03-02T12:00:00Z"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			k, from, until := period(at(t, tc.anchor), MustParseDuration(tc.d), at(t, tc.now))
			got := []any{k, from, until}
			want := []any{tc.wantK, at(t, tc.from), at(t, tc.until)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("period() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzPeriod checks the invariants of period for any anchor, instant and
// duration: the period found contains now (from the anchor on), its bounds
// are anchor + k×d and anchor + (k+1)×d, and no later period has begun.
func FuzzPeriod(f *testing.F) {
	f.Add(int64(1706691600), int64(5000000), int64(1), uint8(1))   // Jan 31 + months
	f.Add(int64(1709164800), int64(126230400), int64(1), uint8(0)) // Feb 29 + years
	f.Add(int64(0), int64(999999999), int64(5), uint8(5))          // minutes
	f.Add(int64(1700000000), int64(-1000), int64(3), uint8(3))     // before the anchor
	units := []DurationUnit{UnitYear, UnitMonth, UnitWeek, UnitDay, UnitHour, UnitMinute}
	f.Fuzz(func(t *testing.T, anchorUnix, offset, value int64, unit uint8) {
		// Anchors from 1900 to 2200, instants up to about 300 years away.
		anchor := time.Unix(-2208988800+abs(anchorUnix)%(300*365*86400), 0).UTC()
		now := anchor.Add(time.Duration(offset%(300*365*86400)) * time.Second)
		d := Duration{Value: 1 + abs(value)%MaxDurationValue, Unit: units[int(unit)%len(units)]}
		at := func(k int64) time.Time { return Duration{Value: d.Value * k, Unit: d.Unit}.AddTo(anchor) }

		k, from, until := period(anchor, d, now)
		if now.Before(anchor) {
			if k != 0 || !from.Equal(anchor) || !until.Equal(at(1)) {
				t.Fatalf("before the anchor: got k=%d [%s, %s)", k, from, until)
			}
			return
		}
		if k < 0 || !from.Equal(at(k)) || !until.Equal(at(k+1)) {
			t.Fatalf("bounds of period %d are [%s, %s), want [%s, %s)", k, from, until, at(k), at(k+1))
		}
		if now.Before(from) || !now.Before(until) {
			t.Fatalf("now %s is outside the period [%s, %s) (anchor %s, %s)", now, from, until, anchor, d)
		}
	})
}

func abs(v int64) int64 {
	if v < 0 {
		if v == -v { // math.MinInt64
			return 0
		}
		return -v
	}
	return v
}
