package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// These tests run the SoftwareLicense reconciler against the fake client
// (with the real field indexes) and a fake clock, and assert the status it
// writes, the events it emits and when it asks to be requeued.

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// newFakeClient is a fake client with status subresources and every index of Indexes.
func newFakeClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(testScheme(t)).
		WithStatusSubresource(&v1.SoftwareLicense{}, &v1.LicenseProduct{}, &v1.LicenseAssignment{}).
		WithObjects(objs...)
	for _, ix := range Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}

type harness struct {
	t        *testing.T
	clock    *clocktesting.FakeClock
	client   client.Client
	recorder *events.FakeRecorder
	r        *SoftwareLicenseReconciler
}

func newHarness(t *testing.T, now time.Time, objs ...client.Object) *harness {
	t.Helper()
	c := newFakeClient(t, objs...)
	h := &harness{t: t, clock: clocktesting.NewFakeClock(now), client: c, recorder: events.NewFakeRecorder(100)}
	h.r = &SoftwareLicenseReconciler{Client: c, APIReader: c, Scheme: c.Scheme(), Clock: h.clock, Recorder: h.recorder}
	return h
}

// reconcile reconciles the licence ns/name and fails the test on an error.
func (h *harness) reconcile(ns, name string) ctrl.Result {
	h.t.Helper()
	res, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	if err != nil {
		h.t.Fatalf("Reconcile(%s/%s) error: %v", ns, name, err)
	}
	return res
}

func (h *harness) license(ns, name string) *v1.SoftwareLicense {
	h.t.Helper()
	l := &v1.SoftwareLicense{}
	if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, l); err != nil {
		h.t.Fatal(err)
	}
	return l
}

// events drains the events emitted so far.
func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mt(t *testing.T, s string) *metav1.Time { return &metav1.Time{Time: at(t, s)} }

// bound makes an assignment of seats Bound to the licence ns/name with them.
func bound(a *ut.AssignmentWrapper, license string, seats int32) *v1.LicenseAssignment {
	a.Spec.Seats = seats
	a.Status.State = v1.AssignmentStateBound
	a.Status.License = license
	a.Status.Seats = seats
	return a.Obj()
}

// conditionSummary is "Type=Status/Reason" for each condition, in order of type.
func conditionSummary(conds []metav1.Condition) map[string]string {
	out := map[string]string{}
	for _, c := range conds {
		out[c.Type] = fmt.Sprintf("%s/%s", c.Status, c.Reason)
	}
	return out
}

func stdProduct() *v1.LicenseProduct {
	std := ut.MakePolicy("std").Type(v1.LicenseTypeTimeLimited).ValidDuration("1y").
		GracePeriod("30d").ExpiringSoonWindow("30d").Obj()
	std.UnderUtilizedThresholdPercent = ptr.To[int32](50)
	return ut.MakeProduct("cad").Vendor("Acme").SKU("CAD-1").Authorization(v1.AuthorizationUser).
		Policy(std).DefaultPolicy("std").Pricing("1200", "EUR", "1y").Obj()
}

