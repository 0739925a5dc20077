package controller

import (
	"cmp"
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// licenseInputs are the objects besides the licence and its assignments
// that its status is computed from.
type licenseInputs struct {
	// product is the licence's LicenseProduct; nil without one or when missing.
	product *licensingv1alpha1.LicenseProduct
	// productMissing is true when spec.productRef names no LicenseProduct.
	productMissing bool
	// key is what the status says about the licence key.
	key keyResult
	// seats is what the seat decision reads.
	seats seatInputs
	// uses are the uses in the licence's use ledger (nil without one).
	uses *licensingv1alpha1.LicenseUses
}

// licenseDecision is everything a pass of the licence decided, for
// Reconcile to write at its end: the licence's status, the seat plan (the
// assignment statuses and the finalizer) and when to look again.
type licenseDecision struct {
	// status is the licence's new status; nil leaves it as it is.
	status *licensingv1alpha1.SoftwareLicenseStatus
	// seats is the seat decision and the writes it needs.
	seats seatPlan
	// next is the next instant the status changes by itself (nil: never).
	next *time.Time
	// costProblem says why status.cost is left out, if it is.
	costProblem string
}

// gatherInputs reads the licence's product, key (generating the key Secret
// when the product wants one and it does not exist yet, the one write
// before the decision: its fingerprint is part of the status) and what the
// seat decision needs.
func (r *SoftwareLicenseReconciler) gatherInputs(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (licenseInputs, error) {
	var in licenseInputs
	if ref := lic.Spec.ProductRef; ref != nil {
		product := &licensingv1alpha1.LicenseProduct{}
		switch err := r.Get(ctx, types.NamespacedName{Name: ref.Name}, product); {
		case apierrors.IsNotFound(err):
			in.productMissing = true
		case err != nil:
			return in, fmt.Errorf("reading product %s: %w", ref.Name, err)
		default:
			in.product = product
		}
	}
	key, err := r.reconcileKey(ctx, lic, in.product)
	if err != nil {
		return in, err
	}
	in.key = key
	if in.seats, err = r.gatherSeats(ctx, lic); err != nil {
		return in, err
	}
	if in.uses, err = r.gatherConsumption(ctx, lic); err != nil {
		return in, err
	}
	return in, nil
}

// computeStatus computes, from what Reconcile read and with no I/O, the
// whole status of a licence at now, the seat decision (the statuses of the
// assignments it answers for and what happens to its finalizer) and the
// next instant either will change (nil for never).
func computeStatus(lic *licensingv1alpha1.SoftwareLicense, in licenseInputs, now time.Time) (licenseDecision, error) {
	res := licensing.ResolvePolicy(lic, in.product)
	if in.productMissing {
		res.Resolved = false
		res.Reason = licensingv1alpha1.ReasonProductNotFound
		res.Message = fmt.Sprintf("LicenseProduct %q named by spec.productRef does not exist: create it or fix spec.productRef", lic.Spec.ProductRef.Name)
	}
	eff := &res.Policy
	life, err := licensing.ComputeLifecycle(lic, &eff.PolicySettings, now)
	if err != nil {
		// The CRD schema admits only durations that parse, so this is a bug.
		return licenseDecision{}, fmt.Errorf("computing the lifecycle: %w", err)
	}
	adminState := lic.Spec.State
	if adminState == "" {
		adminState = licensingv1alpha1.AdminStateActive
	}
	state := life.State(adminState, now)
	// The Expired, ExpiringSoon and InGracePeriod conditions are the dates'
	// facts, also while an administrator suspends or revokes the licence.
	dated := life.State(licensingv1alpha1.AdminStateActive, now)

	ready := readiness(res, in.key, state)
	usable := ready.Status == metav1.ConditionTrue && licensing.Usable(state)
	seats, err := decideSeats(lic, in.seats, eff, usable, now)
	if err != nil {
		return licenseDecision{}, err
	}
	usage := seats.usage
	d := licenseDecision{seats: seats}

	st := licensingv1alpha1.SoftwareLicenseStatus{
		ObservedGeneration: lic.Generation,
		Conditions:         append([]metav1.Condition(nil), lic.Status.Conditions...),
		State:              state,
		Compliance:         licensing.ComputeCompliance(usage.Used, lic.Spec.Seats, eff.UnderUtilizedThresholdPercent),
		Seats: licensingv1alpha1.LicenseSeatStatus{
			Total:       lic.Spec.Seats,
			Used:        usage.Used,
			Available:   licensing.AvailableSeats(usage.Used, lic.Spec.Seats),
			Pending:     usage.Pending,
			WaitingPods: seats.waitingPods,

			ReservedByWorkloads: seats.reservedByWorkloads,
		},
		Activations:      usage.Activations,
		MaxActivations:   licensing.ActivationLimit(eff, in.product),
		Trial:            eff.Trial != nil && *eff.Trial,
		Product:          resolvedProduct(lic, in.product),
		EffectivePolicy:  eff,
		ValidFrom:        metaTime(&life.ValidFrom),
		ValidUntil:       metaTime(life.ValidUntil),
		RenewalTime:      metaTime(life.RenewalTime),
		MaintenanceUntil: metaTime(life.MaintenanceUntil),
		GraceUntil:       metaTime(life.GraceUntil),
		NextResetTime:    metaTime(life.NextReset),
		Renewals:         life.Renewals,
		KeyFingerprint:   in.key.fingerprint,
		KeySecretName:    in.key.secretName,
	}

	var consumption *licensing.ConsumptionResult
	st.Consumption, consumption = consumptionStatus(lic, eff, life.PeriodStart, in.uses, seats)

	if st.Cost, err = licensing.ComputeCost(lic, in.product, usage); err != nil {
		// An amount beyond what status can hold: leave the cost out rather
		// than fail the whole status.
		d.costProblem = err.Error()
		st.Cost = nil
	}

	gen := lic.Generation
	at := metav1.NewTime(now)
	set := func(c metav1.Condition) {
		c.ObservedGeneration, c.LastTransitionTime = gen, at
		meta.SetStatusCondition(&st.Conditions, c)
	}
	set(ready)
	set(stalledCondition(ready))
	set(policyCondition(res))
	set(datedCondition(licensingv1alpha1.ConditionExpired, licensingv1alpha1.LicenseStateExpired, dated, &life))
	set(datedCondition(licensingv1alpha1.ConditionExpiringSoon, licensingv1alpha1.LicenseStateExpiringSoon, dated, &life))
	set(datedCondition(licensingv1alpha1.ConditionInGracePeriod, licensingv1alpha1.LicenseStateInGracePeriod, dated, &life))
	set(complianceCondition(licensingv1alpha1.ConditionOverAllocated, licensingv1alpha1.ComplianceOverAllocated, &st, eff))
	set(complianceCondition(licensingv1alpha1.ConditionUnderUtilized, licensingv1alpha1.ComplianceUnderUtilized, &st, eff))
	set(exhaustedCondition(&st, consumption, eff, life.NextReset))

	d.status = &st
	if next, ok := life.NextBoundary(now); ok {
		d.next = &next
	}
	d.next = earliest(d.next, seats.boundary)
	return d, nil
}

// computeDeletionStatus is computeStatus for a licence being deleted: it
// binds nothing new and its status stays as it was (its holders' workloads
// are still admitted by it), but for the seat counts and, while assignments
// hold its seats, the Terminating condition (reason HeldBySeats) naming
// them. Once none do, its status is left alone: the finalizer goes.
func computeDeletionStatus(lic *licensingv1alpha1.SoftwareLicense, in seatInputs, now time.Time) (licenseDecision, error) {
	seats, err := decideSeats(lic, in, lic.Status.EffectivePolicy, false, now)
	if err != nil {
		return licenseDecision{}, err
	}
	d := licenseDecision{seats: seats, next: seats.boundary}
	if len(seats.holders) == 0 {
		return d, nil
	}
	status := *lic.Status.DeepCopy()
	status.Seats.Used = seats.usage.Used
	status.Seats.Available = licensing.AvailableSeats(seats.usage.Used, lic.Spec.Seats)
	status.Seats.Pending = seats.usage.Pending
	status.Seats.WaitingPods = seats.waitingPods
	status.Seats.ReservedByWorkloads = seats.reservedByWorkloads
	status.Activations = seats.usage.Activations
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{
		Type:               licensingv1alpha1.ConditionTerminating,
		Status:             metav1.ConditionTrue,
		Reason:             licensingv1alpha1.ReasonHeldBySeats,
		Message:            licensing.LicenseTerminatingMessage(lic.Namespace, seats.holders),
		ObservedGeneration: lic.Generation,
		LastTransitionTime: metav1.NewTime(now),
	})
	d.status = &status
	return d, nil
}

// earliest is the earlier of two instants, nil meaning never.
func earliest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.Before(*b):
		return a
	}
	return b
}

