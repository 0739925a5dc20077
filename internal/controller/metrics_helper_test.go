package controller

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/license-operator/license-operator/internal/metrics"
)

// licenceSeries gathers the series of the licence ns/name among the metrics vecs.
func licenceSeries(t *testing.T, ns, name string, vecs ...prometheus.Collector) []*dto.Metric {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(vecs...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["name"] == name {
				out = append(out, m)
			}
		}
	}
	return out
}

// seriesOf counts the licence metric series of the licence ns/name.
func seriesOf(t *testing.T, ns, name string) int {
	t.Helper()
	return len(licenceSeries(t, ns, name, metrics.LicenseSeatsTotal, metrics.LicenseSeatsUsed, metrics.LicenseSeatsAvailable,
		metrics.LicenseExpiryTimestamp, metrics.LicenseState, metrics.LicenseCompliance, metrics.LicenseSeatQueueLength))
}

// queueLength is the value of the queue-length gauge of the licence ns/name,
// -1 when it has no series.
func queueLength(t *testing.T, ns, name string) float64 {
	t.Helper()
	series := licenceSeries(t, ns, name, metrics.LicenseSeatQueueLength)
	if len(series) == 0 {
		return -1
	}
	return series[0].GetGauge().GetValue()
}
