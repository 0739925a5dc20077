package metrics

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// gather collects c into "name{labels}" -> value, labels sorted by name.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestProductAggregatesAndTheBoundOnLicences(t *testing.T) {
	Configure(Options{PerLicence: true, MaxLicences: 1})
	defer Configure(Options{PerLicence: true, MaxLicences: DefaultMaxLicences})
	defer ForgetLicense("team-a", "cad-1")
	defer ForgetLicense("team-a", "cad-2")

	RecordLicense(licence("cad-1", "cad", v1.SoftwareLicenseStatus{
		State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant, Activations: 2, MaxActivations: ptr.To[int32](3),
		Seats: v1.LicenseSeatStatus{Total: ptr.To[int32](5), Used: 2, WaitingPods: 1, ReservedByWorkloads: 2},
		Cost:  &v1.CostStatus{Total: "120.50", Currency: "EUR", Period: "1y"},
	}))
	RecordLicense(licence("cad-2", "cad", v1.SoftwareLicenseStatus{
		State: v1.LicenseStateExpired, Compliance: v1.ComplianceOverAllocated, Activations: 1,
		Seats:       v1.LicenseSeatStatus{Used: 7, WaitingPods: 2, ReservedByWorkloads: 3},
		Consumption: &v1.ConsumptionStatus{Used: 40},
		Cost:        &v1.CostStatus{Total: "10", Currency: "EUR", Period: "1y"},
	}))

	// Only the first licence is within the bound of one.
	const cad1 = "name=cad-1,namespace=team-a,product=cad"
	check(t, "used within the bound", LicenseSeatsUsed, map[string]float64{cad1: 2})
	check(t, "activations", LicenseActivations, map[string]float64{cad1: 2})
	check(t, "max activations", LicenseMaxActivations, map[string]float64{cad1: 3})
	check(t, "cost", LicenseCost, map[string]float64{"currency=EUR,name=cad-1,namespace=team-a,period=1y,product=cad": 120.5})

	got := gather(t, products)
	want := map[string]float64{
		"license_operator_product_seats_total{product=cad}":                  5,
		"license_operator_product_seats_used{product=cad}":                   9,
		"license_operator_product_seats_waiting{product=cad}":                3,
		"license_operator_product_seats_reserved_by_workloads{product=cad}":  5,
		"license_operator_product_licenses_unlimited{product=cad}":           1,
		"license_operator_product_licenses_over_allocated{product=cad}":      1,
		"license_operator_product_activations{product=cad}":                  3,
		"license_operator_product_consumption_used{product=cad}":             40,
		"license_operator_product_cost{currency=EUR,period=1y,product=cad}":  130.5,
		"license_operator_licenses_without_series{}":                         1,
		"license_operator_product_licenses{product=cad,state=Active}":        1,
		"license_operator_product_licenses{product=cad,state=Expired}":       1,
		"license_operator_product_licenses{product=cad,state=Pending}":       0,
		"license_operator_product_licenses{product=cad,state=ExpiringSoon}":  0,
		"license_operator_product_licenses{product=cad,state=InGracePeriod}": 0,
		"license_operator_product_licenses{product=cad,state=Suspended}":     0,
		"license_operator_product_licenses{product=cad,state=Revoked}":       0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("product aggregates mismatch (-want +got):\n%s", diff)
	}

	// The first licence goes: the second takes its place at its next record.
	ForgetLicense("team-a", "cad-1")
	RecordLicense(licence("cad-2", "cad", v1.SoftwareLicenseStatus{State: v1.LicenseStateExpired, Seats: v1.LicenseSeatStatus{Used: 7}}))
	check(t, "used after the first licence went", LicenseSeatsUsed, map[string]float64{"name=cad-2,namespace=team-a,product=cad": 7})
}

func TestPerLicenceSeriesOff(t *testing.T) {
	Configure(Options{PerLicence: false})
	defer Configure(Options{PerLicence: true, MaxLicences: DefaultMaxLicences})
	defer ForgetLicense("team-a", "cad-1")
	RecordLicense(licence("cad-1", "cad", v1.SoftwareLicenseStatus{State: v1.LicenseStateActive, Seats: v1.LicenseSeatStatus{Used: 4}}))
	check(t, "used", LicenseSeatsUsed, map[string]float64{})
	if got := gather(t, products)["license_operator_product_seats_used{product=cad}"]; got != 4 {
		t.Errorf("product seats used = %v, want 4", got)
	}
}

func TestOnlyTheLeaderExportsTheGauges(t *testing.T) {
	defer ForgetLicense("team-a", "cad-1")
	RecordLicense(licence("cad-1", "cad", v1.SoftwareLicenseStatus{State: v1.LicenseStateActive, Seats: v1.LicenseSeatStatus{Used: 4}}))
	c := &leaderOnly{collectors: []prometheus.Collector{LicenseSeatsUsed, products}}
	SetLeader(false)
	if got := gather(t, c); len(got) != 0 {
		t.Errorf("a replica that is not the leader exports %d series, want none", len(got))
	}
	SetLeader(true)
	defer SetLeader(false)
	if got := gather(t, c)["license_operator_license_seats_used{name=cad-1,namespace=team-a,product=cad}"]; got != 4 {
		t.Errorf("the leader's seats used = %v, want 4", got)
	}
}
