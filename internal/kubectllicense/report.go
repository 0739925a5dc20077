package kubectllicense

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// NewReportCmd is `kubectl license report`: every licence with its
// product, state, seats, waiting Pods, expiry and cost, and the totals.
func NewReportCmd(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	var expiring, category string
	var over bool
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Every licence with its product, state, seats, waiting Pods, expiry and cost, with totals",
		Long: `Report every SoftwareLicense of the namespace (-A: of every namespace) as the
operator computed it in its status: product, state, seats used of total,
Pods waiting in line for a seat, the end of the current term and the cost
per pricing period. Totals per product and per currency follow.`,
		Example: `  # every licence of the cluster
  kubectl license report -A

  # what needs renewing within 30 days, and what is over-allocated
  kubectl license report -A --expiring 30d
  kubectl license report -A --over-allocated -o csv > over.csv`,
		Args: cobra.NoArgs,
	}
	output := AddOutputFlag(cmd, FormatTable, FormatJSON, FormatYAML, FormatCSV)
	cmd.Flags().StringVar(&expiring, "expiring", "",
		"Only licences whose renewal date (else end of term) falls within this calendar duration from now, such as 30d, 2w or 3m; expired and revoked licences are left out.")
	cmd.Flags().BoolVar(&over, "over-allocated", false, "Only licences with more seats used than they have (compliance OverAllocated).")
	cmd.Flags().StringVar(&category, "category", "",
		"Only licences whose LicenseProduct has this spec.category (such as cad or database); needs read access to LicenseProducts.")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		format, err := output.Format()
		if err != nil {
			return err
		}
		filter := ReportFilter{OverAllocated: over, Category: category}
		if expiring != "" {
			d, err := licensing.ParseDuration(expiring)
			if err != nil {
				return fmt.Errorf("--expiring: %w", err)
			}
			filter.Expiring = &d
		}
		c, ns, err := f.ListScope()
		if err != nil {
			return err
		}
		licences, err := listLicences(cmd.Context(), c, ns)
		if err != nil {
			return err
		}
		products, err := productRecords(cmd.Context(), c, category != "")
		if err != nil {
			return err
		}
		now := f.Clock.Now()
		r := BuildReport(licences, products, now, filter)
		return Print(streams.Out, format, r.Output(ns, now))
	}
	return cmd
}

// ReportFilter says which licences a report keeps.
type ReportFilter struct {
	// Expiring keeps licences whose renewal time (renewalDate, else the end
	// of the term: status.renewalTime, else status.validUntil) is within it
	// from now, and that are not Expired or Revoked. Nil keeps all.
	Expiring *licensing.Duration
	// OverAllocated keeps licences whose compliance is OverAllocated.
	OverAllocated bool
	// Category keeps licences whose LicenseProduct's spec.category is it.
	// Empty keeps all.
	Category string
}

// ProductRecords are the record fields of the LicenseProducts (spec.category
// and spec.description), by product name, that a report shows with its
// totals and filters on.
type ProductRecords map[string]ProductRecord

// ProductRecord is one LicenseProduct's record fields.
type ProductRecord struct {
	Category    string
	Description string
}

// productRecords reads the LicenseProducts' record fields. A user who may
// not list products gets none (the report needs only licences), unless
// required (--category).
func productRecords(ctx context.Context, c client.Reader, required bool) (ProductRecords, error) {
	list := &licensingv1alpha1.LicenseProductList{}
	if err := c.List(ctx, list); err != nil {
		if apierrors.IsForbidden(err) && !required {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the LicenseProducts: %w", err)
	}
	out := ProductRecords{}
	for _, p := range list.Items {
		out[p.Name] = ProductRecord{Category: p.Spec.Category, Description: p.Spec.Description}
	}
	return out, nil
}

// LicenseReport is what `report` prints.
type LicenseReport struct {
	Licenses []ReportLicense `json:"licenses"`
	Totals   ReportTotals    `json:"totals"`
}

// ReportLicense is one licence as the operator computed it.
type ReportLicense struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Product is the LicenseProduct's name, else the commercial name.
	Product    string                         `json:"product"`
	Vendor     string                         `json:"vendor,omitempty"`
	State      licensingv1alpha1.LicenseState `json:"state"`
	Compliance licensingv1alpha1.Compliance   `json:"compliance,omitempty"`
	Seats      ReportSeats                    `json:"seats"`
	// ValidUntil is the end of the current term; absent for perpetual licences.
	ValidUntil *metav1.Time `json:"validUntil,omitempty"`
	// RenewalTime is renewalDate, else validUntil.
	RenewalTime *metav1.Time                  `json:"renewalTime,omitempty"`
	Cost        *licensingv1alpha1.CostStatus `json:"cost,omitempty"`
}