// TestSoftwareLicenseLifecycle walks a licence through Active,
// ExpiringSoon, InGracePeriod and Expired by stepping the fake clock to
// each boundary the reconciler asked to be requeued at.
func TestSoftwareLicenseLifecycle(t *testing.T) {
	lic := ut.MakeLicense("cad-1", "team-a").Product("cad").Seats(5).Start(at(t, "2025-01-01T00:00:00Z")).
		Users("ana@example.com").Discount("", "25").Obj()
	lic.Generation = 3
	h := newHarness(t, at(t, "2025-01-01T00:00:00Z"), stdProduct(), lic,
		bound(ut.MakeAssignment("a1", "team-a").License("cad-1"), "team-a/cad-1", 2),
		bound(ut.MakeAssignment("a2", "team-b").License("cad-1", "team-a"), "team-a/cad-1", 1),
		ut.MakeAssignment("a3", "team-a").License("cad-1").Seats(2).Obj(),
		// Being deleted (another controller's finalizer holds it): Released, it waits for nothing.
		func() *v1.LicenseAssignment {
			a := ut.MakeAssignment("a4", "team-a").License("cad-1").Seats(7).Deleting(at(t, "2025-01-01T00:00:00Z")).Obj()
			a.Finalizers = []string{"example.com/keep"}
			return a
		}(),
		bound(ut.MakeAssignment("a5", "team-a").License("other"), "team-a/other", 4),
	)

	res := h.reconcile("team-a", "cad-1")
	if want := at(t, "2025-12-02T00:00:00Z").Sub(h.clock.Now()); res.RequeueAfter != want {
		t.Errorf("RequeueAfter = %v, want %v (the start of the expiring-soon window)", res.RequeueAfter, want)
	}
	got := h.license("team-a", "cad-1").Status
	now := metav1.NewTime(at(t, "2025-01-01T00:00:00Z"))
	cond := func(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: 3, LastTransitionTime: now}
	}
	want := v1.SoftwareLicenseStatus{
		ObservedGeneration: 3,
		Conditions: []metav1.Condition{
			cond("Ready", "True", "Resolved", "The licence is Active and grants seats"),
			cond("Stalled", "False", "Configured", "Everything the spec names exists"),
			cond("PolicyResolved", "True", "Resolved", `Resolved policy "std" of product "cad"`),
			cond("Expired", "False", "Valid", "The licence is valid until 2026-01-01T00:00:00Z"),
			cond("ExpiringSoon", "False", "Valid", "The licence is valid until 2026-01-01T00:00:00Z"),
			cond("InGracePeriod", "False", "Valid", "The licence is valid until 2026-01-01T00:00:00Z"),
			cond("OverAllocated", "False", "WithinSeats", "3 of 5 seats used"),
			cond("UnderUtilized", "False", "WithinSeats", "3 of 5 seats used"),
			cond("SeatsExhausted", "False", "SeatsFree", "3 of 5 seats used"),
		},
		State:       v1.LicenseStateActive,
		Compliance:  v1.ComplianceCompliant,
		Seats:       v1.LicenseSeatStatus{Total: ptr.To[int32](5), Used: 3, Available: ptr.To[int32](2), Pending: 2},
		Activations: 2,
		Product: &v1.ResolvedProduct{Name: "cad", DisplayName: "cad", Vendor: "Acme", SKU: "CAD-1",
			Authorization: v1.AuthorizationUser, Covers: []string{"cad"}},
		EffectivePolicy: &v1.EffectivePolicy{
			Code: "std",
			PolicySettings: func() v1.PolicySettings {
				// A user-based product: no built-in maxActivations, the seats are the limit.
				s := licensing.BuiltinPolicyFor(stdProduct())
				s.Type = ptr.To(v1.LicenseTypeTimeLimited)
				s.ValidDuration = ptr.To(v1.CalendarDuration("1y"))
				s.GracePeriod = ptr.To(v1.CalendarDuration("30d"))
				s.ExpiringSoonWindow = ptr.To(v1.CalendarDuration("30d"))
				s.UnderUtilizedThresholdPercent = ptr.To[int32](50)
				return s
			}(),
			Sources: map[string]v1.PolicySource{
				"type": "Policy/std", "validDuration": "Policy/std", "gracePeriod": "Policy/std",
				"expiringSoonWindow": "Policy/std", "underUtilizedThresholdPercent": "Policy/std",
				"seatModel": "Default", "enforcement": "Default",
				"trial": "Default", "preventVM": "Default", "maxTransfers": "Default", "whenNoSeat": "Default",
			},
		},
		ValidFrom:   mt(t, "2025-01-01T00:00:00Z"),
		ValidUntil:  mt(t, "2026-01-01T00:00:00Z"),
		RenewalTime: mt(t, "2026-01-01T00:00:00Z"),
		GraceUntil:  mt(t, "2026-01-31T00:00:00Z"),
		Cost:        &v1.CostStatus{UnitPrice: "900.00", Total: "4500.00", Currency: "EUR", Period: "1y"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status mismatch (-want +got):\n%s", diff)
	}
	if ev := h.events(); len(ev) != 0 {
		t.Errorf("events on the first status of an active licence: %q", ev)
	}

	steps := []struct {
		to         string
		state      v1.LicenseState
		conditions map[string]string
		events     []string
		requeue    time.Duration
	}{
		{
			to: "2025-12-02T00:00:00Z", state: v1.LicenseStateExpiringSoon,
			conditions: map[string]string{"Ready": "True/Resolved", "ExpiringSoon": "True/RenewalDue", "Expired": "False/RenewalDue", "InGracePeriod": "False/RenewalDue"},
			events:     []string{"Warning ExpiringSoon Renewal is due 2026-01-01T00:00:00Z; the licence ends 2026-01-01T00:00:00Z"},
			requeue:    30 * 24 * time.Hour,
		},
		{
			to: "2026-01-01T00:00:00Z", state: v1.LicenseStateInGracePeriod,
			conditions: map[string]string{"Ready": "True/Resolved", "ExpiringSoon": "False/GracePeriod", "Expired": "False/GracePeriod", "InGracePeriod": "True/GracePeriod"},
			events:     []string{"Warning InGracePeriod The licence ended 2026-01-01T00:00:00Z; its grace period ends 2026-01-31T00:00:00Z"},
			requeue:    30 * 24 * time.Hour,
		},
		{
			to: "2026-01-31T00:00:00Z", state: v1.LicenseStateExpired,
			conditions: map[string]string{"Ready": "True/Resolved", "Stalled": "False/Configured", "ExpiringSoon": "False/PastEnd", "Expired": "True/PastEnd", "InGracePeriod": "False/PastEnd"},
			events:     []string{"Warning Expired The licence ended 2026-01-01T00:00:00Z and its grace period 2026-01-31T00:00:00Z"},
			requeue:    0, // nothing changes any more
		},
	}
	for _, s := range steps {
		// One nanosecond before the boundary nothing changes.
		h.clock.SetTime(at(t, s.to).Add(-time.Nanosecond))
		before := h.license("team-a", "cad-1")
		h.reconcile("team-a", "cad-1")
		if after := h.license("team-a", "cad-1"); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("%s: the status was written one nanosecond before the boundary", s.to)
		}
		if ev := h.events(); len(ev) != 0 {
			t.Errorf("%s: events before the boundary: %q", s.to, ev)
		}

		h.clock.SetTime(at(t, s.to))
		res := h.reconcile("team-a", "cad-1")
		got := h.license("team-a", "cad-1").Status
		if got.State != s.state {
			t.Errorf("%s: state = %s, want %s", s.to, got.State, s.state)
		}
		summary := conditionSummary(got.Conditions)
		for typ, want := range s.conditions {
			if summary[typ] != want {
				t.Errorf("%s: condition %s = %s, want %s", s.to, typ, summary[typ], want)
			}
		}
		if diff := cmp.Diff(s.events, h.events()); diff != "" {
			t.Errorf("%s: events mismatch (-want +got):\n%s", s.to, diff)
		}
		if res.RequeueAfter != s.requeue {
			t.Errorf("%s: RequeueAfter = %v, want %v", s.to, res.RequeueAfter, s.requeue)
		}
		changed := meta.FindStatusCondition(got.Conditions, string(s.state))
		if changed == nil || !changed.LastTransitionTime.Time.Equal(at(t, s.to)) {
			t.Errorf("%s: condition %s did not transition at the fake clock's time: %+v", s.to, s.state, changed)
		}

		// A second reconcile at the same instant writes nothing and says nothing.
		before = h.license("team-a", "cad-1")
		h.reconcile("team-a", "cad-1")
		if after := h.license("team-a", "cad-1"); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("%s: a reconcile without change wrote the status again", s.to)
		}
		if ev := h.events(); len(ev) != 0 {
			t.Errorf("%s: a reconcile without change emitted %q", s.to, ev)
		}
	}
}

