package licensing

import (
	"fmt"
	"math"
	"time"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Lifecycle is every instant of a licence's life, computed for one instant
// ("now") from its spec and effective policy. All times are UTC.
type Lifecycle struct {
	// Start is when the licence first became valid: spec.startDate, else
	// spec.purchaseDate, else its creation. Maintenance and consumption
	// periods count from it.
	Start time.Time
	// ValidFrom is when the current term began: Start, or the start of the
	// current renewal term of an auto-renewing licence.
	ValidFrom time.Time
	// ValidUntil is when the current term ends; nil when it never ends.
	ValidUntil *time.Time
	// RenewalTime is spec.renewalDate, else ValidUntil.
	RenewalTime *time.Time
	// ExpiringSoonFrom is RenewalTime less the expiringSoonWindow.
	ExpiringSoonFrom *time.Time
	// GraceUntil is ValidUntil plus the gracePeriod; nil without either.
	GraceUntil *time.Time
	// MaintenanceUntil is Start plus the maintenanceDuration; nil without one.
	MaintenanceUntil *time.Time
	// Renewals counts the automatic renewals between Start and now.
	Renewals int32
	// AutoRenews is true when the licence starts a new term at the end of each
	// term instead of expiring.
	AutoRenews bool
	// PeriodStart is when the current consumption period began, for a
	// Consumption licence; nil otherwise.
	PeriodStart *time.Time
	// NextReset is when consumption is next reset, for a Consumption licence
	// with a resetPeriod; nil otherwise.
	NextReset *time.Time
}

// ComputeLifecycle computes the lifecycle of a licence at now, given its
// effective policy (ResolvePolicy):
//
//   - Start is spec.startDate, else spec.purchaseDate, else the creation time.
//   - ValidUntil is spec.expiryDate, else Start + validDuration (calendar
//     arithmetic) for every type but Perpetual, which never ends unless it has
//     an explicit expiryDate. A licence of another type without validDuration
//     never ends either (a subscription kept alive by its billing system).
//   - autoRenew on a Subscription or TimeLimited licence without an explicit
//     expiryDate and with a non-zero validDuration starts a new term of
//     validDuration at the end of each term instead of expiring. Term k runs
//     from Start + k×validDuration to Start + (k+1)×validDuration, anchored at
//     Start so month-end days do not drift (Jan 31, Feb 28, Mar 31, ...).
//     Renewals is the number of the current term, and ValidFrom/ValidUntil
//     are its bounds.
//   - RenewalTime is spec.renewalDate, else ValidUntil; ExpiringSoonFrom is
//     RenewalTime less expiringSoonWindow.
//   - GraceUntil is ValidUntil + gracePeriod; MaintenanceUntil is Start +
//     maintenanceDuration.
//   - For a Consumption licence, consumption periods of resetPeriod follow
//     each other from Start (PeriodStart, NextReset); without a resetPeriod the
//     only period starts at Start.
//
// It fails only when a duration in the effective policy does not parse.
func ComputeLifecycle(lic *licensingv1alpha1.SoftwareLicense, eff *licensingv1alpha1.PolicySettings, now time.Time) (Lifecycle, error) {
	now = now.UTC()
	var l Lifecycle
	switch {
	case lic.Spec.StartDate != nil:
		l.Start = lic.Spec.StartDate.UTC()
	case lic.Spec.PurchaseDate != nil:
		l.Start = lic.Spec.PurchaseDate.UTC()
	default:
		l.Start = lic.CreationTimestamp.UTC()
	}
	l.ValidFrom = l.Start

	licenseType := DefaultType
	if eff.Type != nil {
		licenseType = *eff.Type
	}
	validDuration, err := optionalDuration("validDuration", eff.ValidDuration)
	if err != nil {
		return Lifecycle{}, err
	}

	switch {
	case lic.Spec.ExpiryDate != nil:
		l.ValidUntil = ptrTime(lic.Spec.ExpiryDate.UTC())
	case licenseType == licensingv1alpha1.LicenseTypePerpetual || licenseType == licensingv1alpha1.LicenseTypeOEM || validDuration == nil:
		// Never ends.
	case lic.Spec.AutoRenew && !validDuration.IsZero() &&
		(licenseType == licensingv1alpha1.LicenseTypeSubscription || licenseType == licensingv1alpha1.LicenseTypeTimeLimited):
		l.AutoRenews = true
		k, from, until := period(l.Start, *validDuration, now)
		l.ValidFrom, l.ValidUntil = from, &until
		l.Renewals = int32(min(k, math.MaxInt32))
	default:
		l.ValidUntil = ptrTime(validDuration.AddTo(l.Start))
	}

	switch {
	case lic.Spec.RenewalDate != nil:
		l.RenewalTime = ptrTime(lic.Spec.RenewalDate.UTC())
	case l.ValidUntil != nil:
		l.RenewalTime = ptrTime(*l.ValidUntil)
	}
	window, err := optionalDuration("expiringSoonWindow", eff.ExpiringSoonWindow)
	if err != nil {
		return Lifecycle{}, err
	}
	if window == nil {
		def := MustParseDuration(string(DefaultExpiringSoonWindow))
		window = &def
	}
	if l.RenewalTime != nil {
		l.ExpiringSoonFrom = ptrTime(window.SubFrom(*l.RenewalTime))
	}

	grace, err := optionalDuration("gracePeriod", eff.GracePeriod)
	if err != nil {
		return Lifecycle{}, err
	}
	if grace != nil && l.ValidUntil != nil {
		l.GraceUntil = ptrTime(grace.AddTo(*l.ValidUntil))
	}
	maintenance, err := optionalDuration("maintenanceDuration", eff.MaintenanceDuration)
	if err != nil {
		return Lifecycle{}, err
	}
	if maintenance != nil {
		l.MaintenanceUntil = ptrTime(maintenance.AddTo(l.Start))
	}

	if licenseType == licensingv1alpha1.LicenseTypeConsumption {
		var reset *licensingv1alpha1.CalendarDuration
		if eff.Consumption != nil {
			reset = eff.Consumption.ResetPeriod
		}
		resetPeriod, err := optionalDuration("consumption.resetPeriod", reset)
		if err != nil {
			return Lifecycle{}, err
		}
		l.PeriodStart = ptrTime(l.Start)
		if resetPeriod != nil && !resetPeriod.IsZero() {
			_, from, until := period(l.Start, *resetPeriod, now)
			l.PeriodStart, l.NextReset = &from, &until
		}
	}
	return l, nil
}

// optionalDuration parses a duration of the effective policy.
func optionalDuration(field string, d *licensingv1alpha1.CalendarDuration) (*Duration, error) {
	if d == nil {
		return nil, nil
	}
	parsed, err := ParseDuration(string(*d))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return &parsed, nil
}

// period finds the period that contains now among the back-to-back periods
// of length d that start at anchor: it returns k ≥ 0 and the bounds
// [anchor + k×d, anchor + (k+1)×d). Before anchor it returns the first
// period (k = 0). Each bound is computed from the anchor, never by adding d
// repeatedly, so calendar periods keep the anchor's day of the month where
// it exists. d must not be zero. It takes constant time, however many
// periods have passed.
func period(anchor time.Time, d Duration, now time.Time) (int64, time.Time, time.Time) {
	at := func(k int64) time.Time { return Duration{Value: d.Value * k, Unit: d.Unit}.AddTo(anchor) }
	if now.Before(anchor) {
		return 0, anchor, at(1)
	}
	// Estimate k, then correct it: the estimate is off by at most one or two.
	var k int64
	switch d.Unit {
	case UnitYear, UnitMonth:
		months := int64(now.Year()-anchor.Year())*12 + int64(now.Month()-anchor.Month())
		perPeriod := d.Value
		if d.Unit == UnitYear {
			perPeriod *= 12
		}
		k = months / perPeriod
	default:
		// Whole seconds, so spans beyond a time.Duration (292 years) do not saturate.
		unit, _ := d.Unit.fixedLength()
		k = (now.Unix() - anchor.Unix()) / (d.Value * int64(unit/time.Second))
	}
	for k > 0 && at(k).After(now) {
		k--
	}
	for !at(k + 1).After(now) {
		k++
	}
	return k, at(k), at(k + 1)
}

func ptrTime(t time.Time) *time.Time { return &t }