// ReportSeats counts a licence's seats (status.seats).
type ReportSeats struct {
	Used int32 `json:"used"`
	// Total is absent for unlimited seats, and Available with it.
	Total     *int32 `json:"total,omitempty"`
	Available *int32 `json:"available,omitempty"`
	// Pending are seats asked by assignments waiting in the licence's queue.
	Pending int32 `json:"pending"`
	// WaitingPods wait in line for a seat of its assignments.
	WaitingPods int32 `json:"waitingPods"`
	// ReservedByWorkloads are seats of its assignments that Kueue Workloads
	// hold (part of Used).
	ReservedByWorkloads int32 `json:"reservedByWorkloads,omitempty"`
}

// ReportTotals sums the licences reported.
type ReportTotals struct {
	ByProduct  []ProductTotal  `json:"byProduct"`
	ByCurrency []CurrencyTotal `json:"byCurrency"`
}

// ProductTotal sums the seats of one product's licences.
type ProductTotal struct {
	Product string `json:"product"`
	// Category and Description are the LicenseProduct's record fields.
	Category    string `json:"category,omitempty"`
	Description string `json:"description,omitempty"`
	Licenses    int    `json:"licenses"`
	Used        int64  `json:"used"`
	// Total is absent when one of the licences has unlimited seats.
	Total       *int64 `json:"total,omitempty"`
	WaitingPods int64  `json:"waitingPods"`
}

// CurrencyTotal sums the cost of the licences priced in one currency per
// one period (amounts of different periods are not added up).
type CurrencyTotal struct {
	Currency licensingv1alpha1.CurrencyCode     `json:"currency"`
	Period   licensingv1alpha1.CalendarDuration `json:"period,omitempty"`
	Total    licensingv1alpha1.Decimal          `json:"total"`
	Licenses int                                `json:"licenses"`
}

// BuildReport is the report of the licences at now, sorted by namespace and
// name; products gives the product totals their category and description.
func BuildReport(licences []licensingv1alpha1.SoftwareLicense, products ProductRecords, now time.Time, filter ReportFilter) LicenseReport {
	r := LicenseReport{Licenses: []ReportLicense{}}
	for i := range licences {
		l := &licences[i]
		if !filter.keeps(l, now) {
			continue
		}
		if filter.Category != "" && products[productOf(l)].Category != filter.Category {
			continue
		}
		r.Licenses = append(r.Licenses, reportLicense(l))
	}
	sort.Slice(r.Licenses, func(i, j int) bool {
		return byNamespacedName(r.Licenses[i].Namespace, r.Licenses[i].Name, r.Licenses[j].Namespace, r.Licenses[j].Name)
	})
	r.Totals = totals(r.Licenses)
	for i := range r.Totals.ByProduct {
		rec := products[r.Totals.ByProduct[i].Product]
		r.Totals.ByProduct[i].Category, r.Totals.ByProduct[i].Description = rec.Category, rec.Description
	}
	return r
}

func (f ReportFilter) keeps(l *licensingv1alpha1.SoftwareLicense, now time.Time) bool {
	if f.OverAllocated && l.Status.Compliance != licensingv1alpha1.ComplianceOverAllocated {
		return false
	}
	if f.Expiring != nil {
		end := l.Status.RenewalTime
		if end == nil {
			end = l.Status.ValidUntil
		}
		switch l.Status.State {
		case licensingv1alpha1.LicenseStateExpired, licensingv1alpha1.LicenseStateRevoked:
			return false
		}
		if end == nil || end.After(f.Expiring.AddTo(now)) {
			return false
		}
	}
	return true
}