func TestSoftwareLicensePendingRequeuesAtStart(t *testing.T) {
	h := newHarness(t, at(t, "2025-01-01T00:00:00Z"),
		ut.MakeLicense("l", "ns").Start(at(t, "2025-01-01T00:05:00Z")).Obj())
	res := h.reconcile("ns", "l")
	if res.RequeueAfter != 5*time.Minute {
		t.Errorf("RequeueAfter = %v, want 5m", res.RequeueAfter)
	}
	got := h.license("ns", "l").Status
	if got.State != v1.LicenseStatePending {
		t.Errorf("state = %s, want Pending", got.State)
	}
	// Not yet valid is a state of the licence: it is Ready, and grants no seats.
	if s := conditionSummary(got.Conditions)["Ready"]; s != "True/Resolved" {
		t.Errorf("Ready = %s, want True/Resolved", s)
	}
	h.clock.SetTime(at(t, "2025-01-01T00:05:00Z"))
	res = h.reconcile("ns", "l")
	if got := h.license("ns", "l").Status.State; got != v1.LicenseStateActive {
		t.Errorf("state at the start = %s, want Active", got)
	}
	if res.RequeueAfter != 0 {
		t.Errorf("a perpetual licence without dates asked to be requeued after %v", res.RequeueAfter)
	}
}

// TestSoftwareLicenseAutoRenew: an auto-renewing subscription starts a new
// term at the end of each, counts its renewals and announces each once.
func TestSoftwareLicenseAutoRenew(t *testing.T) {
	product := ut.MakeProduct("saas").Authorization(v1.AuthorizationUser).
		Policy(ut.MakePolicy("monthly").Type(v1.LicenseTypeSubscription).ValidDuration("1m").ExpiringSoonWindow("1w").Obj()).
		DefaultPolicy("monthly").Obj()
	h := newHarness(t, at(t, "2024-01-31T09:00:00Z"), product,
		ut.MakeLicense("s", "ns").Product("saas").Start(at(t, "2024-01-31T09:00:00Z")).AutoRenew().Obj())

	res := h.reconcile("ns", "s")
	if want := at(t, "2024-02-22T09:00:00Z").Sub(h.clock.Now()); res.RequeueAfter != want {
		t.Errorf("RequeueAfter = %v, want %v", res.RequeueAfter, want)
	}
	h.clock.SetTime(at(t, "2024-02-22T09:00:00Z"))
	h.reconcile("ns", "s")
	if diff := cmp.Diff([]string{"Warning ExpiringSoon Renewal is due 2024-02-29T09:00:00Z; the licence ends 2024-02-29T09:00:00Z"}, h.events()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}

	h.clock.SetTime(at(t, "2024-02-29T09:00:00Z"))
	res = h.reconcile("ns", "s")
	got := h.license("ns", "s").Status
	want := struct {
		State                 v1.LicenseState
		Renewals              int32
		ValidFrom, ValidUntil *metav1.Time
	}{v1.LicenseStateActive, 1, mt(t, "2024-02-29T09:00:00Z"), mt(t, "2024-03-31T09:00:00Z")}
	gotSummary := struct {
		State                 v1.LicenseState
		Renewals              int32
		ValidFrom, ValidUntil *metav1.Time
	}{got.State, got.Renewals, got.ValidFrom, got.ValidUntil}
	if diff := cmp.Diff(want, gotSummary); diff != "" {
		t.Errorf("after the renewal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Normal Renewed The licence renewed automatically (renewal 1): the new term runs until 2024-03-31T09:00:00Z"}, h.events()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if want := at(t, "2024-03-24T09:00:00Z").Sub(h.clock.Now()); res.RequeueAfter != want {
		t.Errorf("RequeueAfter = %v, want %v (the next window)", res.RequeueAfter, want)
	}

	// The next window brings a new ExpiringSoon event: the condition went False at the renewal.
	h.clock.SetTime(at(t, "2024-03-24T09:00:00Z"))
	h.reconcile("ns", "s")
	if ev := h.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning ExpiringSoon") {
		t.Errorf("events in the second term's window = %q, want one ExpiringSoon", ev)
	}
}

