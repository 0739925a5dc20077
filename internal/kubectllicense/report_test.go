package kubectllicense

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// reportFixture: cad in EUR per year (two licences, one over-allocated and
// expiring in 20 days), a site licence of viewer with unlimited seats, an
// expired cad licence in USD, and a licence tracked without a product.
func reportFixture() []licensingv1alpha1.SoftwareLicense {
	days := func(n int) time.Time { return now.AddDate(0, 0, n) }
	return []licensingv1alpha1.SoftwareLicense{
		*utiltesting.MakeLicense("cad-2026", "team-b").Product("cad").Seats(5).
			ResolvedProduct("cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateActive, 3, 2).
			StatusWaiting(1, 0).Term(days(-100), days(200), nil).CostStatus("100.00", "500.00", "EUR", "1y").Obj(),
		*utiltesting.MakeLicense("cad-old", "team-a").Product("cad").Seats(2).
			ResolvedProduct("cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateExpiringSoon, 3, 3).
			Term(days(-345), days(20), nil).CostStatus("50.50", "101.00", "EUR", "1y").Obj(),
		*utiltesting.MakeLicense("viewer", "team-a").Product("viewer").
			ResolvedProduct("viewer", "Viewer", "Acme", "").Computed(licensingv1alpha1.LicenseStateActive, 7, 7).Obj(),
		*utiltesting.MakeLicense("cad-us", "team-a").Product("cad").Seats(1).
			ResolvedProduct("cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateExpired, 0, 0).
			Term(days(-400), days(-35), nil).CostStatus("10", "10.00", "USD", "1m").Obj(),
		*utiltesting.MakeLicense("tracked", "team-a").Obj(),
	}
}

func TestBuildReport(t *testing.T) {
	thirty := licensing.MustParseDuration("30d")
	cases := map[string]struct {
		filter ReportFilter
		want   []string // namespace/name, in order
	}{
		"all, by namespace and name": {want: []string{"team-a/cad-old", "team-a/cad-us", "team-a/tracked", "team-a/viewer", "team-b/cad-2026"}},
		"expiring within 30d: not the expired one, not those without an end": {
			filter: ReportFilter{Expiring: &thirty}, want: []string{"team-a/cad-old"},
		},
		"over-allocated": {filter: ReportFilter{OverAllocated: true}, want: []string{"team-a/cad-old"}},
		"both filters":   {filter: ReportFilter{Expiring: &thirty, OverAllocated: true}, want: []string{"team-a/cad-old"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := BuildReport(reportFixture(), nil, now, c.filter)
			var got []string
			for _, l := range r.Licenses {
				got = append(got, l.Namespace+"/"+l.Name)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("licences (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportTotals(t *testing.T) {
	r := BuildReport(reportFixture(), nil, now, ReportFilter{})
	want := ReportTotals{
		ByProduct: []ProductTotal{
			{Product: "", Licenses: 1, Used: 0, Total: nil},
			{Product: "cad", Licenses: 3, Used: 6, Total: ptr.To[int64](8), WaitingPods: 1},
			{Product: "viewer", Licenses: 1, Used: 7, Total: nil},
		},
		ByCurrency: []CurrencyTotal{
			{Currency: "EUR", Period: "1y", Total: "601.00", Licenses: 2},
			{Currency: "USD", Period: "1m", Total: "10.00", Licenses: 1},
		},
	}
	if diff := cmp.Diff(want, r.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

func TestReportTable(t *testing.T) {
	thirty := licensing.MustParseDuration("30d")
	r := BuildReport(reportFixture(), nil, now, ReportFilter{Expiring: &thirty})
	var b bytes.Buffer
	if err := Print(&b, FormatTable, r.Output("", now)); err != nil {
		t.Fatal(err)
	}
	want := `NAMESPACE   NAME      PRODUCT   STATE          SEATS   WAITING   EXPIRES               COST
team-a      cad-old   cad       ExpiringSoon   3/2     0         2026-03-21 (in 20d)   101.00 EUR/1y

Totals per product
PRODUCT   LICENCES   SEATS   WAITING
cad       1          3/2     0

Totals per currency
CURRENCY   PERIOD   COST     LICENCES
EUR        1y       101.00   1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestReportEmptyAndCSV(t *testing.T) {
	var b bytes.Buffer
	if err := Print(&b, FormatTable, BuildReport(nil, nil, now, ReportFilter{}).Output("team-c", now)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("No licences found in namespace team-c.\n", b.String()); diff != "" {
		t.Errorf("empty (-want +got):\n%s", diff)
	}
	b.Reset()
	ls := reportFixture()[2:3] // viewer: unlimited seats, no cost
	if err := Print(&b, FormatCSV, BuildReport(ls, nil, now, ReportFilter{}).Output("", now)); err != nil {
		t.Fatal(err)
	}
	want := "namespace,name,product,vendor,state,compliance,used,total,available,pending,waiting_pods,valid_until,renewal_time,cost_total,currency,period\n" +
		"team-a,viewer,viewer,Acme,Active,Compliant,7,,,0,0,,,,,\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("csv (-want +got):\n%s", diff)
	}
}

// The products' record fields act in the report: --category keeps the
// licences of products of that category, and the product totals carry the
// category and description (a column in the table when any product has one).
func TestReportProductCategory(t *testing.T) {
	products := ProductRecords{"cad": {Category: "cad-tools", Description: "3D CAD"}, "viewer": {Category: "viewers"}}
	r := BuildReport(reportFixture(), products, now, ReportFilter{Category: "viewers"})
	if len(r.Licenses) != 1 || r.Licenses[0].Name != "viewer" {
		t.Fatalf("--category viewers kept %+v, want the viewer licence only", r.Licenses)
	}
	r = BuildReport(reportFixture(), products, now, ReportFilter{})
	var cad *ProductTotal
	for i := range r.Totals.ByProduct {
		if r.Totals.ByProduct[i].Product == "cad" {
			cad = &r.Totals.ByProduct[i]
		}
	}
	if cad == nil || cad.Category != "cad-tools" || cad.Description != "3D CAD" {
		t.Fatalf("cad total %+v, want its category and description", cad)
	}
	var b bytes.Buffer
	if err := Print(&b, FormatTable, r.Output("", now)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^PRODUCT\s+LICENCES\s+SEATS\s+WAITING\s+CATEGORY$`).MatchString(b.String()) ||
		!regexp.MustCompile(`(?m)^cad\s+3\s+6/8\s+1\s+cad-tools$`).MatchString(b.String()) {
		t.Errorf("table without the category column:\n%s", b.String())
	}
}
