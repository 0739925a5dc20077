package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// SeatWaitSeconds is how long Pods waited in line for a Concurrent seat,
// observed when the queue controller takes the seat for a Pod and removes
// its scheduling gate. One series set per product: its cardinality is the
// number of products whose Pods have waited.
var SeatWaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Namespace: namespace, Name: "seat_wait_seconds",
	Help: "Time a Pod waited in line for a Concurrent seat, from its admission into the line to the seat taken for it, by product.",
	// From 100 ms (a seat freed at once) to a working day.
	Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 8 * 3600},
}, []string{labelProduct})

func init() {
	metrics.Registry.MustRegister(SeatWaitSeconds)
}
