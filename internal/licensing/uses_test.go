package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// consumptionLicence is a Consumption licence started at start, with the
// consumption policy c and the features fs.
func consumptionLicence(start time.Time, c *licensingv1alpha1.ConsumptionPolicy, fs ...licensingv1alpha1.PolicyFeature) *licensingv1alpha1.SoftwareLicense {
	l := utiltesting.MakeLicense("metered", "team").Start(start).Obj()
	l.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{
		Type: ptr.To(licensingv1alpha1.LicenseTypeConsumption), Consumption: c, Features: fs,
	}}
	return l
}

func TestCurrentUsePeriod(t *testing.T) {
	start := mustTime(t, "2025-01-31T10:00:00Z")
	monthly := &licensingv1alpha1.ConsumptionPolicy{ResetPeriod: ptr.To(licensingv1alpha1.CalendarDuration("1m"))}
	cases := map[string]struct {
		lic       *licensingv1alpha1.SoftwareLicense
		now       string
		wantStart string
		wantNext  string
	}{
		"calendar months from the start, clamped at month end": {
			lic: consumptionLicence(start, monthly), now: "2025-03-05T00:00:00Z",
			wantStart: "2025-02-28T10:00:00Z", wantNext: "2025-03-31T10:00:00Z",
		},
		"exactly at the boundary the new period begins": {
			lic: consumptionLicence(start, monthly), now: "2025-02-28T10:00:00Z",
			wantStart: "2025-02-28T10:00:00Z", wantNext: "2025-03-31T10:00:00Z",
		},
		"one minute periods": {
			lic: consumptionLicence(start, &licensingv1alpha1.ConsumptionPolicy{ResetPeriod: ptr.To(licensingv1alpha1.CalendarDuration("1min"))}), now: "2025-01-31T10:02:30Z",
			wantStart: "2025-01-31T10:02:00Z", wantNext: "2025-01-31T10:03:00Z",
		},
		"without a resetPeriod the only period starts at the start": {
			lic: consumptionLicence(start, &licensingv1alpha1.ConsumptionPolicy{}), now: "2026-01-01T00:00:00Z",
			wantStart: "2025-01-31T10:00:00Z",
		},
		"a licence of another type has the same periods for its features": {
			lic: func() *licensingv1alpha1.SoftwareLicense {
				l := consumptionLicence(start, monthly)
				l.Status.EffectivePolicy.Type = ptr.To(licensingv1alpha1.LicenseTypeSubscription)
				return l
			}(), now: "2025-03-05T00:00:00Z",
			wantStart: "2025-02-28T10:00:00Z", wantNext: "2025-03-31T10:00:00Z",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := CurrentUsePeriod(c.lic, mustTime(t, c.now))
			if err != nil {
				t.Fatal(err)
			}
			if !p.Start.Equal(mustTime(t, c.wantStart)) {
				t.Errorf("start %s, want %s", p.Start, c.wantStart)
			}
			switch {
			case c.wantNext == "" && p.Next != nil:
				t.Errorf("next %s, want none", p.Next)
			case c.wantNext != "" && (p.Next == nil || !p.Next.Equal(mustTime(t, c.wantNext))):
				t.Errorf("next %v, want %s", p.Next, c.wantNext)
			}
		})
	}
}

func pending(uid string, features ...string) licensingv1alpha1.PendingUse {
	return licensingv1alpha1.PendingUse{UID: uid, Namespace: "team", Pod: uid, Features: features}
}