func TestSoftwareLicenseStatusCases(t *testing.T) {
	now := "2025-06-01T00:00:00Z"
	suite := ut.MakeProduct("suite").Authorization(v1.AuthorizationUser).Bundle("cad", "cam").
		Policy(ut.MakePolicy("std").Obj()).DefaultPolicy("std").Obj()
	soft := ut.MakeProduct("soft").Authorization(v1.AuthorizationUser).
		Policy(ut.MakePolicy("soft").Enforcement(v1.EnforcementSoft).Obj()).DefaultPolicy("soft").Obj()
	metered := ut.MakeProduct("metered").Authorization(v1.AuthorizationUser).
		Policy(ut.MakePolicy("m").Type(v1.LicenseTypeConsumption).Consumption(v1.ConsumptionPolicy{
			MaxConsumptions: ptr.To[int64](100), AllowOverages: ptr.To(true), MaxOverages: ptr.To[int64](20),
			ResetPeriod: ptr.To(v1.CalendarDuration("1m")),
		}).Obj()).DefaultPolicy("m").Obj()
	start := at(t, "2025-01-15T00:00:00Z")

	type summary struct {
		State       v1.LicenseState
		Compliance  v1.Compliance
		Seats       v1.LicenseSeatStatus
		Product     *v1.ResolvedProduct
		Conditions  map[string]string
		Consumption *v1.ConsumptionStatus
		NextReset   *metav1.Time
	}
	cases := map[string]struct {
		objs []client.Object
		want summary
	}{
		"product not found": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Product("ghost").Start(start).Obj()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Product:    &v1.ResolvedProduct{Name: "ghost"},
				Conditions: map[string]string{"Ready": "False/ProductNotFound", "Stalled": "True/ProductNotFound", "PolicyResolved": "False/ProductNotFound"}},
		},
		"policy not found": {
			objs: []client.Object{stdProduct(), ut.MakeLicense("l", "ns").Product("cad").PolicyCode("gold").Start(start).Obj()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Product:    &v1.ResolvedProduct{Name: "cad", DisplayName: "cad", Vendor: "Acme", SKU: "CAD-1", Authorization: v1.AuthorizationUser, Covers: []string{"cad"}},
				Conditions: map[string]string{"Ready": "False/PolicyNotFound", "Stalled": "True/PolicyNotFound", "PolicyResolved": "False/PolicyNotFound"}},
		},
		"bundle without a policy code": {
			objs: []client.Object{suite, ut.MakeLicense("l", "ns").Product("suite").Start(start).Obj()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Product:    &v1.ResolvedProduct{Name: "suite", DisplayName: "suite", Authorization: v1.AuthorizationUser, Covers: []string{"suite", "cad", "cam"}},
				Conditions: map[string]string{"Ready": "False/BundlePolicyRequired", "Stalled": "True/BundlePolicyRequired", "PolicyResolved": "False/BundlePolicyRequired"}},
		},
		"bundle with a policy code covers its members": {
			objs: []client.Object{suite, ut.MakeLicense("l", "ns").Product("suite").PolicyCode("std").Start(start).Obj()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Product:    &v1.ResolvedProduct{Name: "suite", DisplayName: "suite", Authorization: v1.AuthorizationUser, Covers: []string{"suite", "cad", "cam"}},
				Conditions: map[string]string{"Ready": "True/Resolved", "PolicyResolved": "True/Resolved"}},
		},
		"no product: product from the spec": {
			objs: []client.Object{func() *v1.SoftwareLicense {
				l := ut.MakeLicense("l", "ns").Start(start).Obj()
				l.Spec.Vendor, l.Spec.ProductName, l.Spec.ProductSKU = "Globex", "Globex DB", "GDB-9"
				return l
			}()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Product:    &v1.ResolvedProduct{DisplayName: "Globex DB", Vendor: "Globex", SKU: "GDB-9"},
				Conditions: map[string]string{"Ready": "True/Resolved", "SeatsExhausted": "False/SeatsFree"}},
		},
		"unlimited seats are never exhausted nor over-allocated": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Start(start).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 50)},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant, Seats: v1.LicenseSeatStatus{Used: 50},
				Conditions: map[string]string{"SeatsExhausted": "False/SeatsFree", "OverAllocated": "False/WithinSeats"}},
		},
		"all seats used": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Seats(2).Start(start).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 2)},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Seats:      v1.LicenseSeatStatus{Total: ptr.To[int32](2), Used: 2, Available: ptr.To[int32](0)},
				Conditions: map[string]string{"SeatsExhausted": "True/NoSeatsFree", "OverAllocated": "False/WithinSeats"}},
		},
		"over-allocated under soft enforcement": {
			objs: []client.Object{soft, ut.MakeLicense("l", "ns").Product("soft").Seats(2).Start(start).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 2),
				bound(ut.MakeAssignment("b", "ns").License("l"), "ns/l", 1)},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceOverAllocated,
				Seats:      v1.LicenseSeatStatus{Total: ptr.To[int32](2), Used: 3, Available: ptr.To[int32](0)},
				Product:    &v1.ResolvedProduct{Name: "soft", DisplayName: "soft", Authorization: v1.AuthorizationUser, Covers: []string{"soft"}},
				Conditions: map[string]string{"OverAllocated": "True/SeatsExceeded", "UnderUtilized": "False/SeatsExceeded", "SeatsExhausted": "True/NoSeatsFree"}},
		},
		"under-utilised": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Seats(10).Start(start).
				Overrides(v1.PolicySettings{UnderUtilizedThresholdPercent: ptr.To[int32](50)}).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 4)},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceUnderUtilized,
				Seats:      v1.LicenseSeatStatus{Total: ptr.To[int32](10), Used: 4, Available: ptr.To[int32](6)},
				Conditions: map[string]string{"UnderUtilized": "True/BelowThreshold", "OverAllocated": "False/BelowThreshold"}},
		},
		"suspended: Ready (a state, not a broken licence), grants no seats, dates still reported": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Start(start).Expiry(at(t, "2025-03-01T00:00:00Z")).State(v1.AdminStateSuspended).Obj()},
			want: summary{State: v1.LicenseStateSuspended, Compliance: v1.ComplianceCompliant,
				Conditions: map[string]string{"Ready": "True/Resolved", "Stalled": "False/Configured", "Expired": "True/PastEnd"}},
		},
		"revoked": {
			objs: []client.Object{ut.MakeLicense("l", "ns").Start(start).State(v1.AdminStateRevoked).Obj()},
			want: summary{State: v1.LicenseStateRevoked, Compliance: v1.ComplianceCompliant,
				Conditions: map[string]string{"Ready": "True/Resolved", "Stalled": "False/Configured", "Expired": "False/Valid"}},
		},
		"consumption in the current period, within overages": {
			objs: []client.Object{metered, ut.MakeLicense("l", "ns").Product("metered").Start(start).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l").Consumption(70), "ns/l", 1),
				func() *v1.LicenseAssignment {
					a := bound(ut.MakeAssignment("b", "ns").License("l").Consumption(90), "ns/l", 1)
					a.Status.Consumption = &v1.AssignmentConsumption{PeriodStart: mt(t, "2025-05-15T00:00:00Z"), Baseline: 50}
					return a
				}(),
				func() *v1.LicenseAssignment {
					// A baseline of an earlier period: the whole running total counts.
					a := bound(ut.MakeAssignment("c", "ns").License("l").Consumption(5), "ns/l", 1)
					a.Status.Consumption = &v1.AssignmentConsumption{PeriodStart: mt(t, "2025-04-15T00:00:00Z"), Baseline: 3}
					return a
				}()},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Seats:   v1.LicenseSeatStatus{Used: 3},
				Product: &v1.ResolvedProduct{Name: "metered", DisplayName: "metered", Authorization: v1.AuthorizationUser, Covers: []string{"metered"}},
				Consumption: &v1.ConsumptionStatus{Used: 115, Overage: 15, PeriodStart: mt(t, "2025-05-15T00:00:00Z"),
					Reported: 115, ReportedBy: []v1.ReportedUsage{{UID: "ns/a", Used: 70}, {UID: "ns/b", Used: 40}, {UID: "ns/c", Used: 5}}},
				NextReset:  mt(t, "2025-06-15T00:00:00Z"),
				Conditions: map[string]string{"SeatsExhausted": "False/SeatsFree"}},
		},
		"consumption exhausted": {
			objs: []client.Object{metered, ut.MakeLicense("l", "ns").Product("metered").Start(start).Obj(),
				bound(ut.MakeAssignment("a", "ns").License("l").Consumption(120), "ns/l", 1)},
			want: summary{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant,
				Seats:   v1.LicenseSeatStatus{Used: 1},
				Product: &v1.ResolvedProduct{Name: "metered", DisplayName: "metered", Authorization: v1.AuthorizationUser, Covers: []string{"metered"}},
				Consumption: &v1.ConsumptionStatus{Used: 120, Overage: 20, PeriodStart: mt(t, "2025-05-15T00:00:00Z"),
					Reported: 120, ReportedBy: []v1.ReportedUsage{{UID: "ns/a", Used: 120}}},
				NextReset:  mt(t, "2025-06-15T00:00:00Z"),
				Conditions: map[string]string{"SeatsExhausted": "True/ConsumptionExhausted"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, at(t, now), tc.objs...)
			h.reconcile("ns", "l")
			st := h.license("ns", "l").Status
			all := conditionSummary(st.Conditions)
			conds := map[string]string{}
			for typ := range tc.want.Conditions {
				conds[typ] = all[typ]
			}
			got := summary{st.State, st.Compliance, st.Seats, st.Product, conds, st.Consumption, st.NextResetTime}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
			if len(st.Conditions) != 9 {
				t.Errorf("%d conditions, want all 9: %v", len(st.Conditions), all)
			}
		})
	}
}

