package licensing

import (
	"fmt"
	"math/big"
	"strings"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// maxDecimalIntegerDigits is the most digits before the point that a
// licensingv1alpha1.Decimal may have (its schema pattern).
const maxDecimalIntegerDigits = 12

// ComputeCost is the cost of a licence: the unit price is the list price (the
// licence's cost.listPrice, else the product's pricing.listPrice) less the
// licence's negotiated discount, and the total is the unit price times the
// units the product's pricing.unit counts, per its pricing period:
//
//   - Seat (the default, also without a product): the licence's seats, used
//     or not; no total for a licence with unlimited seats;
//   - Activation: the activations the licence holds (usage.Activations);
//   - Consumption: the usage of the current period (usage.Consumption).
//
// A licence of a freeToUse product (spec.pricing.freeToUse) costs 0.
//
// Amounts are exact decimals (math/big) rounded half-up to two decimals; the
// total is computed from the rounded unit price, as an invoice would.
// product may be nil. ComputeCost returns nil when no list price is known,
// and an error when an amount is not a decimal or does not fit a Decimal.
func ComputeCost(lic *licensingv1alpha1.SoftwareLicense, product *licensingv1alpha1.LicenseProduct, usage SeatUsage) (*licensingv1alpha1.CostStatus, error) {
	var pricing *licensingv1alpha1.Pricing
	if product != nil {
		pricing = product.Spec.Pricing
	}
	cost := lic.Spec.Cost

	var listPrice *licensingv1alpha1.Decimal
	switch {
	case FreeToUse(product):
		// A freeToUse product costs nothing, whatever price is written.
	case cost != nil && cost.ListPrice != nil:
		listPrice = cost.ListPrice
	case pricing != nil && pricing.ListPrice != nil:
		listPrice = pricing.ListPrice
	default:
		return nil, nil
	}
	price := new(big.Rat)
	var err error
	if listPrice != nil {
		if price, err = parseDecimal(string(*listPrice)); err != nil {
			return nil, fmt.Errorf("list price: %w", err)
		}
	}

	discount := new(big.Rat)
	if cost != nil && cost.NegotiatedDiscountPercent != "" {
		if discount, err = parseDecimal(string(cost.NegotiatedDiscountPercent)); err != nil {
			return nil, fmt.Errorf("negotiatedDiscountPercent: %w", err)
		}
		if discount.Cmp(big.NewRat(100, 1)) > 0 {
			return nil, fmt.Errorf("negotiatedDiscountPercent %s is above 100", cost.NegotiatedDiscountPercent)
		}
	}

	// unit = price × (100 − discount) / 100
	factor := new(big.Rat).Sub(big.NewRat(100, 1), discount)
	factor.Quo(factor, big.NewRat(100, 1))
	unit := roundHalfUp2(new(big.Rat).Mul(price, factor))

	out := &licensingv1alpha1.CostStatus{}
	if out.UnitPrice, err = formatDecimal(unit); err != nil {
		return nil, fmt.Errorf("unit price: %w", err)
	}
	if units, ok := pricedUnits(lic, pricing, usage); ok {
		total := new(big.Rat).Mul(unit, new(big.Rat).SetInt64(units))
		if out.Total, err = formatDecimal(total); err != nil {
			return nil, fmt.Errorf("total: %w", err)
		}
	}
	switch {
	case cost != nil && cost.Currency != "":
		out.Currency = cost.Currency
	case pricing != nil:
		out.Currency = pricing.Currency
	}
	if pricing != nil && pricing.Period != nil {
		out.Period = *pricing.Period
	}
	return out, nil
}

// pricedUnits is the number of units of pricing.unit a licence pays for in
// a period; false when there is no such number (unlimited seats).
func pricedUnits(lic *licensingv1alpha1.SoftwareLicense, pricing *licensingv1alpha1.Pricing, usage SeatUsage) (int64, bool) {
	unit := licensingv1alpha1.PriceUnitSeat
	if pricing != nil && pricing.Unit != "" {
		unit = pricing.Unit
	}
	switch unit {
	case licensingv1alpha1.PriceUnitActivation:
		return int64(usage.Activations), true
	case licensingv1alpha1.PriceUnitConsumption:
		return usage.Consumption, true
	}
	if lic.Spec.Seats == nil {
		return 0, false
	}
	return int64(*lic.Spec.Seats), true
}

// parseDecimal parses a non-negative decimal written with digits and at most
// one point, exactly; it refuses exponents, signs and fractions, which
// big.Rat.SetString would accept.
func parseDecimal(s string) (*big.Rat, error) {
	intPart, fracPart, _ := strings.Cut(s, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || strings.Trim(fracPart, "0123456789") != "" ||
		(strings.Contains(s, ".") && fracPart == "") {
		return nil, fmt.Errorf("%q is not a decimal number", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal number", s)
	}
	return r, nil
}

// roundHalfUp2 rounds a non-negative x to two decimals, halves up.
func roundHalfUp2(x *big.Rat) *big.Rat {
	// floor((x × 100 × 2 + 1) / 2) / 100 == floor(x × 100 + 1/2) / 100
	scaled := new(big.Rat).Mul(x, big.NewRat(100, 1))
	scaled.Add(scaled, big.NewRat(1, 2))
	cents := new(big.Int).Quo(scaled.Num(), scaled.Denom()) // floor: both non-negative
	return new(big.Rat).SetFrac(cents, big.NewInt(100))
}

// formatDecimal writes a non-negative x that has at most two decimals with
// exactly two decimals, and refuses amounts a Decimal cannot hold.
func formatDecimal(x *big.Rat) (licensingv1alpha1.Decimal, error) {
	s := x.FloatString(2)
	if intPart, _, _ := strings.Cut(s, "."); len(intPart) > maxDecimalIntegerDigits {
		return "", fmt.Errorf("%s has more than %d digits before the point", s, maxDecimalIntegerDigits)
	}
	return licensingv1alpha1.Decimal(s), nil
}