// readiness is the Ready condition: the product, the policy and the key
// resolved (its reason is the first that did not). Whether the licence
// grants seats now is its state, which the message tells: an Expired,
// Suspended or not yet valid licence is Ready (api/v1alpha1.ConditionReady).
func readiness(res licensing.PolicyResolution, key keyResult, state licensingv1alpha1.LicenseState) metav1.Condition {
	c := metav1.Condition{Type: licensingv1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	switch {
	case !res.Resolved:
		c.Reason, c.Message = res.Reason, res.Message
	case key.problem != "":
		c.Reason, c.Message = licensingv1alpha1.ReasonKeyNotFound, key.problem
		if key.reason != "" {
			c.Reason = key.reason
		}
	case !licensing.Usable(state):
		c.Status, c.Reason = metav1.ConditionTrue, licensingv1alpha1.ReasonResolved
		c.Message = fmt.Sprintf("The licence is %s and grants no seats", state)
	default:
		c.Status, c.Reason = metav1.ConditionTrue, licensingv1alpha1.ReasonResolved
		c.Message = fmt.Sprintf("The licence is %s and grants seats", state)
	}
	return c
}

// stateReason is the condition reason that names a lifecycle state.
func stateReason(s licensingv1alpha1.LicenseState) string {
	switch s {
	case licensingv1alpha1.LicenseStatePending:
		return licensingv1alpha1.ReasonNotYetValid
	case licensingv1alpha1.LicenseStateExpiringSoon:
		return licensingv1alpha1.ReasonExpiringSoon
	case licensingv1alpha1.LicenseStateInGracePeriod:
		return licensingv1alpha1.ReasonGracePeriod
	case licensingv1alpha1.LicenseStateExpired:
		return licensingv1alpha1.ReasonExpired
	case licensingv1alpha1.LicenseStateSuspended:
		return licensingv1alpha1.ReasonSuspended
	case licensingv1alpha1.LicenseStateRevoked:
		return licensingv1alpha1.ReasonRevoked
	}
	return licensingv1alpha1.ReasonValid
}

func policyCondition(res licensing.PolicyResolution) metav1.Condition {
	c := metav1.Condition{Type: licensingv1alpha1.ConditionPolicyResolved, Status: metav1.ConditionFalse, Reason: res.Reason, Message: res.Message}
	if res.Resolved {
		c.Status = metav1.ConditionTrue
	}
	return c
}

// datedCondition is the Expired, ExpiringSoon or InGracePeriod condition:
// True when the dated state is want, its reason the dated state's.
func datedCondition(typ string, want, dated licensingv1alpha1.LicenseState, life *licensing.Lifecycle) metav1.Condition {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: stateReason(dated)}
	if dated == want {
		c.Status = metav1.ConditionTrue
	}
	switch dated {
	case licensingv1alpha1.LicenseStatePending:
		c.Message = "The licence starts " + stamp(life.Start)
	case licensingv1alpha1.LicenseStateActive:
		if life.ValidUntil == nil {
			c.Message = "The licence is valid and does not end"
		} else {
			c.Message = "The licence is valid until " + stamp(*life.ValidUntil)
		}
	case licensingv1alpha1.LicenseStateExpiringSoon:
		c.Message = "Renewal is due " + stamp(*life.RenewalTime)
		if life.ValidUntil != nil {
			c.Message += "; the licence ends " + stamp(*life.ValidUntil)
		}
	case licensingv1alpha1.LicenseStateInGracePeriod:
		c.Message = fmt.Sprintf("The licence ended %s; its grace period ends %s", stamp(*life.ValidUntil), stamp(*life.GraceUntil))
	case licensingv1alpha1.LicenseStateExpired:
		c.Message = "The licence ended " + stamp(*life.ValidUntil)
		if life.GraceUntil != nil {
			c.Message += " and its grace period " + stamp(*life.GraceUntil)
		}
	}
	return c
}