// TestSoftwareLicenseEventsOnFirstStatus: a licence created already past its
// end is announced once, and a licence that becomes over-allocated too.
// newSoftHarness holds ns/l, a one-seat licence of a Soft product, and
// ns/a, an assignment bound to its seat.
func newSoftHarness(t *testing.T) *harness {
	t.Helper()
	soft := ut.MakeProduct("soft").Authorization(v1.AuthorizationUser).
		Policy(ut.MakePolicy("soft").Enforcement(v1.EnforcementSoft).Obj()).DefaultPolicy("soft").Obj()
	return newHarness(t, at(t, "2025-06-01T00:00:00Z"), soft,
		ut.MakeLicense("l", "ns").Product("soft").Seats(1).Start(at(t, "2025-01-01T00:00:00Z")).Obj(),
		bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 1))
}

func TestSoftwareLicenseSeatEvents(t *testing.T) {
	h := newSoftHarness(t)
	h.reconcile("ns", "l")
	if ev := h.events(); len(ev) != 0 {
		t.Fatalf("events for a compliant licence: %q", ev)
	}
	if err := h.client.Create(context.Background(), bound(ut.MakeAssignment("b", "ns").License("l"), "ns/l", 1)); err != nil {
		t.Fatal(err)
	}
	h.reconcile("ns", "l")
	if diff := cmp.Diff([]string{"Warning OverAllocated 2 of 1 seats used"}, h.events()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	h.reconcile("ns", "l")
	if ev := h.events(); len(ev) != 0 {
		t.Errorf("the over-allocation was announced again: %q", ev)
	}

	expired := newHarness(t, at(t, "2025-06-01T00:00:00Z"),
		ut.MakeLicense("old", "ns").Start(at(t, "2024-01-01T00:00:00Z")).Expiry(at(t, "2025-01-01T00:00:00Z")).Obj())
	expired.reconcile("ns", "old")
	if diff := cmp.Diff([]string{"Warning Expired The licence ended 2025-01-01T00:00:00Z"}, expired.events()); diff != "" {
		t.Errorf("events of a licence created expired (-want +got):\n%s", diff)
	}
}

// TestSoftwareLicenseProductChange: the status follows the product's policy.
func TestSoftwareLicenseProductChange(t *testing.T) {
	product := stdProduct()
	h := newHarness(t, at(t, "2025-06-01T00:00:00Z"), product,
		ut.MakeLicense("l", "ns").Product("cad").Start(at(t, "2025-01-01T00:00:00Z")).Obj())
	h.reconcile("ns", "l")
	if got := h.license("ns", "l").Status.ValidUntil; !got.Time.Equal(at(t, "2026-01-01T00:00:00Z")) {
		t.Fatalf("validUntil = %v", got)
	}
	p := &v1.LicenseProduct{}
	if err := h.client.Get(context.Background(), types.NamespacedName{Name: "cad"}, p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Policies[0].ValidDuration = ptr.To(v1.CalendarDuration("2y"))
	if err := h.client.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	h.reconcile("ns", "l")
	st := h.license("ns", "l").Status
	if !st.ValidUntil.Time.Equal(at(t, "2027-01-01T00:00:00Z")) || *st.EffectivePolicy.ValidDuration != "2y" {
		t.Errorf("after the policy change: validUntil %v, validDuration %v; want 2027-01-01 and 2y", st.ValidUntil, *st.EffectivePolicy.ValidDuration)
	}
}

func TestSoftwareLicenseKeys(t *testing.T) {
	keyProduct := ut.MakeProduct("cad").Obj() // Key authorisation
	start := at(t, "2025-01-01T00:00:00Z")
	licWithUID := func(w *ut.LicenseWrapper) *v1.SoftwareLicense {
		l := w.Start(start).Obj()
		l.UID = types.UID("uid-" + l.Name)
		return l
	}
	userSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vendor-key", Namespace: "ns"},
		Data:       map[string][]byte{"license-key": []byte("USER-SECRET-KEY-0001"), "alt": []byte("ALT-KEY-0002")},
	}

	t.Run("generated into an owned, labelled, immutable Secret and kept", func(t *testing.T) {
		h := newHarness(t, start, keyProduct, licWithUID(ut.MakeLicense("gen", "ns").Product("cad")))
		h.reconcile("ns", "gen")
		secret := &corev1.Secret{}
		if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "gen-license-key"}, secret); err != nil {
			t.Fatalf("no generated Secret: %v", err)
		}
		key := secret.Data[KeySecretDataKey]
		if len(key) == 0 || !metav1.IsControlledBy(secret, h.license("ns", "gen")) ||
			secret.Labels[KeySecretLabel] != "true" || secret.Immutable == nil || !*secret.Immutable {
			t.Fatalf("generated Secret is not as wanted: %+v", secret)
		}
		st := h.license("ns", "gen").Status
		if st.KeyFingerprint != licensing.KeyFingerprint(key) || st.KeySecretName != "gen-license-key" {
			t.Errorf("fingerprint %q secret %q, want %q gen-license-key", st.KeyFingerprint, st.KeySecretName, licensing.KeyFingerprint(key))
		}
		if s := conditionSummary(st.Conditions)["Ready"]; s != "True/Resolved" {
			t.Errorf("Ready = %s", s)
		}
		assertKeyNowhere(t, string(key), st, h.events())

		h.reconcile("ns", "gen")
		again := &corev1.Secret{}
		if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "gen-license-key"}, again); err != nil {
			t.Fatal(err)
		}
		if string(again.Data[KeySecretDataKey]) != string(key) {
			t.Error("the key was generated again")
		}
	})

	t.Run("a Secret of that name the licence does not own is left alone", func(t *testing.T) {
		foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gen-license-key", Namespace: "ns"},
			Data: map[string][]byte{"license-key": []byte("SOMEONE-ELSES-KEY")}}
		h := newHarness(t, start, keyProduct, foreign, licWithUID(ut.MakeLicense("gen", "ns").Product("cad")))
		h.reconcile("ns", "gen")
		st := h.license("ns", "gen").Status
		ready := meta.FindStatusCondition(st.Conditions, v1.ConditionReady)
		if ready.Status != metav1.ConditionFalse || ready.Reason != v1.ReasonKeyNotFound ||
			!strings.Contains(ready.Message, `Secret "gen-license-key" exists and is not owned by this licence`) {
			t.Errorf("Ready = %+v", ready)
		}
		if st.KeyFingerprint != "" || st.KeySecretName != "" {
			t.Errorf("fingerprint %q secret %q for a foreign Secret", st.KeyFingerprint, st.KeySecretName)
		}
		after := &corev1.Secret{}
		if err := h.client.Get(context.Background(), client.ObjectKeyFromObject(foreign), after); err != nil {
			t.Fatal(err)
		}
		if string(after.Data["license-key"]) != "SOMEONE-ELSES-KEY" || len(after.OwnerReferences) != 0 {
			t.Errorf("the foreign Secret was changed: %+v", after)
		}
		assertKeyNowhere(t, "SOMEONE-ELSES-KEY", st, h.events())
	})

	cases := map[string]struct {
		lic         *v1.SoftwareLicense
		fingerprint string
		ready       string
		message     string
	}{
		"user Secret, default data key": {
			lic:         licWithUID(ut.MakeLicense("u", "ns").Product("cad").KeySecret("vendor-key", "")),
			fingerprint: licensing.KeyFingerprint([]byte("USER-SECRET-KEY-0001")), ready: "True/Resolved",
		},
		"user Secret, another data key": {
			lic:         licWithUID(ut.MakeLicense("u", "ns").KeySecret("vendor-key", "alt")),
			fingerprint: licensing.KeyFingerprint([]byte("ALT-KEY-0002")), ready: "True/Resolved",
		},
		"user Secret missing": {
			lic: licWithUID(ut.MakeLicense("u", "ns").KeySecret("nope", "")), ready: "False/KeyNotFound",
			message: licensing.KeyNotFoundMessage("ns", "nope", "license-key", KeySecretLabel),
		},
		"data key missing": {
			lic: licWithUID(ut.MakeLicense("u", "ns").KeySecret("vendor-key", "other")), ready: "False/KeyNotFound",
			message: licensing.KeyNotFoundMessage("ns", "vendor-key", "other", KeySecretLabel),
		},
		"user-authorised product: no key, none generated": {
			lic:   licWithUID(ut.MakeLicense("u", "ns").Product("user")),
			ready: "True/Resolved",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, start, keyProduct, ut.MakeProduct("user").Authorization(v1.AuthorizationUser).Obj(), userSecret, tc.lic)
			h.reconcile("ns", "u")
			st := h.license("ns", "u").Status
			if st.KeyFingerprint != tc.fingerprint || st.KeySecretName != "" {
				t.Errorf("fingerprint %q secret %q, want %q and none", st.KeyFingerprint, st.KeySecretName, tc.fingerprint)
			}
			ready := meta.FindStatusCondition(st.Conditions, v1.ConditionReady)
			if got := fmt.Sprintf("%s/%s", ready.Status, ready.Reason); got != tc.ready || !strings.Contains(ready.Message, tc.message) {
				t.Errorf("Ready = %s %q, want %s containing %q", got, ready.Message, tc.ready, tc.message)
			}
			var secrets corev1.SecretList
			if err := h.client.List(context.Background(), &secrets); err != nil {
				t.Fatal(err)
			}
			if len(secrets.Items) != 1 {
				t.Errorf("%d Secrets, want only the user's: a key was generated for a licence that names one", len(secrets.Items))
			}
			assertKeyNowhere(t, "USER-SECRET-KEY-0001", st, h.events())
			assertKeyNowhere(t, "ALT-KEY-0002", st, nil)
		})
	}
}

