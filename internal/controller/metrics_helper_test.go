package controller

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/license-operator/license-operator/internal/metrics"
)

// seriesOf counts the licence metric series of the licence ns/name.
func seriesOf(t *testing.T, ns, name string) int {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.LicenseSeatsTotal, metrics.LicenseSeatsUsed, metrics.LicenseSeatsAvailable,
		metrics.LicenseExpiryTimestamp, metrics.LicenseState, metrics.LicenseCompliance, metrics.LicenseSeatQueueLength)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["name"] == name {
				n++
			}
		}
	}
	return n
}

// queueLength is the value of the queue-length gauge of the licence ns/name,
// -1 when it has no series.
func queueLength(t *testing.T, ns, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.LicenseSeatQueueLength)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["name"] == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}