// complianceCondition is the OverAllocated or UnderUtilized condition.
func complianceCondition(typ string, want licensingv1alpha1.Compliance, st *licensingv1alpha1.SoftwareLicenseStatus,
	eff *licensingv1alpha1.EffectivePolicy) metav1.Condition {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Message: seatsMessage(st)}
	if st.Compliance == want {
		c.Status = metav1.ConditionTrue
	}
	switch st.Compliance {
	case licensingv1alpha1.ComplianceOverAllocated:
		c.Reason = licensingv1alpha1.ReasonSeatsExceeded
	case licensingv1alpha1.ComplianceUnderUtilized:
		c.Reason = licensingv1alpha1.ReasonBelowThreshold
		c.Message += fmt.Sprintf(", below the %d%% utilisation threshold", *eff.UnderUtilizedThresholdPercent)
	default:
		c.Reason = licensingv1alpha1.ReasonWithinSeats
	}
	return c
}

// exhaustedCondition is SeatsExhausted: no seat free, or, for a Consumption
// licence, no usage left this period (until nextReset, if any).
func exhaustedCondition(st *licensingv1alpha1.SoftwareLicenseStatus, consumption *licensing.ConsumptionResult,
	eff *licensingv1alpha1.EffectivePolicy, nextReset *time.Time) metav1.Condition {
	c := metav1.Condition{Type: licensingv1alpha1.ConditionSeatsExhausted, Status: metav1.ConditionFalse,
		Reason: licensingv1alpha1.ReasonSeatsFree, Message: seatsMessage(st)}
	switch {
	case licensing.SeatsExhausted(st.Seats.Used, st.Seats.Total):
		c.Status, c.Reason = metav1.ConditionTrue, licensingv1alpha1.ReasonNoSeatsFree
	case consumption != nil && consumption.Exhausted:
		c.Status, c.Reason = metav1.ConditionTrue, licensingv1alpha1.ReasonConsumptionExhausted
		c.Message = fmt.Sprintf("Usage %d reached the limit of this period (%s)", consumption.Used, licensing.ConsumptionLimitText(eff.Consumption))
		if nextReset != nil {
			c.Message += "; it resets " + stamp(*nextReset)
		}
		c.Message += ": raise consumption.maxConsumptions or allow overages (consumption.allowOverages, consumption.maxOverages) in the policy or spec.overrides"
	}
	return c
}