// A licence author learns nothing from the status about a Secret she may not
// read: a Secret that does not exist, one without the key and one with the
// key empty give the same status text.
func TestSoftwareLicenseKeyNotFoundDisclosesNothing(t *testing.T) {
	start := at(t, "2025-01-01T00:00:00Z")
	secret := func(data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: "ns"}, Data: data}
	}
	worlds := map[string][]client.Object{
		"no such Secret": nil,
		"no such key":    {secret(map[string][]byte{"password": []byte("hunter2"), "user": []byte("admin")})},
		"the key empty":  {secret(map[string][]byte{"license-key": nil, "password": []byte("hunter2")})},
	}
	var first, firstName string
	for name, objs := range worlds {
		lic := ut.MakeLicense("u", "ns").KeySecret("db-password", "").Start(start).Obj()
		lic.UID = "uid-u"
		h := newHarness(t, start, append(objs, lic)...)
		h.reconcile("ns", "u")
		st := h.license("ns", "u").Status
		ready := meta.FindStatusCondition(st.Conditions, v1.ConditionReady)
		if ready == nil || ready.Reason != v1.ReasonKeyNotFound {
			t.Fatalf("%s: Ready = %+v, want KeyNotFound", name, ready)
		}
		if want := licensing.KeyNotFoundMessage("ns", "db-password", "license-key", KeySecretLabel); ready.Message != want {
			t.Errorf("%s: Ready says %q, want %q", name, ready.Message, want)
		}
		if st.KeyFingerprint != "" {
			t.Errorf("%s: a fingerprint %q without a key", name, st.KeyFingerprint)
		}
		text := ready.Message + "|" + strings.Join(h.events(), "|")
		if first == "" {
			first, firstName = text, name
		} else if text != first {
			t.Errorf("%q and %q read differently:\n  %s\n  %s", firstName, name, first, text)
		}
	}
}

