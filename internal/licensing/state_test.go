package licensing

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// TestStateAtEveryBoundary walks one licence through its life and checks
// the state exactly at each boundary and one nanosecond before it.
func TestStateAtEveryBoundary(t *testing.T) {
	// 5min term from 10:00, expiring soon 1min before the end, 2min grace.
	lic := ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T10:00:00Z")).Obj()
	eff := settings(func(s *v1.PolicySettings) {
		typ(v1.LicenseTypeTimeLimited, "5min")(s)
		s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1min"))
		s.GracePeriod = ptr.To(v1.CalendarDuration("2min"))
	})
	cases := []struct {
		now  string
		want v1.LicenseState
	}{
		{"2025-01-01T09:59:59.999999999Z", v1.LicenseStatePending},
		{"2025-01-01T10:00:00Z", v1.LicenseStateActive},
		{"2025-01-01T10:03:59.999999999Z", v1.LicenseStateActive},
		{"2025-01-01T10:04:00Z", v1.LicenseStateExpiringSoon},
		{"2025-01-01T10:04:59.999999999Z", v1.LicenseStateExpiringSoon},
		{"2025-01-01T10:05:00Z", v1.LicenseStateInGracePeriod},
		{"2025-01-01T10:06:59.999999999Z", v1.LicenseStateInGracePeriod},
		{"2025-01-01T10:07:00Z", v1.LicenseStateExpired},
		{"2030-01-01T00:00:00Z", v1.LicenseStateExpired},
	}
	for _, tc := range cases {
		t.Run(tc.now, func(t *testing.T) {
			now := at(t, tc.now)
			l, err := ComputeLifecycle(lic, eff, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.State(v1.AdminStateActive, now); got != tc.want {
				t.Errorf("State() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestState(t *testing.T) {
	start := "2025-01-01T00:00:00Z"
	cases := map[string]struct {
		lic   *ut.LicenseWrapper
		eff   *v1.PolicySettings
		admin v1.AdminState
		now   string
		want  v1.LicenseState
	}{
		"perpetual is active forever": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(nil),
			now: "2999-01-01T00:00:00Z", want: v1.LicenseStateActive,
		},
		"no grace period: expired exactly at the end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now: "2026-01-01T00:00:00Z", want: v1.LicenseStateExpired,
		},
		"no grace period: expiring soon one nanosecond before the end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now: "2025-12-31T23:59:59.999999999Z", want: v1.LicenseStateExpiringSoon,
		},
		"default 90d window starts exactly 90 days before the end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now: "2025-10-03T00:00:00Z", want: v1.LicenseStateExpiringSoon,
		},
		"default 90d window: active one nanosecond earlier": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(typ(v1.LicenseTypeTimeLimited, "1y")),
			now: "2025-10-02T23:59:59.999999999Z", want: v1.LicenseStateActive,
		},
		"suspended wins over active": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(nil), admin: v1.AdminStateSuspended,
			now: "2025-06-01T00:00:00Z", want: v1.LicenseStateSuspended,
		},
		"suspended wins over pending": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(nil), admin: v1.AdminStateSuspended,
			now: "2024-06-01T00:00:00Z", want: v1.LicenseStateSuspended,
		},
		"revoked wins over expired": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(typ(v1.LicenseTypeTimeLimited, "1m")), admin: v1.AdminStateRevoked,
			now: "2026-01-01T00:00:00Z", want: v1.LicenseStateRevoked,
		},
		"empty admin state is active": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)), eff: settings(nil), admin: "",
			now: "2025-06-01T00:00:00Z", want: v1.LicenseStateActive,
		},
		"renewal date window on a licence with an end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).Expiry(at(t, "2027-01-01T00:00:00Z")).Renewal(at(t, "2026-01-01T00:00:00Z")),
			eff: settings(nil), now: "2025-10-03T00:00:00Z", want: v1.LicenseStateExpiringSoon,
		},
		"past an overdue renewal date the renewal stays due until the end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).Expiry(at(t, "2027-01-01T00:00:00Z")).Renewal(at(t, "2026-01-01T00:00:00Z")),
			eff: settings(nil), now: "2026-06-01T00:00:00Z", want: v1.LicenseStateExpiringSoon,
		},
		"perpetual with a renewal date: expiring soon before it": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).Renewal(at(t, "2026-01-01T00:00:00Z")),
			eff: settings(nil), now: "2025-12-31T23:59:59Z", want: v1.LicenseStateExpiringSoon,
		},
		"perpetual with a renewal date: active again from it": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).Renewal(at(t, "2026-01-01T00:00:00Z")),
			eff: settings(nil), now: "2026-01-01T00:00:00Z", want: v1.LicenseStateActive,
		},
		"auto-renewing subscription never expires": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).AutoRenew(),
			eff: settings(func(s *v1.PolicySettings) {
				typ(v1.LicenseTypeSubscription, "1m")(s)
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1w"))
			}),
			now: "2030-05-15T00:00:00Z", want: v1.LicenseStateActive,
		},
		"auto-renewing subscription is expiring soon before each term's end": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)).AutoRenew(),
			eff: settings(func(s *v1.PolicySettings) {
				typ(v1.LicenseTypeSubscription, "1m")(s)
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1w"))
			}),
			now: "2030-05-25T00:00:00Z", want: v1.LicenseStateExpiringSoon,
		},
		"subscription without auto-renew expires": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, start)),
			eff: settings(typ(v1.LicenseTypeSubscription, "1m")), now: "2025-02-01T00:00:00Z", want: v1.LicenseStateExpired,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := at(t, tc.now)
			l, err := ComputeLifecycle(tc.lic.Obj(), tc.eff, now)
			if err != nil {
				t.Fatal(err)
			}
			admin := tc.admin
			if admin == "" && name != "empty admin state is active" {
				admin = v1.AdminStateActive
			}
			if got := l.State(admin, now); got != tc.want {
				t.Errorf("State() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNextBoundary(t *testing.T) {
	lic := ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T10:00:00Z")).Obj()
	eff := settings(func(s *v1.PolicySettings) {
		typ(v1.LicenseTypeTimeLimited, "5min")(s)
		s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1min"))
		s.GracePeriod = ptr.To(v1.CalendarDuration("2min"))
		s.MaintenanceDuration = ptr.To(v1.CalendarDuration("3min"))
	})
	cases := []struct {
		now  string
		want string // "" when none
	}{
		{"2025-01-01T09:00:00Z", "2025-01-01T10:00:00Z"},
		{"2025-01-01T10:00:00Z", "2025-01-01T10:03:00Z"}, // maintenance ends
		{"2025-01-01T10:03:00Z", "2025-01-01T10:04:00Z"}, // expiring soon
		{"2025-01-01T10:04:00Z", "2025-01-01T10:05:00Z"}, // end
		{"2025-01-01T10:04:59.999999999Z", "2025-01-01T10:05:00Z"},
		{"2025-01-01T10:05:00Z", "2025-01-01T10:07:00Z"}, // grace ends
		{"2025-01-01T10:07:00Z", ""},
	}
	for _, tc := range cases {
		t.Run(tc.now, func(t *testing.T) {
			now := at(t, tc.now)
			l, err := ComputeLifecycle(lic, eff, now)
			if err != nil {
				t.Fatal(err)
			}
			next, ok := l.NextBoundary(now)
			var got string
			if ok {
				got = next.Format(time.RFC3339Nano)
			}
			if got != tc.want {
				t.Errorf("NextBoundary() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNextBoundaryRenewalAndReset(t *testing.T) {
	cases := map[string]struct {
		lic  *v1.SoftwareLicense
		eff  *v1.PolicySettings
		now  string
		want string
	}{
		"auto-renewing: the end of the term is the renewal": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-31T00:00:00Z")).AutoRenew().Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				typ(v1.LicenseTypeSubscription, "1m")(s)
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("1d"))
			}),
			now:  "2025-03-30T12:00:00Z",
			want: "2025-03-31T00:00:00Z",
		},
		"consumption: the next reset": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Obj(),
			eff: settings(func(s *v1.PolicySettings) {
				s.Type = ptr.To(v1.LicenseTypeConsumption)
				s.Consumption = &v1.ConsumptionPolicy{ResetPeriod: ptr.To(v1.CalendarDuration("1d"))}
			}),
			now:  "2025-03-30T12:00:00Z",
			want: "2025-03-31T00:00:00Z",
		},
		"perpetual with a renewal date: the renewal date ends the window": {
			lic:  ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Renewal(at(t, "2026-01-01T00:00:00Z")).Obj(),
			eff:  settings(nil),
			now:  "2025-12-01T00:00:00Z",
			want: "2026-01-01T00:00:00Z",
		},
		"perpetual: nothing ever changes": {
			lic: ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:00:00Z")).Obj(),
			eff: settings(nil),
			now: "2025-12-01T00:00:00Z",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := at(t, tc.now)
			l, err := ComputeLifecycle(tc.lic, tc.eff, now)
			if err != nil {
				t.Fatal(err)
			}
			next, ok := l.NextBoundary(now)
			var got string
			if ok {
				got = next.Format(time.RFC3339Nano)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NextBoundary() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsable(t *testing.T) {
	want := map[v1.LicenseState]bool{
		v1.LicenseStatePending: false, v1.LicenseStateActive: true, v1.LicenseStateExpiringSoon: true,
		v1.LicenseStateInGracePeriod: true, v1.LicenseStateExpired: false, v1.LicenseStateSuspended: false,
		v1.LicenseStateRevoked: false,
	}
	for s, w := range want {
		if got := Usable(s); got != w {
			t.Errorf("Usable(%s) = %v, want %v", s, got, w)
		}
	}
}
