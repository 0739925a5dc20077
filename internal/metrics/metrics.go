// Package metrics holds the Prometheus metrics of license-operator,
// registered with controller-runtime's registry so the manager's metrics
// endpoint serves them.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

const namespace = "license_operator"

// The labels of a licence series: its namespace, name and product.
const (
	labelNamespace = "namespace"
	labelName      = "name"
	labelProduct   = "product"
)

var licenseLabels = []string{labelNamespace, labelName, labelProduct}

var (
	// LicenseSeatsTotal is the seats of a licence; no series for an unlimited licence.
	LicenseSeatsTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_seats_total",
		Help: "Seats of the licence (spec.seats); no series for an unlimited licence.",
	}, licenseLabels)
	// LicenseSeatsUsed is the seats held by bound assignments.
	LicenseSeatsUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_seats_used",
		Help: "Seats of the licence held by bound assignments.",
	}, licenseLabels)
	// LicenseSeatsAvailable is the free seats; no series for an unlimited licence.
	LicenseSeatsAvailable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_seats_available",
		Help: "Free seats of the licence (total minus used, never below zero); no series for an unlimited licence.",
	}, licenseLabels)
	// LicenseExpiryTimestamp is the end of the licence's current term.
	LicenseExpiryTimestamp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_expiry_timestamp_seconds",
		Help: "End of the licence's current term (status.validUntil) as a Unix time; no series for a licence that never ends.",
	}, licenseLabels)
	// LicenseState has one series per lifecycle state; the current one is 1.
	LicenseState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_state",
		Help: "Lifecycle state of the licence: one series per state, 1 for the current state and 0 for the others.",
	}, append(licenseLabels, "state"))
	// LicenseCompliance has one series per compliance posture; the current one is 1.
	LicenseCompliance = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_compliance",
		Help: "Compliance of the licence: one series per posture, 1 for the current posture and 0 for the others.",
	}, append(licenseLabels, "compliance"))
	// LicenseSeatQueueLength is the Pods waiting in line for a seat of the
	// licence (status.seats.waitingPods). Its cardinality is that of the
	// other licence gauges: one series per licence, labelled by namespace,
	// name and product, never by Pod or assignment, so a long line adds no
	// series.
	LicenseSeatQueueLength = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_seat_queue_length",
		Help: "Pods waiting in line (gated) for a Concurrent seat of the licence's Bound assignments (status.seats.waitingPods). " +
			"One series per licence (namespace, name, product), removed with the licence.",
	}, licenseLabels)
)

// States are the values of the state label, in lifecycle order.
var States = []licensingv1alpha1.LicenseState{
	licensingv1alpha1.LicenseStatePending, licensingv1alpha1.LicenseStateActive,
	licensingv1alpha1.LicenseStateExpiringSoon, licensingv1alpha1.LicenseStateInGracePeriod,
	licensingv1alpha1.LicenseStateExpired, licensingv1alpha1.LicenseStateSuspended,
	licensingv1alpha1.LicenseStateRevoked,
}

// Compliances are the values of the compliance label.
var Compliances = []licensingv1alpha1.Compliance{
	licensingv1alpha1.ComplianceCompliant, licensingv1alpha1.ComplianceOverAllocated,
	licensingv1alpha1.ComplianceUnderUtilized,
}

func init() {
	metrics.Registry.MustRegister(LicenseSeatsTotal, LicenseSeatsUsed, LicenseSeatsAvailable,
		LicenseExpiryTimestamp, LicenseState, LicenseCompliance, LicenseSeatQueueLength)
}

// products remembers the product label each licence was last recorded with,
// so that a licence whose product label changes leaves no series behind.
var products sync.Map // "namespace/name" -> product label

// RecordLicense sets every series of a licence from its status. The product
// label is status.product.name, else status.product.displayName, else empty.
func RecordLicense(lic *licensingv1alpha1.SoftwareLicense) {
	st := &lic.Status
	product := ""
	if st.Product != nil {
		product = st.Product.Name
		if product == "" {
			product = st.Product.DisplayName
		}
	}
	key := lic.Namespace + "/" + lic.Name
	if old, ok := products.Swap(key, product); ok && old.(string) != product {
		deleteSeries(lic.Namespace, lic.Name)
	}
	labels := prometheus.Labels{labelNamespace: lic.Namespace, labelName: lic.Name, labelProduct: product}

	LicenseSeatsUsed.With(labels).Set(float64(st.Seats.Used))
	LicenseSeatQueueLength.With(labels).Set(float64(st.Seats.WaitingPods))
	setOrDelete(LicenseSeatsTotal, labels, st.Seats.Total)
	setOrDelete(LicenseSeatsAvailable, labels, st.Seats.Available)
	if st.ValidUntil != nil {
		LicenseExpiryTimestamp.With(labels).Set(float64(st.ValidUntil.Unix()))
	} else {
		LicenseExpiryTimestamp.Delete(labels)
	}
	for _, s := range States {
		LicenseState.WithLabelValues(lic.Namespace, lic.Name, product, string(s)).Set(boolValue(st.State == s))
	}
	for _, c := range Compliances {
		LicenseCompliance.WithLabelValues(lic.Namespace, lic.Name, product, string(c)).Set(boolValue(st.Compliance == c))
	}
}

// ForgetLicense removes every series of a deleted licence.
func ForgetLicense(namespace, name string) {
	products.Delete(namespace + "/" + name)
	deleteSeries(namespace, name)
}

func deleteSeries(namespace, name string) {
	match := prometheus.Labels{labelNamespace: namespace, labelName: name}
	for _, v := range []*prometheus.GaugeVec{LicenseSeatsTotal, LicenseSeatsUsed, LicenseSeatsAvailable,
		LicenseExpiryTimestamp, LicenseState, LicenseCompliance, LicenseSeatQueueLength} {
		v.DeletePartialMatch(match)
	}
}

func setOrDelete(v *prometheus.GaugeVec, labels prometheus.Labels, value *int32) {
	if value == nil {
		v.Delete(labels)
		return
	}
	v.With(labels).Set(float64(*value))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
