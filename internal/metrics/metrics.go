// Package metrics holds the Prometheus metrics of license-operator,
// registered with controller-runtime's registry so the manager's metrics
// endpoint serves them. docs/metrics.md lists each with its cardinality.
//
// Two kinds of metric, for a manager run with several replicas:
//   - per-object gauges (per licence, and the per-product aggregates of
//     them) describe the cluster's licences. Only the leader, which
//     reconciles them, exports them (SetLeader), so that sum() over the
//     replicas is not doubled;
//   - webhook metrics (admission decisions, consumption refusals, the
//     webhook latency of controller-runtime) count what each replica
//     answered: every replica exports its own.
package metrics

import (
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
	// LicenseSeatsReservedByWorkloads is the seats of the licence that Kueue
	// Workloads hold through the AdmissionCheck (status.seats.reservedByWorkloads).
	LicenseSeatsReservedByWorkloads = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_seats_reserved_by_workloads",
		Help: "Seats of the licence's Bound assignments that Kueue Workloads hold through the AdmissionCheck " +
			"licensing.license-operator.dev/seats (status.seats.reservedByWorkloads), part of the seats used.",
	}, licenseLabels)
	// LicenseActivations is the assignments bound to the licence (status.activations).
	LicenseActivations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_activations",
		Help: "Assignments bound to the licence (status.activations).",
	}, licenseLabels)
	// LicenseMaxActivations is the most assignments the licence may hold;
	// no series when nothing but the seats limits them.
	LicenseMaxActivations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_max_activations",
		Help: "Most assignments the licence may hold (status.maxActivations); no series when nothing but the seats limits them.",
	}, licenseLabels)
	// LicenseConsumptionUsed is the usage of a Consumption licence in its current period.
	LicenseConsumptionUsed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_consumption_used",
		Help: "Usage counted in the licence's current consumption period (status.consumption.used); no series for a licence that counts no usage.",
	}, licenseLabels)
	// LicenseConsumptionMax is the usage a Consumption licence allows per period.
	LicenseConsumptionMax = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_consumption_max",
		Help: "Usage the licence allows per period before overages (the effective policy's consumption.maxConsumptions); no series when unlimited.",
	}, licenseLabels)
	// LicenseCost is the cost of the licence per pricing period, in its currency.
	LicenseCost = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "license_cost",
		Help: "Cost of the licence per pricing period (status.cost.total), labelled by currency (ISO 4217) and period; no series without a price.",
	}, append(licenseLabels, labelCurrency, labelPeriod))
)

// The labels of a cost series.
const (
	labelCurrency = "currency"
	labelPeriod   = "period"
)

// licenceVecs are every per-licence gauge.
var licenceVecs = []*prometheus.GaugeVec{LicenseSeatsTotal, LicenseSeatsUsed, LicenseSeatsAvailable,
	LicenseExpiryTimestamp, LicenseState, LicenseCompliance, LicenseSeatQueueLength, LicenseSeatsReservedByWorkloads,
	LicenseActivations, LicenseMaxActivations, LicenseConsumptionUsed, LicenseConsumptionMax, LicenseCost}

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
	collectors := make([]prometheus.Collector, 0, len(licenceVecs)+1)
	for _, v := range licenceVecs {
		collectors = append(collectors, v)
	}
	collectors = append(collectors, products)
	metrics.Registry.MustRegister(&leaderOnly{collectors: collectors})
}

// RecordLicense sets every series of a licence from its status: its
// snapshot for the per-product aggregates always, and its own series when
// per-licence series are on and the licence is within their bound
// (Configure). The product label is status.product.name, else
// status.product.displayName, else empty.
func RecordLicense(lic *licensingv1alpha1.SoftwareLicense) {
	st := &lic.Status
	product := productOf(st)
	key := lic.Namespace + "/" + lic.Name
	old, perLicence := products.record(key, snapshotOf(product, st))
	if old != nil && old.product != product {
		deleteSeries(lic.Namespace, lic.Name)
	}
	if !perLicence {
		return
	}
	labels := prometheus.Labels{labelNamespace: lic.Namespace, labelName: lic.Name, labelProduct: product}

	LicenseSeatsUsed.With(labels).Set(float64(st.Seats.Used))
	LicenseSeatQueueLength.With(labels).Set(float64(st.Seats.WaitingPods))
	LicenseSeatsReservedByWorkloads.With(labels).Set(float64(st.Seats.ReservedByWorkloads))
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
	LicenseActivations.With(labels).Set(float64(st.Activations))
	setOrDelete(LicenseMaxActivations, labels, st.MaxActivations)
	if st.Consumption != nil {
		LicenseConsumptionUsed.With(labels).Set(float64(st.Consumption.Used))
	} else {
		LicenseConsumptionUsed.Delete(labels)
	}
	setOrDelete(LicenseConsumptionMax, labels, maxConsumptions(st))
	// The currency or period may change: one cost series per licence.
	LicenseCost.DeletePartialMatch(prometheus.Labels{labelNamespace: lic.Namespace, labelName: lic.Name})
	if c, ok := costOf(st); ok {
		LicenseCost.WithLabelValues(lic.Namespace, lic.Name, product, c.currency, c.period).Set(c.total)
	}
}

// ForgetLicense removes every series of a deleted licence.
func ForgetLicense(namespace, name string) {
	products.forget(namespace + "/" + name)
	deleteSeries(namespace, name)
}

func deleteSeries(namespace, name string) {
	match := prometheus.Labels{labelNamespace: namespace, labelName: name}
	for _, v := range licenceVecs {
		v.DeletePartialMatch(match)
	}
}

func productOf(st *licensingv1alpha1.SoftwareLicenseStatus) string {
	if st.Product == nil {
		return ""
	}
	if st.Product.Name != "" {
		return st.Product.Name
	}
	return st.Product.DisplayName
}

func maxConsumptions(st *licensingv1alpha1.SoftwareLicenseStatus) *int64 {
	if st.EffectivePolicy == nil || st.EffectivePolicy.Consumption == nil {
		return nil
	}
	return st.EffectivePolicy.Consumption.MaxConsumptions
}

func setOrDelete[T int32 | int64](v *prometheus.GaugeVec, labels prometheus.Labels, value *T) {
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
