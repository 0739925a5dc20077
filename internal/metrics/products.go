package metrics

import (
	"sort"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// DefaultMaxLicences is the default bound on the licences that have
// per-licence series (about 20 series each, see docs/metrics.md).
const DefaultMaxLicences = 1000

// Options bound the cardinality of the licence metrics.
type Options struct {
	// PerLicence turns the per-licence series on. The per-product
	// aggregates are always on.
	PerLicence bool
	// MaxLicences is the most licences with per-licence series; the
	// licences recorded after the bound is reached have none (counted by
	// license_operator_licenses_without_series). 0 means no bound.
	MaxLicences int
}

// Configure sets the cardinality bounds; call it before the manager starts.
func Configure(o Options) {
	products.mu.Lock()
	defer products.mu.Unlock()
	products.opts = o
}

// snapshot is what the per-product aggregates need of one licence.
type snapshot struct {
	product         string
	state           licensingv1alpha1.LicenseState
	compliance      licensingv1alpha1.Compliance
	seatsTotal      *int32
	seatsUsed       int32
	waiting         int32
	reserved        int32
	activations     int32
	consumptionUsed int64
	cost            *cost
}

type cost struct {
	currency, period string
	total            float64
}

func snapshotOf(product string, st *licensingv1alpha1.SoftwareLicenseStatus) *snapshot {
	s := &snapshot{product: product, state: st.State, compliance: st.Compliance, seatsTotal: st.Seats.Total,
		seatsUsed: st.Seats.Used, waiting: st.Seats.WaitingPods, reserved: st.Seats.ReservedByWorkloads, activations: st.Activations}
	if st.Consumption != nil {
		s.consumptionUsed = st.Consumption.Used
	}
	if c, ok := costOf(st); ok {
		s.cost = &c
	}
	return s
}

// costOf is the licence's cost per period, when it has one.
func costOf(st *licensingv1alpha1.SoftwareLicenseStatus) (cost, bool) {
	if st.Cost == nil || st.Cost.Total == "" || st.Cost.Currency == "" {
		return cost{}, false
	}
	total, err := strconv.ParseFloat(string(st.Cost.Total), 64)
	if err != nil {
		return cost{}, false
	}
	return cost{currency: string(st.Cost.Currency), period: string(st.Cost.Period), total: total}, true
}

// productStore keeps a snapshot of every licence recorded, the licences
// that have per-licence series, and collects the per-product aggregates.
type productStore struct {
	mu         sync.Mutex
	opts       Options
	licences   map[string]*snapshot // "namespace/name" -> snapshot
	withSeries map[string]bool      // licences with per-licence series
}

var products = &productStore{
	opts:     Options{PerLicence: true, MaxLicences: DefaultMaxLicences},
	licences: map[string]*snapshot{}, withSeries: map[string]bool{},
}

// record stores the licence's snapshot and returns the one it replaces and
// whether the licence has per-licence series.
func (p *productStore) record(key string, s *snapshot) (*snapshot, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.licences[key]
	p.licences[key] = s
	if !p.opts.PerLicence {
		return old, false
	}
	if !p.withSeries[key] && p.opts.MaxLicences > 0 && len(p.withSeries) >= p.opts.MaxLicences {
		return old, false
	}
	p.withSeries[key] = true
	return old, true
}

func (p *productStore) forget(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.licences, key)
	delete(p.withSeries, key)
}

