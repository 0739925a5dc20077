package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of an admission decision for one product.
const (
	// ResultAdmitted: the workload was admitted and holds what it needs of the product.
	ResultAdmitted = "admitted"
	// ResultRefused: the workload was refused for want of the product.
	ResultRefused = "refused"
	// ResultQueued: the Pod was admitted gated, waiting in line for a seat or a use.
	ResultQueued = "queued"
)

// AdmissionDecisions counts the workload webhook's decisions by product,
// result and workload kind. A webhook metric: every replica counts the
// requests it answered. Its cardinality is products x 3 results x the
// workload kinds the webhook sees (Pod and the six pod-template kinds).
var AdmissionDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: namespace, Name: "admission_decisions_total",
	Help: "Decisions of the workload admission webhook for each product a workload needs, by product, result " +
		"(admitted, refused, queued) and workload kind. Dry runs are not counted.",
}, []string{labelProduct, "result", "kind"})

func init() {
	metrics.Registry.MustRegister(AdmissionDecisions)
}

// RecordAdmission counts one decision for a product.
func RecordAdmission(product, result, kind string) {
	AdmissionDecisions.WithLabelValues(product, result, kind).Inc()
}