// assertKeyNowhere fails when the key appears in the status or the events.
func assertKeyNowhere(t *testing.T, key string, st v1.SoftwareLicenseStatus, recorded []string) {
	t.Helper()
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), key) {
		t.Errorf("the key %q is in the status: %s", key, raw)
	}
	for _, e := range recorded {
		if strings.Contains(e, key) {
			t.Errorf("the key %q is in an event: %s", key, e)
		}
	}
}

func TestSoftwareLicenseDeletedForgetsMetrics(t *testing.T) {
	h := newHarness(t, at(t, "2025-06-01T00:00:00Z"), ut.MakeLicense("l", "ns").Seats(3).Obj())
	h.reconcile("ns", "l")
	if n := seriesOf(t, "ns", "l"); n == 0 {
		t.Fatal("no metric series for a reconciled licence")
	}
	if err := h.client.Delete(context.Background(), h.license("ns", "l")); err != nil {
		t.Fatal(err)
	}
	if res := h.reconcile("ns", "l"); res.RequeueAfter != 0 {
		t.Errorf("a deleted licence asked for a requeue")
	}
	if n := seriesOf(t, "ns", "l"); n != 0 {
		t.Errorf("%d metric series left for a deleted licence", n)
	}
	if err := h.client.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: "l"}, &v1.SoftwareLicense{}); !apierrors.IsNotFound(err) {
		t.Fatalf("licence still there: %v", err)
	}
}