var (
	productLabels   = []string{labelProduct}
	productLicenses = prometheus.NewDesc(namespace+"_product_licenses",
		"Licences of the product, by lifecycle state.", []string{labelProduct, "state"}, nil)
	productOverAllocated = prometheus.NewDesc(namespace+"_product_licenses_over_allocated",
		"Licences of the product that are over-allocated (more seats used than they have).", productLabels, nil)
	productSeatsTotal = prometheus.NewDesc(namespace+"_product_seats_total",
		"Seats of the product's limited licences (unlimited licences add none).", productLabels, nil)
	productSeatsUsed = prometheus.NewDesc(namespace+"_product_seats_used",
		"Seats of the product's licences held by bound assignments.", productLabels, nil)
	productUnlimited = prometheus.NewDesc(namespace+"_product_licenses_unlimited",
		"Licences of the product with unlimited seats.", productLabels, nil)
	productSeatsWaiting = prometheus.NewDesc(namespace+"_product_seats_waiting",
		"Pods waiting in line for a Concurrent seat of the product's licences.", productLabels, nil)
	productSeatsReserved = prometheus.NewDesc(namespace+"_product_seats_reserved_by_workloads",
		"Seats of the product's licences that Kueue Workloads hold through the AdmissionCheck.", productLabels, nil)
	productActivations = prometheus.NewDesc(namespace+"_product_activations",
		"Assignments bound to the product's licences.", productLabels, nil)
	productConsumptionUsed = prometheus.NewDesc(namespace+"_product_consumption_used",
		"Usage counted in the current consumption period of the product's licences.", productLabels, nil)
	productCost = prometheus.NewDesc(namespace+"_product_cost",
		"Cost per pricing period of the product's licences, by currency (ISO 4217) and period.",
		[]string{labelProduct, labelCurrency, labelPeriod}, nil)
	licensesWithoutSeries = prometheus.NewDesc(namespace+"_licenses_without_series",
		"Licences that have no per-licence series because per-licence series are off or their bound (--metrics-max-licences) is reached.",
		nil, nil)
)

// Describe implements prometheus.Collector.
func (p *productStore) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{productLicenses, productOverAllocated, productSeatsTotal, productSeatsUsed,
		productUnlimited, productSeatsWaiting, productSeatsReserved, productActivations, productConsumptionUsed, productCost, licensesWithoutSeries} {
		ch <- d
	}
}

// aggregate is one product's sums.
type aggregate struct {
	states                                   map[licensingv1alpha1.LicenseState]int
	overAllocated, unlimited                 int
	seatsTotal, seatsUsed, waiting, reserved float64
	activations, use                         float64
	costs                                    map[[2]string]float64 // currency, period -> total
}

// Collect implements prometheus.Collector.
func (p *productStore) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	byProduct := map[string]*aggregate{}
	for _, s := range p.licences {
		a := byProduct[s.product]
		if a == nil {
			a = &aggregate{states: map[licensingv1alpha1.LicenseState]int{}, costs: map[[2]string]float64{}}
			byProduct[s.product] = a
		}
		a.add(s)
	}
	without := len(p.licences) - len(p.withSeries)
	p.mu.Unlock()

	names := make([]string, 0, len(byProduct))
	for n := range byProduct {
		names = append(names, n)
	}
	sort.Strings(names)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, n := range names {
		a := byProduct[n]
		for _, s := range States {
			gauge(productLicenses, float64(a.states[s]), n, string(s))
		}
		gauge(productOverAllocated, float64(a.overAllocated), n)
		gauge(productSeatsTotal, a.seatsTotal, n)
		gauge(productSeatsUsed, a.seatsUsed, n)
		gauge(productUnlimited, float64(a.unlimited), n)
		gauge(productSeatsWaiting, a.waiting, n)
		gauge(productSeatsReserved, a.reserved, n)
		gauge(productActivations, a.activations, n)
		gauge(productConsumptionUsed, a.use, n)
		for k, v := range a.costs {
			gauge(productCost, v, n, k[0], k[1])
		}
	}
	gauge(licensesWithoutSeries, float64(without))
}

func (a *aggregate) add(s *snapshot) {
	a.states[s.state]++
	if s.compliance == licensingv1alpha1.ComplianceOverAllocated {
		a.overAllocated++
	}
	if s.seatsTotal == nil {
		a.unlimited++
	} else {
		a.seatsTotal += float64(*s.seatsTotal)
	}
	a.seatsUsed += float64(s.seatsUsed)
	a.waiting += float64(s.waiting)
	a.reserved += float64(s.reserved)
	a.activations += float64(s.activations)
	a.use += float64(s.consumptionUsed)
	if s.cost != nil {
		a.costs[[2]string{s.cost.currency, s.cost.period}] += s.cost.total
	}
}
