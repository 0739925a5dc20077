package controller

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func withUsed(l *v1.SoftwareLicense, used int32) *v1.SoftwareLicense {
	l.Status.Seats.Used = used
	return l
}

// resolved is the conditions of a product that is Ready with message.
func resolved(message string) []metav1.Condition {
	return []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Resolved", Message: message},
		{Type: "Stalled", Status: "False", Reason: "Configured", Message: "Everything the spec names exists"}}
}

// broken is the conditions of a product that is not Ready, and so Stalled,
// for reason.
func broken(reason, message string) []metav1.Condition {
	return []metav1.Condition{{Type: "Ready", Status: "False", Reason: reason, Message: message},
		{Type: "Stalled", Status: "True", Reason: reason, Message: message}}
}

func TestLicenseProductReconciler(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	policy := ut.MakePolicy("std").Obj()
	cases := map[string]struct {
		objs []client.Object
		name string
		want v1.LicenseProductStatus
	}{
		"no licences": {
			objs: []client.Object{ut.MakeProduct("cad").Policy(policy).DefaultPolicy("std").Obj()},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: resolved("1 policies"),
				Seats:      v1.SeatCounts{Total: ptr.To[int32](0), Available: ptr.To[int32](0)},
			},
		},
		"counts and sums its own licences only": {
			objs: []client.Object{
				ut.MakeProduct("cad").Obj(),
				withUsed(ut.MakeLicense("a", "ns1").Product("cad").Seats(5).Obj(), 3),
				withUsed(ut.MakeLicense("b", "ns2").Product("cad").Seats(2).Obj(), 2),
				withUsed(ut.MakeLicense("c", "ns1").Product("cam").Seats(9).Obj(), 9),
			},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: resolved("0 policies"),
				Licenses:   2,
				Seats:      v1.SeatCounts{Total: ptr.To[int32](7), Used: 5, Available: ptr.To[int32](2)},
			},
		},
		"an unlimited licence makes the total absent": {
			objs: []client.Object{
				ut.MakeProduct("cad").Obj(),
				withUsed(ut.MakeLicense("a", "ns1").Product("cad").Seats(5).Obj(), 6),
				withUsed(ut.MakeLicense("site", "ns1").Product("cad").Obj(), 100),
			},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: resolved("0 policies"),
				Licenses:   2,
				Seats:      v1.SeatCounts{Used: 106},
			},
		},
		"over-used licences: available never below zero": {
			objs: []client.Object{
				ut.MakeProduct("cad").Obj(),
				withUsed(ut.MakeLicense("a", "ns1").Product("cad").Seats(1).Obj(), 3),
			},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: resolved("0 policies"),
				Licenses:   1,
				Seats:      v1.SeatCounts{Total: ptr.To[int32](1), Used: 3, Available: ptr.To[int32](0)},
			},
		},
		// DESIGN.md: seats.available is summed over the product's licences.
		// The seats a licence holds beyond its total are not taken from
		// another licence: 5 seats of b are still free.
		"available is the sum of each licence's available": {
			objs: []client.Object{
				ut.MakeProduct("cad").Obj(),
				withUsed(ut.MakeLicense("a", "ns1").Product("cad").Seats(1).Obj(), 3),
				withUsed(ut.MakeLicense("b", "ns1").Product("cad").Seats(5).Obj(), 0),
			},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: resolved("0 policies"),
				Licenses:   2,
				Seats:      v1.SeatCounts{Total: ptr.To[int32](6), Used: 3, Available: ptr.To[int32](5)},
			},
		},
		"default policy missing": {
			objs: []client.Object{ut.MakeProduct("cad").Policy(policy).DefaultPolicy("gold").Obj()},
			name: "cad",
			want: v1.LicenseProductStatus{
				Conditions: broken("PolicyNotFound", `spec.defaultPolicy "gold" is not one of spec.policies`),
				Seats:      v1.SeatCounts{Total: ptr.To[int32](0), Available: ptr.To[int32](0)},
			},
		},
		"bundle member missing": {
			objs: []client.Object{ut.MakeProduct("cad").Obj(), ut.MakeProduct("suite").Bundle("cad", "cam", "sim").Obj()},
			name: "suite",
			want: v1.LicenseProductStatus{
				Conditions: broken("BundleMemberNotFound",
					`Bundle members "cam", "sim" do not exist: create them or remove them from spec.bundle.products`),
				Seats: v1.SeatCounts{Total: ptr.To[int32](0), Available: ptr.To[int32](0)},
			},
		},
		"bundle complete": {
			objs: []client.Object{ut.MakeProduct("cad").Obj(), ut.MakeProduct("cam").Obj(),
				ut.MakeProduct("suite").Bundle("cad", "cam").Policy(policy).Obj()},
			name: "suite",
			want: v1.LicenseProductStatus{
				Conditions: resolved("1 policies, bundle of 2 products"),
				Seats:      v1.SeatCounts{Total: ptr.To[int32](0), Available: ptr.To[int32](0)},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newFakeClient(t, tc.objs...)
			r := &LicenseProductReconciler{Client: c, Clock: clocktesting.NewFakePassiveClock(now)}
			if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: tc.name}}); err != nil {
				t.Fatal(err)
			}
			got := &v1.LicenseProduct{}
			if err := c.Get(context.Background(), types.NamespacedName{Name: tc.name}, got); err != nil {
				t.Fatal(err)
			}
			for i := range tc.want.Conditions {
				tc.want.Conditions[i].LastTransitionTime = metav1.NewTime(now)
			}
			if diff := cmp.Diff(tc.want, got.Status); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}

			// Nothing changed: a second reconcile writes nothing.
			rv := got.ResourceVersion
			if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: tc.name}}); err != nil {
				t.Fatal(err)
			}
			if err := c.Get(context.Background(), types.NamespacedName{Name: tc.name}, got); err != nil {
				t.Fatal(err)
			}
			if got.ResourceVersion != rv {
				t.Error("a reconcile without change wrote the status again")
			}
		})
	}
}