func reportLicense(l *licensingv1alpha1.SoftwareLicense) ReportLicense {
	s := l.Status.Seats
	return ReportLicense{
		Namespace:  l.Namespace,
		Name:       l.Name,
		Product:    productOf(l),
		Vendor:     vendorOf(l),
		State:      l.Status.State,
		Compliance: l.Status.Compliance,
		Seats: ReportSeats{
			Used: s.Used, Total: s.Total, Available: s.Available, Pending: s.Pending, WaitingPods: s.WaitingPods,
		},
		ValidUntil:  l.Status.ValidUntil,
		RenewalTime: l.Status.RenewalTime,
		Cost:        l.Status.Cost,
	}
}

// productOf is the licence's product: the LicenseProduct it resolved to,
// else the one it names, else its commercial name.
func productOf(l *licensingv1alpha1.SoftwareLicense) string {
	switch {
	case l.Status.Product != nil && l.Status.Product.Name != "":
		return l.Status.Product.Name
	case l.Spec.ProductRef != nil:
		return l.Spec.ProductRef.Name
	case l.Status.Product != nil && l.Status.Product.DisplayName != "":
		return l.Status.Product.DisplayName
	}
	return l.Spec.ProductName
}

func vendorOf(l *licensingv1alpha1.SoftwareLicense) string {
	if l.Status.Product != nil && l.Status.Product.Vendor != "" {
		return l.Status.Product.Vendor
	}
	return l.Spec.Vendor
}

func totals(ls []ReportLicense) ReportTotals {
	byProduct := map[string]*ProductTotal{}
	type money struct {
		currency licensingv1alpha1.CurrencyCode
		period   licensingv1alpha1.CalendarDuration
	}
	sums := map[money]*big.Rat{}
	counts := map[money]int{}
	for _, l := range ls {
		p := byProduct[l.Product]
		if p == nil {
			p = &ProductTotal{Product: l.Product, Total: new(int64)}
			byProduct[l.Product] = p
		}
		p.Licenses++
		p.Used += int64(l.Seats.Used)
		p.WaitingPods += int64(l.Seats.WaitingPods)
		if l.Seats.Total == nil {
			p.Total = nil // unlimited
		} else if p.Total != nil {
			*p.Total += int64(*l.Seats.Total)
		}
		if l.Cost == nil || l.Cost.Total == "" {
			continue
		}
		amount, ok := new(big.Rat).SetString(string(l.Cost.Total))
		if !ok {
			continue
		}
		k := money{l.Cost.Currency, l.Cost.Period}
		if sums[k] == nil {
			sums[k] = new(big.Rat)
		}
		sums[k].Add(sums[k], amount)
		counts[k]++
	}
	t := ReportTotals{ByProduct: []ProductTotal{}, ByCurrency: []CurrencyTotal{}}
	for _, p := range byProduct {
		t.ByProduct = append(t.ByProduct, *p)
	}
	sort.Slice(t.ByProduct, func(i, j int) bool { return t.ByProduct[i].Product < t.ByProduct[j].Product })
	for k, sum := range sums {
		t.ByCurrency = append(t.ByCurrency, CurrencyTotal{
			Currency: k.currency, Period: k.period, Total: licensingv1alpha1.Decimal(sum.FloatString(2)), Licenses: counts[k],
		})
	}
	sort.Slice(t.ByCurrency, func(i, j int) bool {
		a, b := t.ByCurrency[i], t.ByCurrency[j]
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		return a.Period < b.Period
	})
	return t
}