func TestLicensesForAssignment(t *testing.T) {
	req := func(ns, name string) ctrl.Request {
		return ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	}
	cases := map[string]struct {
		a    *v1.LicenseAssignment
		want []ctrl.Request
	}{
		"referenced only":         {ut.MakeAssignment("a", "ns").License("l").Obj(), []ctrl.Request{req("ns", "l")}},
		"shared licence":          {ut.MakeAssignment("a", "ns").License("l", "other").Obj(), []ctrl.Request{req("other", "l")}},
		"bound to the referenced": {bound(ut.MakeAssignment("a", "ns").License("l"), "ns/l", 1), []ctrl.Request{req("ns", "l")}},
		"bound by product":        {bound(ut.MakeAssignment("a", "ns").Product("p"), "x/l2", 1), []ctrl.Request{req("x", "l2")}},
		"neither":                 {ut.MakeAssignment("a", "ns").Product("p").Obj(), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := licensesForAssignment(context.Background(), tc.a)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// staleLicences is a cache that has not shown the writes made since it was
// frozen: Gets of the frozen licences return them as they were.
type staleLicences struct {
	client.Client
	frozen map[types.NamespacedName]*v1.SoftwareLicense
}

func (c *staleLicences) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if l, ok := obj.(*v1.SoftwareLicense); ok && c.frozen[key] != nil {
		c.frozen[key].DeepCopyInto(l)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestSoftwareLicenseOwnWritesOnStaleCache: a reconcile whose cache still
// shows the licence as it was before this process's last status write
// patches from that write (no Conflict, no lost update) and compares with
// it (the transition is announced once, not again on every stale pass).
func TestSoftwareLicenseOwnWritesOnStaleCache(t *testing.T) {
	h := newSoftHarness(t)
	key := types.NamespacedName{Namespace: "ns", Name: "l"}
	stale := &staleLicences{Client: h.client, frozen: map[types.NamespacedName]*v1.SoftwareLicense{key: h.license("ns", "l")}}
	h.r.Client = stale

	h.reconcile("ns", "l") // the first status write; the cache does not show it
	first := h.license("ns", "l")
	if first.Status.Seats.Used != 1 {
		t.Fatalf("first pass: %d seats used, want 1", first.Status.Seats.Used)
	}
	if err := h.client.Create(context.Background(), bound(ut.MakeAssignment("b", "ns").License("l"), "ns/l", 1)); err != nil {
		t.Fatal(err)
	}
	h.reconcile("ns", "l")
	second := h.license("ns", "l")
	if second.Status.Seats.Used != 2 || second.ResourceVersion == first.ResourceVersion {
		t.Fatalf("second pass on a stale cache: %d seats used (resourceVersion %s, was %s), want 2 written",
			second.Status.Seats.Used, second.ResourceVersion, first.ResourceVersion)
	}
	if diff := cmp.Diff([]string{"Warning OverAllocated 2 of 1 seats used"}, h.events()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	h.reconcile("ns", "l")
	if ev := h.events(); len(ev) != 0 {
		t.Errorf("a stale pass announced the over-allocation again: %q", ev)
	}
	if third := h.license("ns", "l"); third.ResourceVersion != second.ResourceVersion {
		t.Errorf("a pass with nothing new wrote the licence again (resourceVersion %s, was %s)", third.ResourceVersion, second.ResourceVersion)
	}
}

// TestSoftwareLicenseCostPerPriceUnit: status.cost.total counts what the
// product's pricing.unit prices, here the usage of the current period of a
// product priced per unit of consumption, not the licence's seats.
func TestSoftwareLicenseCostPerPriceUnit(t *testing.T) {
	metered := ut.MakeProduct("metered").Authorization(v1.AuthorizationUser).Pricing("0.05", "USD", "1m").
		Policy(ut.MakePolicy("m").Type(v1.LicenseTypeConsumption).MaxActivations(5).Consumption(v1.ConsumptionPolicy{
			ResetPeriod: ptr.To(v1.CalendarDuration("1m")),
		}).Obj()).DefaultPolicy("m").Obj()
	metered.Spec.Pricing.Unit = v1.PriceUnitConsumption
	h := newHarness(t, at(t, "2025-06-01T00:00:00Z"), metered,
		ut.MakeLicense("l", "ns").Product("metered").Seats(10).Start(at(t, "2025-01-15T00:00:00Z")).Obj(),
		bound(ut.MakeAssignment("a", "ns").License("l").Consumption(70), "ns/l", 1),
		bound(ut.MakeAssignment("b", "ns").License("l").Consumption(50), "ns/l", 1))
	h.reconcile("ns", "l")
	want := &v1.CostStatus{UnitPrice: "0.05", Total: "6.00", Currency: "USD", Period: "1m"}
	if diff := cmp.Diff(want, h.license("ns", "l").Status.Cost); diff != "" {
		t.Errorf("status.cost mismatch (-want +got):\n%s", diff)
	}
}

// TestSoftwareLicenseConsumptionExhaustedMessage: the SeatsExhausted
// condition of a Consumption licence names the limit it reached and the
// policy fields that would raise it.
func TestSoftwareLicenseConsumptionExhaustedMessage(t *testing.T) {
	metered := ut.MakeProduct("metered").Authorization(v1.AuthorizationUser).
		Policy(ut.MakePolicy("m").Type(v1.LicenseTypeConsumption).Consumption(v1.ConsumptionPolicy{
			MaxConsumptions: ptr.To[int64](100), AllowOverages: ptr.To(true), MaxOverages: ptr.To[int64](20),
			ResetPeriod: ptr.To(v1.CalendarDuration("1m")),
		}).Obj()).DefaultPolicy("m").Obj()
	h := newHarness(t, at(t, "2025-06-01T00:00:00Z"), metered,
		ut.MakeLicense("l", "ns").Product("metered").Start(at(t, "2025-01-15T00:00:00Z")).Obj(),
		bound(ut.MakeAssignment("a", "ns").License("l").Consumption(120), "ns/l", 1))
	h.reconcile("ns", "l")
	c := meta.FindStatusCondition(h.license("ns", "l").Status.Conditions, v1.ConditionSeatsExhausted)
	if c == nil {
		t.Fatal("no SeatsExhausted condition")
	}
	for _, part := range []string{"120", "maxConsumptions 100", "maxOverages 20", "2025-06-15T00:00:00Z"} {
		if !strings.Contains(c.Message, part) {
			t.Errorf("SeatsExhausted message %q does not say %q", c.Message, part)
		}
	}
}
