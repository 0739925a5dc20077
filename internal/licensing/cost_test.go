package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func TestComputeCost(t *testing.T) {
	product := ut.MakeProduct("cad").Pricing("1200", "EUR", "1y").Obj()
	cases := map[string]struct {
		lic     *v1.SoftwareLicense
		product *v1.LicenseProduct
		want    *v1.CostStatus
	}{
		"no price anywhere": {
			lic: ut.MakeLicense("l", "ns").Seats(3).Obj(), product: ut.MakeProduct("cad").Obj(),
		},
		"no product, no price": {
			lic: ut.MakeLicense("l", "ns").Seats(3).Obj(),
		},
		"product list price, no discount": {
			lic: ut.MakeLicense("l", "ns").Seats(3).Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "1200.00", Total: "3600.00", Currency: "EUR", Period: "1y"},
		},
		"product list price less a decimal discount": {
			lic: ut.MakeLicense("l", "ns").Seats(3).Discount("", "12.5").Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "1050.00", Total: "3150.00", Currency: "EUR", Period: "1y"},
		},
		"licence list price beats the product's": {
			lic: ut.MakeLicense("l", "ns").Seats(2).Discount("19.99", "").Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "19.99", Total: "39.98", Currency: "EUR", Period: "1y"},
		},
		"rounded half up: 17.49125 to 17.49": {
			lic:  ut.MakeLicense("l", "ns").Seats(1).Discount("19.99", "12.5").Obj(),
			want: &v1.CostStatus{UnitPrice: "17.49", Total: "17.49"},
		},
		"rounded half up: 0.125 to 0.13": {
			lic:  ut.MakeLicense("l", "ns").Seats(3).Discount("0.125", "0").Obj(),
			want: &v1.CostStatus{UnitPrice: "0.13", Total: "0.39"},
		},
		"rounded half up: 0.135 less 0 to 0.14, not binary 0.13": {
			lic:  ut.MakeLicense("l", "ns").Seats(1).Discount("0.135", "").Obj(),
			want: &v1.CostStatus{UnitPrice: "0.14", Total: "0.14"},
		},
		"rounded down below the half: 0.1249": {
			lic:  ut.MakeLicense("l", "ns").Seats(1).Discount("0.1249", "").Obj(),
			want: &v1.CostStatus{UnitPrice: "0.12", Total: "0.12"},
		},
		"0.1 + 0.2 style amounts stay exact": {
			lic:  ut.MakeLicense("l", "ns").Seats(3).Discount("0.1", "").Obj(),
			want: &v1.CostStatus{UnitPrice: "0.10", Total: "0.30"},
		},
		"100 percent discount": {
			lic: ut.MakeLicense("l", "ns").Seats(3).Discount("", "100").Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "0.00", Total: "0.00", Currency: "EUR", Period: "1y"},
		},
		"unlimited seats: no total": {
			lic: ut.MakeLicense("l", "ns").Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "1200.00", Currency: "EUR", Period: "1y"},
		},
		"zero seats": {
			lic: ut.MakeLicense("l", "ns").Seats(0).Obj(), product: product,
			want: &v1.CostStatus{UnitPrice: "1200.00", Total: "0.00", Currency: "EUR", Period: "1y"},
		},
		"licence currency beats the product's": {
			lic: func() *v1.SoftwareLicense {
				l := ut.MakeLicense("l", "ns").Seats(1).Obj()
				l.Spec.Cost = &v1.LicenseCost{Currency: "USD"}
				return l
			}(),
			product: product,
			want:    &v1.CostStatus{UnitPrice: "1200.00", Total: "1200.00", Currency: "USD", Period: "1y"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ComputeCost(tc.lic, tc.product, SeatUsage{})
			if err != nil {
				t.Fatalf("ComputeCost() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ComputeCost() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeCostErrors(t *testing.T) {
	cases := map[string]*v1.SoftwareLicense{
		"discount above 100":     ut.MakeLicense("l", "ns").Seats(1).Discount("10", "100.5").Obj(),
		"discount not a decimal": ut.MakeLicense("l", "ns").Seats(1).Discount("10", "1e2").Obj(),
		"price is a fraction":    ut.MakeLicense("l", "ns").Seats(1).Discount("1/3", "").Obj(),
		"price with a sign":      ut.MakeLicense("l", "ns").Seats(1).Discount("-5", "").Obj(),
		"price ends in a point":  ut.MakeLicense("l", "ns").Seats(1).Discount("5.", "").Obj(),
		"total beyond a Decimal": ut.MakeLicense("l", "ns").Seats(10000000).Discount("999999999", "").Obj(),
		// The largest list price rounds up to 13 digits: refused, never written as an invalid Decimal.
		"unit price rounds beyond a Decimal": ut.MakeLicense("l", "ns").Seats(1).Discount("999999999999.9999", "").Obj(),
	}
	for name, lic := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := ComputeCost(lic, nil, SeatUsage{}); err == nil {
				t.Errorf("ComputeCost() = %+v, want an error", got)
			}
		})
	}
}