func TestDecideUse(t *testing.T) {
	start := mustTime(t, "2025-05-01T00:00:00Z")
	next := start.AddDate(0, 1, 0)
	period := UsePeriod{Start: start, Next: &next}
	limit := func(max int64, over *int64) *licensingv1alpha1.ConsumptionPolicy {
		c := &licensingv1alpha1.ConsumptionPolicy{MaxConsumptions: &max}
		if over != nil {
			c.AllowOverages, c.MaxOverages = ptr.To(true), over
		}
		return c
	}
	uses := func(confirmed int64, p ...licensingv1alpha1.PendingUse) licensingv1alpha1.LicenseUses {
		return licensingv1alpha1.LicenseUses{PeriodStart: metav1.NewTime(start), Confirmed: confirmed, Pending: p}
	}
	export := licensingv1alpha1.PolicyFeature{Code: "export", MaxConsumption: ptr.To[int64](2)}
	cases := map[string]struct {
		in       UseInput
		allowed  bool
		exhausts bool
		says     []string
	}{
		"below the limit": {
			in:      UseInput{License: consumptionLicence(start, limit(3, nil)), Uses: uses(1)},
			allowed: true,
		},
		"the use that reaches the limit exhausts it": {
			in:      UseInput{License: consumptionLicence(start, limit(3, nil)), Uses: uses(1, pending("a"))},
			allowed: true, exhausts: true,
		},
		"at the limit, confirmed and pending uses together": {
			in:   UseInput{License: consumptionLicence(start, limit(3, nil)), Pod: "Pod team/p", Uses: uses(2, pending("a"))},
			says: []string{"Pod team/p is refused", "licence team/metered", "used 3", "3 by admitted Pods, 0 reported", "maxConsumptions 3", "since 2025-05-01T00:00:00Z", "usage resets at 2025-06-01T00:00:00Z"},
		},
		"reported usage counts": {
			in:   UseInput{License: consumptionLicence(start, limit(3, nil)), Uses: uses(1), Reported: 2},
			says: []string{"1 by admitted Pods, 2 reported by assignments"},
		},
		"overages allowed up to maxOverages": {
			in:      UseInput{License: consumptionLicence(start, limit(3, ptr.To[int64](2))), Uses: uses(4)},
			allowed: true, exhausts: true,
		},
		"beyond the overages": {
			in:   UseInput{License: consumptionLicence(start, limit(3, ptr.To[int64](2))), Uses: uses(5)},
			says: []string{"maxConsumptions 3 plus maxOverages 2"},
		},
		"a feature below its maxConsumption": {
			in:      UseInput{License: consumptionLicence(start, nil, export), Features: []string{"export"}, Uses: uses(0, pending("a", "export"))},
			allowed: true,
		},
		"a feature at its maxConsumption": {
			in: UseInput{License: consumptionLicence(start, nil, export), Pod: "Pod team/p", Features: []string{"export"}, Period: period,
				Uses: licensingv1alpha1.LicenseUses{Features: []licensingv1alpha1.FeatureUses{{Code: "export", Used: 1}}, Pending: []licensingv1alpha1.PendingUse{pending("a", "export")}}},
			says: []string{"feature export of licence team/metered", "used 2 times", "maxConsumption 2", "usage resets at 2025-06-01T00:00:00Z"},
		},
		"another feature's uses do not count": {
			in:      UseInput{License: consumptionLicence(start, nil, export, licensingv1alpha1.PolicyFeature{Code: "render"}), Features: []string{"render"}, Uses: uses(0, pending("a", "export"), pending("b", "export"))},
			allowed: true,
		},
		"without a resetPeriod the message says usage never resets": {
			in:   UseInput{License: consumptionLicence(start, limit(1, nil)), Period: UsePeriod{Start: start}, Uses: uses(1)},
			says: []string{"no consumption.resetPeriod, so usage never resets"},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.in.Period.Start.IsZero() {
				c.in.Period = period
			}
			d := DecideUse(c.in)
			if d.Allowed != c.allowed || d.Exhausts != c.exhausts {
				t.Fatalf("DecideUse = %+v, want allowed %v exhausts %v", d, c.allowed, c.exhausts)
			}
			for _, s := range c.says {
				if !strings.Contains(d.Message, s) {
					t.Errorf("message %q does not say %q", d.Message, s)
				}
			}
		})
	}
}

func TestUsesInPeriod(t *testing.T) {
	start := mustTime(t, "2025-05-01T00:00:00Z")
	u := &licensingv1alpha1.LicenseUses{PeriodStart: metav1.NewTime(start), Confirmed: 4, Pending: []licensingv1alpha1.PendingUse{pending("a")}}
	if got := UsesInPeriod(u, start); AdmittedUses(got) != 5 {
		t.Errorf("same period: %d uses, want 5", AdmittedUses(got))
	}
	if got := UsesInPeriod(u, start.AddDate(0, 1, 0)); AdmittedUses(got) != 0 || !got.PeriodStart.Time.Equal(start.AddDate(0, 1, 0)) {
		t.Errorf("next period: %+v, want empty uses of the new period", got)
	}
	if got := UsesInPeriod(nil, start); AdmittedUses(got) != 0 {
		t.Errorf("no ledger: %+v", got)
	}
	if HasPendingUse(AddPendingUse(*u, pending("a")), "a") && len(AddPendingUse(*u, pending("a")).Pending) != 1 {
		t.Error("AddPendingUse added a second use for the same UID")
	}
	if HasPendingUse(RemovePendingUse(*u, "a"), "a") {
		t.Error("RemovePendingUse kept the use")
	}
}

func TestSettleUses(t *testing.T) {
	now := mustTime(t, "2025-05-10T12:00:00Z")
	grace := 30 * time.Second
	at := func(p licensingv1alpha1.PendingUse, ago time.Duration) licensingv1alpha1.PendingUse {
		p.Admitted = metav1.NewTime(now.Add(-ago))
		return p
	}
	u := licensingv1alpha1.LicenseUses{Confirmed: 2, Features: []licensingv1alpha1.FeatureUses{{Code: "export", Used: 1}}, Pending: []licensingv1alpha1.PendingUse{
		at(pending("stored", "export", "render"), time.Second),
		at(pending("never-stored"), time.Minute),
		at(pending("on-its-way"), time.Second),
	}}
	got, changed := SettleUses(u, map[string]bool{"stored": true}, now, grace)
	want := licensingv1alpha1.LicenseUses{Confirmed: 3,
		Features: []licensingv1alpha1.FeatureUses{{Code: "export", Used: 2}, {Code: "render", Used: 1}},
		Pending:  []licensingv1alpha1.PendingUse{at(pending("on-its-way"), time.Second)}}
	if !changed {
		t.Error("SettleUses reports no change")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SettleUses (-want +got):\n%s", diff)
	}
	if AdmittedUses(got) != 4 {
		t.Errorf("the stored Pod's use and the one on its way count, the never-stored one does not: %d", AdmittedUses(got))
	}
	if FeatureUsesOf(got, "export") != 2 {
		t.Errorf("export uses %d, want 2", FeatureUsesOf(got, "export"))
	}
	if _, changed := SettleUses(got, nil, now, grace); changed {
		t.Error("a use inside its grace was settled")
	}
	if n := NextSettle(got, grace); n == nil || !n.Equal(now.Add(-time.Second).Add(grace)) {
		t.Errorf("NextSettle = %v", n)
	}
}