// Output is the report in every format. namespace is the one listed ("" for all).
func (r LicenseReport) Output(namespace string, now time.Time) Output {
	headers := []string{colNamespace, "Name", colProduct, colState, colSeats, colWaiting, "Expires", "Cost"}
	if namespace != "" {
		headers = headers[1:]
	}
	licences := Table{Headers: headers}
	csvTable := Table{Headers: []string{
		"namespace", "name", "product", "vendor", "state", "compliance", "used", "total", "available", "pending", "waiting_pods",
		"valid_until", "renewal_time", "cost_total", "currency", "period",
	}}
	for _, l := range r.Licenses {
		row := []string{l.Namespace, l.Name, orDash(l.Product), orDash(string(l.State)), seatsText(l.Seats.Used, l.Seats.Total),
			strconv.Itoa(int(l.Seats.WaitingPods)), expiresText(l.ValidUntil, l.State, now), costText(l.Cost)}
		if namespace != "" {
			row = row[1:]
		}
		licences.Rows = append(licences.Rows, row)
		var total, currency, period string
		if l.Cost != nil {
			total, currency, period = string(l.Cost.Total), string(l.Cost.Currency), string(l.Cost.Period)
		}
		csvTable.Rows = append(csvTable.Rows, []string{
			l.Namespace, l.Name, l.Product, l.Vendor, string(l.State), string(l.Compliance),
			strconv.Itoa(int(l.Seats.Used)), int32Text(l.Seats.Total), int32Text(l.Seats.Available),
			strconv.Itoa(int(l.Seats.Pending)), strconv.Itoa(int(l.Seats.WaitingPods)),
			timeText(l.ValidUntil), timeText(l.RenewalTime), total, currency, period,
		})
	}
	// The category column only when a product has one.
	categories := slices.ContainsFunc(r.Totals.ByProduct, func(p ProductTotal) bool { return p.Category != "" })
	products := Table{Title: "Totals per product", Headers: []string{colProduct, "Licences", colSeats, colWaiting}}
	if categories {
		products.Headers = append(products.Headers, "Category")
	}
	for _, p := range r.Totals.ByProduct {
		var total *int32
		if p.Total != nil {
			t := int32(*p.Total)
			total = &t
		}
		row := []string{orDash(p.Product), strconv.Itoa(p.Licenses),
			seatsText(int32(p.Used), total), strconv.FormatInt(p.WaitingPods, 10)}
		if categories {
			row = append(row, orDash(p.Category))
		}
		products.Rows = append(products.Rows, row)
	}
	currencies := Table{Title: "Totals per currency", Headers: []string{"Currency", "Period", "Cost", "Licences"}}
	for _, c := range r.Totals.ByCurrency {
		currencies.Rows = append(currencies.Rows, []string{orDash(string(c.Currency)), orDash(string(c.Period)), string(c.Total), strconv.Itoa(c.Licenses)})
	}
	empty := "No licences found."
	if namespace != "" {
		empty = fmt.Sprintf("No licences found in namespace %s.", namespace)
	}
	return Output{Data: r, Tables: []Table{licences, products, currencies}, CSV: &csvTable, Empty: empty}
}

// seatsText is "3/10", or "3/unlimited".
func seatsText(used int32, total *int32) string {
	if total == nil {
		return fmt.Sprintf("%d/unlimited", used)
	}
	return fmt.Sprintf("%d/%d", used, *total)
}

func int32Text(n *int32) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(int(*n))
}

func timeText(t *metav1.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// expiresText is "2026-09-30 (in 25d)", "2026-09-30 (3d ago)", or "never"
// for a licence with a state and no end.
func expiresText(t *metav1.Time, state licensingv1alpha1.LicenseState, now time.Time) string {
	if t == nil {
		if state == "" {
			return "-"
		}
		return "never"
	}
	date := t.UTC().Format(time.DateOnly)
	if d := t.Sub(now); d >= 0 {
		return fmt.Sprintf("%s (in %s)", date, duration.HumanDuration(d))
	}
	return fmt.Sprintf("%s (%s ago)", date, duration.HumanDuration(now.Sub(t.Time)))
}

// costText is "1200.00 EUR/1y", or "-" without a computed total.
func costText(c *licensingv1alpha1.CostStatus) string {
	if c == nil || c.Total == "" {
		return "-"
	}
	s := string(c.Total)
	if c.Currency != "" {
		s += " " + string(c.Currency)
	}
	if c.Period != "" {
		s += "/" + string(c.Period)
	}
	return s
}