func TestComputeCostPeriodNeedsProduct(t *testing.T) {
	got, err := ComputeCost(ut.MakeLicense("l", "ns").Seats(1).Discount("5", "").Obj(),
		&v1.LicenseProduct{Spec: v1.LicenseProductSpec{Pricing: &v1.Pricing{Period: ptr.To(v1.CalendarDuration("1m"))}}}, SeatUsage{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&v1.CostStatus{UnitPrice: "5.00", Total: "5.00", Period: "1m"}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// DESIGN.md: pricing.unit says what one listPrice buys (Seat, Activation or
// Consumption), and status.cost.total is the cost per period: the unit price
// times the seats, the activations held or the usage of the current period.
func TestComputeCostByPriceUnit(t *testing.T) {
	priced := func(unit v1.PriceUnit, period v1.CalendarDuration) *v1.LicenseProduct {
		p := ut.MakeProduct("render").Pricing("0.05", "USD", period).Obj()
		p.Spec.Pricing.Unit = unit
		return p
	}
	usage := SeatUsage{Used: 4, Activations: 3, Consumption: 12000}
	cases := map[string]struct {
		lic     *v1.SoftwareLicense
		product *v1.LicenseProduct
		usage   SeatUsage
		want    *v1.CostStatus
	}{
		"Seat: the seats purchased, used or not": {
			lic: ut.MakeLicense("l", "ns").Seats(10).Obj(), product: priced(v1.PriceUnitSeat, "1m"), usage: usage,
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "0.50", Currency: "USD", Period: "1m"},
		},
		"no unit is Seat": {
			lic: ut.MakeLicense("l", "ns").Seats(10).Obj(), product: priced("", "1m"), usage: usage,
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "0.50", Currency: "USD", Period: "1m"},
		},
		"Activation: the activations held": {
			lic: ut.MakeLicense("l", "ns").Seats(10).Obj(), product: priced(v1.PriceUnitActivation, "1m"), usage: usage,
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "0.15", Currency: "USD", Period: "1m"},
		},
		"Activation: unlimited seats still have a total": {
			lic: ut.MakeLicense("l", "ns").Obj(), product: priced(v1.PriceUnitActivation, "1m"), usage: usage,
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "0.15", Currency: "USD", Period: "1m"},
		},
		"Consumption: the usage of the current period, not the seats": {
			lic: ut.MakeLicense("l", "ns").Seats(10).Obj(), product: priced(v1.PriceUnitConsumption, "1m"), usage: usage,
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "600.00", Currency: "USD", Period: "1m"},
		},
		"Consumption with a discount and nothing used yet": {
			lic: ut.MakeLicense("l", "ns").Discount("", "10").Obj(), product: priced(v1.PriceUnitConsumption, "1m"),
			want: &v1.CostStatus{UnitPrice: "0.05", Total: "0.00", Currency: "USD", Period: "1m"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ComputeCost(tc.lic, tc.product, tc.usage)
			if err != nil {
				t.Fatalf("ComputeCost() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ComputeCost() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
