package metrics

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func licence(name, product string, st v1.SoftwareLicenseStatus) *v1.SoftwareLicense {
	l := ut.MakeLicense(name, "team-a").Obj()
	st.Product = &v1.ResolvedProduct{Name: product}
	l.Status = st
	return l
}

// series gathers a metric into "label=value,..." -> value, labels sorted by name.
func series(t *testing.T, v *prometheus.GaugeVec) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(v)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			out[strings.Join(labels, ",")] = m.GetGauge().GetValue()
		}
	}
	return out
}

func check(t *testing.T, what string, v *prometheus.GaugeVec, want map[string]float64) {
	t.Helper()
	if diff := cmp.Diff(want, series(t, v)); diff != "" {
		t.Errorf("%s series mismatch (-want +got):\n%s", what, diff)
	}
}

func TestRecordAndForgetLicense(t *testing.T) {
	end := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	RecordLicense(licence("cad-1", "cad", v1.SoftwareLicenseStatus{
		State: v1.LicenseStateExpiringSoon, Compliance: v1.ComplianceOverAllocated,
		Seats:      v1.LicenseSeatStatus{Total: ptr.To[int32](5), Used: 6, Available: ptr.To[int32](0), WaitingPods: 3},
		ValidUntil: &end,
	}))
	RecordLicense(licence("site", "cad", v1.SoftwareLicenseStatus{
		State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant, Seats: v1.LicenseSeatStatus{Used: 40},
	}))
	const cad1 = "name=cad-1,namespace=team-a,product=cad"
	const site = "name=site,namespace=team-a,product=cad"
	check(t, "total", LicenseSeatsTotal, map[string]float64{cad1: 5})
	check(t, "used", LicenseSeatsUsed, map[string]float64{cad1: 6, site: 40})
	check(t, "available", LicenseSeatsAvailable, map[string]float64{cad1: 0})
	check(t, "queue length", LicenseSeatQueueLength, map[string]float64{cad1: 3, site: 0})
	check(t, "expiry", LicenseExpiryTimestamp, map[string]float64{cad1: 1767225600})
	check(t, "state", LicenseState, map[string]float64{
		cad1 + ",state=Pending": 0, cad1 + ",state=Active": 0, cad1 + ",state=ExpiringSoon": 1,
		cad1 + ",state=InGracePeriod": 0, cad1 + ",state=Expired": 0, cad1 + ",state=Suspended": 0, cad1 + ",state=Revoked": 0,
		site + ",state=Pending": 0, site + ",state=Active": 1, site + ",state=ExpiringSoon": 0,
		site + ",state=InGracePeriod": 0, site + ",state=Expired": 0, site + ",state=Suspended": 0, site + ",state=Revoked": 0,
	})
	// The compliance label sorts before name.
	check(t, "compliance", LicenseCompliance, map[string]float64{
		"compliance=Compliant," + cad1: 0, "compliance=OverAllocated," + cad1: 1, "compliance=UnderUtilized," + cad1: 0,
		"compliance=Compliant," + site: 1, "compliance=OverAllocated," + site: 0, "compliance=UnderUtilized," + site: 0,
	})

	// The licence becomes unlimited and never-ending: its total, available and expiry series go.
	RecordLicense(licence("cad-1", "cad", v1.SoftwareLicenseStatus{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant}))
	check(t, "total of an unlimited licence", LicenseSeatsTotal, map[string]float64{})
	check(t, "available of an unlimited licence", LicenseSeatsAvailable, map[string]float64{})
	check(t, "expiry of a never-ending licence", LicenseExpiryTimestamp, map[string]float64{})

	// A new product label replaces the old series instead of adding to them.
	RecordLicense(licence("cad-1", "cad-pro", v1.SoftwareLicenseStatus{State: v1.LicenseStateActive, Compliance: v1.ComplianceCompliant}))
	check(t, "used after a product change", LicenseSeatsUsed, map[string]float64{
		"name=cad-1,namespace=team-a,product=cad-pro": 0, site: 40,
	})
	check(t, "queue length after a product change", LicenseSeatQueueLength, map[string]float64{
		"name=cad-1,namespace=team-a,product=cad-pro": 0, site: 0,
	})
	if got := len(series(t, LicenseState)); got != 2*len(States) {
		t.Errorf("%d state series after a product change, want %d", got, 2*len(States))
	}

	ForgetLicense("team-a", "cad-1")
	ForgetLicense("team-a", "site")
	for _, v := range []*prometheus.GaugeVec{LicenseSeatsTotal, LicenseSeatsUsed, LicenseSeatsAvailable, LicenseExpiryTimestamp, LicenseState, LicenseCompliance, LicenseSeatQueueLength} {
		check(t, "after deletion", v, map[string]float64{})
	}
}