func seatsMessage(st *licensingv1alpha1.SoftwareLicenseStatus) string {
	if st.Seats.Total == nil {
		return fmt.Sprintf("%d seats used of unlimited seats", st.Seats.Used)
	}
	return fmt.Sprintf("%d of %d seats used", st.Seats.Used, *st.Seats.Total)
}

// resolvedProduct is status.product: the spec's vendor, name and SKU, else
// the product's; covers is the product and, for a bundle, its members.
func resolvedProduct(lic *licensingv1alpha1.SoftwareLicense, product *licensingv1alpha1.LicenseProduct) *licensingv1alpha1.ResolvedProduct {
	out := &licensingv1alpha1.ResolvedProduct{
		DisplayName: lic.Spec.ProductName,
		Vendor:      lic.Spec.Vendor,
		SKU:         lic.Spec.ProductSKU,
	}
	if lic.Spec.ProductRef != nil {
		out.Name = lic.Spec.ProductRef.Name
	}
	if product != nil {
		out.DisplayName = cmp.Or(out.DisplayName, product.Spec.DisplayName)
		out.Vendor = cmp.Or(out.Vendor, product.Spec.Vendor)
		out.SKU = cmp.Or(out.SKU, product.Spec.SKU)
		out.Authorization = product.Spec.Authorization
		out.Covers = []string{product.Name}
		if product.Spec.Bundle != nil {
			out.Covers = append(out.Covers, product.Spec.Bundle.Products...)
		}
	}
	if out.Name == "" && out.DisplayName == "" && out.Vendor == "" && out.SKU == "" {
		return nil
	}
	return out
}

func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return &metav1.Time{Time: *t}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