func TestEntryOfPod(t *testing.T) {
	admitted := mustTime(t, "2025-05-10T12:00:00.700Z")
	pod := func(uid string, created string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), CreationTimestamp: metav1.NewTime(mustTime(t, created))}}
	}
	grace := 30 * time.Second
	cases := map[string]struct {
		uid  string
		pod  *corev1.Pod
		want bool
	}{
		"the Pod's own UID": {uid: "u1", pod: pod("u1", "2025-05-10T12:00:00Z"), want: true},
		"another UID":       {uid: "u2", pod: pod("u1", "2025-05-10T12:00:00Z")},
		"an admission UID, created right after (whole seconds)":   {uid: AdmissionUID("r1"), pod: pod("u1", "2025-05-10T12:00:00Z"), want: true},
		"an admission UID, created long after: a later Pod":       {uid: AdmissionUID("r1"), pod: pod("u1", "2025-05-10T12:05:00Z")},
		"an admission UID, created before the admission: earlier": {uid: AdmissionUID("r1"), pod: pod("u1", "2025-05-10T11:59:00Z")},
	}
	for name, c := range cases {
		if got := EntryOfPod(c.uid, admitted, c.pod, grace); got != c.want {
			t.Errorf("%s: EntryOfPod = %v, want %v", name, got, c.want)
		}
	}
}

func TestComputeConsumptionStatus(t *testing.T) {
	start := mustTime(t, "2025-05-01T00:00:00Z")
	policy := &licensingv1alpha1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10)}
	ledger := &licensingv1alpha1.LicenseUses{PeriodStart: metav1.NewTime(start), Confirmed: 3, Pending: []licensingv1alpha1.PendingUse{pending("a")}}
	prev := &licensingv1alpha1.ConsumptionStatus{PeriodStart: &metav1.Time{Time: start}, ReportedBy: []licensingv1alpha1.ReportedUsage{{UID: "x", Used: 4}, {UID: "y", Used: 2}}, ReportedByDeleted: 1}

	st, res := ComputeConsumptionStatus(ConsumptionStatusInput{Policy: policy, PeriodStart: start, Previous: prev, Uses: ledger, Reports: map[string]int64{"y": 3}})
	want := licensingv1alpha1.ConsumptionStatus{Used: 4 + 1 + 4 + 3, Overage: 2, Admitted: 4, Reported: 8, PeriodStart: &metav1.Time{Time: start},
		ReportedBy: []licensingv1alpha1.ReportedUsage{{UID: "y", Used: 3}}, ReportedByDeleted: 5}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("a deleted assignment keeps its usage (-want +got):\n%s", diff)
	}
	if !res.Exhausted {
		t.Error("12 of 10 is not exhausted")
	}

	st, _ = ComputeConsumptionStatus(ConsumptionStatusInput{Policy: policy, PeriodStart: start.AddDate(0, 1, 0), Previous: prev, Uses: ledger, Reports: map[string]int64{"y": 1}})
	if st.Used != 1 || st.Admitted != 0 || st.ReportedByDeleted != 0 {
		t.Errorf("a new period starts from zero: %+v", st)
	}
}

func TestProductUses(t *testing.T) {
	free := utiltesting.MakeProduct("viewer").Obj()
	free.Spec.Pricing = &licensingv1alpha1.Pricing{FreeToUse: true}
	paid := utiltesting.MakeProduct("cad").Obj()
	products := []licensingv1alpha1.LicenseProduct{*free, *paid}
	pod := func(product string, phase corev1.PodPhase) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{licensingv1alpha1.ProductAnnotation: product}}, Status: corev1.PodStatus{Phase: phase}}
	}
	pods := []corev1.Pod{pod("viewer", corev1.PodRunning), pod("viewer,cad", corev1.PodPending), pod("viewer", corev1.PodSucceeded), pod("cad", corev1.PodRunning)}
	if got := ProductUses(free, products, pods); got == nil || *got != 2 {
		t.Errorf("ProductUses(freeToUse) = %v, want 2 (running and pending, not finished)", got)
	}
	if got := ProductUses(paid, products, pods); got != nil {
		t.Errorf("ProductUses of a product that needs seats = %v, want nil", *got)
	}
}
