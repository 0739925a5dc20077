package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// KueueCheckTransitions counts the states the Kueue AdmissionCheck
// controller (internal/kueue) set on Workloads' check
// licensing.license-operator.dev/seats, by state (Pending, Ready, Retry,
// Rejected): 4 series. Only the leader runs the controller.
var KueueCheckTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: namespace, Name: "kueue_admission_check_transitions_total",
	Help: "Changes of the state of Kueue Workloads' AdmissionCheck licensing.license-operator.dev/seats made by the operator, " +
		"by the new state (Pending, Ready, Retry, Rejected).",
}, []string{"state"})

// KueueReservedSeats counts the seats the Kueue AdmissionCheck controller
// reserved and released for Workloads, by product and event (reserved,
// released): the seats held now are the licences' and products'
// reserved_by_workloads gauges.
var KueueReservedSeats = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: namespace, Name: "kueue_reserved_seats_total",
	Help: "Seats the Kueue AdmissionCheck reserved for Workloads (event=reserved) and gave back (event=released), by product.",
}, []string{labelProduct, "event"})

func init() {
	metrics.Registry.MustRegister(KueueCheckTransitions, KueueReservedSeats)
}
