package licensing

// The uses of a licence: a Consumption licence counts one use for each Pod
// it admits, and a feature with maxConsumption one use for each admitted Pod
// that asks for it, per consumption period. The webhook keeps the uses in a
// SeatLedger of the licence (spec.license) and writes it with
// compare-and-swap; the functions here decide, from what it read, whether
// one more use fits, and how the ledger's uses change with the period and
// the recount. Nothing here talks to a client.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

const usesLedgerPrefix = "uses-"

// UsesLedgerName is the name of the SeatLedger (in the licence's namespace)
// that counts the uses of the licence named licence.
func UsesLedgerName(licence string) string { return boundedName(usesLedgerPrefix+licence, licence) }

// UsePeriod is one consumption period: from Start until Next (nil: it never ends).
type UsePeriod struct {
	Start time.Time
	Next  *time.Time
}

// CurrentUsePeriod is the consumption period of the licence at now, from its
// effective policy (status.effectivePolicy), worked out from the clock: the
// periods of consumption.resetPeriod follow each other from the licence's
// start (ComputeLifecycle, as the licence controller computes
// status.consumption.periodStart and status.nextResetTime); without a
// resetPeriod the only period starts at the start. A licence that is not of
// type Consumption has the same periods for its features' maxConsumption.
func CurrentUsePeriod(l *licensingv1alpha1.SoftwareLicense, now time.Time) (UsePeriod, error) {
	var settings licensingv1alpha1.PolicySettings
	if l.Status.EffectivePolicy != nil {
		settings = l.Status.EffectivePolicy.PolicySettings
	}
	life, err := ComputeLifecycle(l, &settings, now)
	if err != nil {
		return UsePeriod{}, err
	}
	if life.PeriodStart != nil {
		return UsePeriod{Start: *life.PeriodStart, Next: life.NextReset}, nil
	}
	var reset *licensingv1alpha1.CalendarDuration
	if settings.Consumption != nil {
		reset = settings.Consumption.ResetPeriod
	}
	d, err := optionalDuration("consumption.resetPeriod", reset)
	if err != nil || d == nil || d.IsZero() {
		return UsePeriod{Start: life.Start}, err
	}
	_, from, until := period(life.Start, *d, now.UTC())
	return UsePeriod{Start: from, Next: &until}, nil
}

// IsConsumption says whether the licence's effective policy is of type Consumption.
func IsConsumption(l *licensingv1alpha1.SoftwareLicense) bool {
	p := l.Status.EffectivePolicy
	return p != nil && p.Type != nil && *p.Type == licensingv1alpha1.LicenseTypeConsumption
}

// CountsUses says whether admitting a Pod asking for features under licence
// l takes a use in the licence's ledger: l is a Consumption licence, or one
// of the features has a maxConsumption.
func CountsUses(l *licensingv1alpha1.SoftwareLicense, features []string) bool {
	return IsConsumption(l) || len(CountedFeatures(l, features)) > 0
}

// UsesInPeriod are the ledger's uses when they count period start: the
// ledger's own, or, in a new period (or for a ledger without uses), none.
func UsesInPeriod(u *licensingv1alpha1.LicenseUses, start time.Time) licensingv1alpha1.LicenseUses {
	if u == nil || !SamePeriodStart(u.PeriodStart.Time, start) {
		return licensingv1alpha1.LicenseUses{PeriodStart: metav1.NewTime(start)}
	}
	return *u.DeepCopy()
}

// SamePeriodStart says whether two period starts are the same, at the
// precision the API stores times (whole seconds).
func SamePeriodStart(a, b time.Time) bool {
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// AdmittedUses are the uses of admitted Pods in the period, confirmed or pending.
func AdmittedUses(u licensingv1alpha1.LicenseUses) int64 {
	return u.Confirmed + int64(len(u.Pending))
}

// FeatureUsesOf are the uses of feature code in the period, confirmed or pending.
func FeatureUsesOf(u licensingv1alpha1.LicenseUses, code string) int64 {
	var n int64
	for _, f := range u.Features {
		if f.Code == code {
			n += f.Used
		}
	}
	for _, p := range u.Pending {
		if slices.Contains(p.Features, code) {
			n++
		}
	}
	return n
}

// HasPendingUse says whether the Pod with uid already took its use.
func HasPendingUse(u licensingv1alpha1.LicenseUses, uid string) bool {
	return slices.ContainsFunc(u.Pending, func(p licensingv1alpha1.PendingUse) bool { return p.UID == uid })
}

// UseInput is what DecideUse needs.
type UseInput struct {
	License *licensingv1alpha1.SoftwareLicense
	// Pod names the Pod for messages: "Pod namespace/name".
	Pod string
	// Features the Pod asks for (RequestedFeatures).
	Features []string
	Period   UsePeriod
	// Uses are the ledger's uses in Period (UsesInPeriod).
	Uses licensingv1alpha1.LicenseUses
	// Reported is the usage the licence's assignments reported in Period
	// (status.consumption.reported when its periodStart is Period.Start).
	Reported int64
}

// UseDecision is whether one more use fits.
type UseDecision struct {
	Allowed bool
	// Message says why not: the licence, the limit fields, the usage and the next reset.
	Message string
	// Exhausts is true when this use reaches the licence's limit: the next
	// Pod will be refused until the period resets.
	Exhausts bool
	// Queued is true when the Pod, refused a use now, waits in the line of
	// the licence's uses for the next period (whenNoSeat Queue); Position
	// is its place (from 1) and Waiting the line's length.
	Queued            bool
	Position, Waiting int
}

// DecideUse decides whether a Pod may take one more use of the licence:
// for a Consumption licence, the admitted uses plus the reported usage must
// not have reached maxConsumptions (plus maxOverages when allowOverages;
// ComputeConsumption); each asked-for feature with maxConsumption must have
// fewer uses in the period than it.
func DecideUse(in UseInput) UseDecision {
	l := in.License
	eff := l.Status.EffectivePolicy
	if IsConsumption(l) {
		used := AdmittedUses(in.Uses) + in.Reported
		if ComputeConsumption(eff.Consumption, used).Exhausted {
			return UseDecision{Message: fmt.Sprintf("%s is refused: licence %s has used %d in this consumption period (%d by admitted Pods, %d reported by assignments), which reaches its limit (%s in status.effectivePolicy.consumption) since %s; %s",
				in.Pod, LicenseKey(l), used, AdmittedUses(in.Uses), in.Reported, ConsumptionLimitText(eff.Consumption), formatTime(in.Period.Start), resetText(in.Period))}
		}
		if ComputeConsumption(eff.Consumption, used+1).Exhausted {
			return withFeatures(in, UseDecision{Allowed: true, Exhausts: true})
		}
	}
	return withFeatures(in, UseDecision{Allowed: true})
}

// withFeatures refuses d when a counted feature is at its maxConsumption.
func withFeatures(in UseInput, d UseDecision) UseDecision {
	for _, f := range CountedFeatures(in.License, in.Features) {
		limit := *policyFeature(in.License, f).MaxConsumption
		if used := FeatureUsesOf(in.Uses, f); used >= limit {
			return UseDecision{Message: fmt.Sprintf("%s is refused: feature %s of licence %s has been used %d times in this consumption period, its limit (status.effectivePolicy.features[%s].maxConsumption %d) since %s; %s",
				in.Pod, f, LicenseKey(in.License), used, f, limit, formatTime(in.Period.Start), resetText(in.Period))}
		}
	}
	return d
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func resetText(p UsePeriod) string {
	if p.Next == nil {
		return "the licence has no consumption.resetPeriod, so usage never resets: raise the limit in its policy or spec.overrides"
	}
	return fmt.Sprintf("usage resets at %s (status.nextResetTime); or raise the limit in the licence's policy or spec.overrides", formatTime(*p.Next))
}

// AddPendingUse returns u with the use of the Pod added (nothing when it has one).
func AddPendingUse(u licensingv1alpha1.LicenseUses, use licensingv1alpha1.PendingUse) licensingv1alpha1.LicenseUses {
	if HasPendingUse(u, use.UID) {
		return u
	}
	u.Pending = append(u.Pending, use)
	return u
}

// RemovePendingUse returns u without the pending use of uid.
func RemovePendingUse(u licensingv1alpha1.LicenseUses, uid string) licensingv1alpha1.LicenseUses {
	u.Pending = slices.DeleteFunc(u.Pending, func(p licensingv1alpha1.PendingUse) bool { return p.UID == uid })
	return u
}

// SettleUses is the recount of a ledger's pending uses: a use whose Pod is
// stored (stored[uid]) is confirmed, added to Confirmed and to its features'
// counts, and leaves the pending list; a use whose Pod is not stored and was
// taken grace or longer ago is dropped, uncounted: a later admission step
// refused its Pod; a younger one is kept (its Pod may still be on its way to
// storage). changed says whether u changed.
func SettleUses(u licensingv1alpha1.LicenseUses, stored map[string]bool, now time.Time, grace time.Duration) (out licensingv1alpha1.LicenseUses, changed bool) {
	out = *u.DeepCopy()
	out.Pending = out.Pending[:0]
	for _, p := range u.Pending {
		switch {
		case stored[p.UID]:
			out.Confirmed++
			for _, f := range p.Features {
				out.Features = addFeatureUse(out.Features, f)
			}
			changed = true
		case now.Sub(p.Admitted.Time) >= grace:
			changed = true
		default:
			out.Pending = append(out.Pending, *p.DeepCopy())
		}
	}
	if len(out.Pending) == 0 {
		out.Pending = nil
	}
	return out, changed
}

// maxFeatureCounts is how many features a ledger counts (FeatureUses' MaxItems).
const maxFeatureCounts = 64

func addFeatureUse(fs []licensingv1alpha1.FeatureUses, code string) []licensingv1alpha1.FeatureUses {
	for i := range fs {
		if fs[i].Code == code {
			fs[i].Used++
			return fs
		}
	}
	if len(fs) >= maxFeatureCounts {
		return fs
	}
	fs = append(fs, licensingv1alpha1.FeatureUses{Code: code, Used: 1})
	slices.SortFunc(fs, func(a, b licensingv1alpha1.FeatureUses) int { return strings.Compare(a.Code, b.Code) })
	return fs
}

// NextSettle is when SettleUses next drops a pending use whose Pod is not
// stored: grace after the oldest pending use; nil without pending uses.
func NextSettle(u licensingv1alpha1.LicenseUses, grace time.Duration) *time.Time {
	var at *time.Time
	for _, p := range u.Pending {
		t := p.Admitted.Add(grace)
		if at == nil || t.Before(*at) {
			at = &t
		}
	}
	return at
}

// ConsumptionStatusInput is what ComputeConsumptionStatus needs.
type ConsumptionStatusInput struct {
	Policy      *licensingv1alpha1.ConsumptionPolicy
	PeriodStart time.Time
	// Previous is the licence's status.consumption as last written.
	Previous *licensingv1alpha1.ConsumptionStatus
	// Uses are the uses of the licence's ledger (spec.uses), nil without one.
	Uses *licensingv1alpha1.LicenseUses
	// Reports are the usages the assignments bound to the licence reported in
	// the period (AssignmentUsage), by assignment UID.
	Reports map[string]int64
}

// ComputeConsumptionStatus is status.consumption of a Consumption licence:
// used is the uses of the Pods it admitted in the period (the ledger's,
// UsesInPeriod) plus the usage its assignments reported. Reported usage is
// kept for the period: each assignment's is the most it reported, and an
// assignment that is gone leaves its usage in reportedByDeleted, so that
// deleting an assignment does not erase what it used. A new period starts
// from zero.
func ComputeConsumptionStatus(in ConsumptionStatusInput) (licensingv1alpha1.ConsumptionStatus, ConsumptionResult) {
	prev := map[string]int64{}
	var deleted int64
	if p := in.Previous; p != nil && p.PeriodStart != nil && SamePeriodStart(p.PeriodStart.Time, in.PeriodStart) {
		for _, r := range p.ReportedBy {
			prev[r.UID] = r.Used
		}
		deleted = p.ReportedByDeleted
	}
	for uid, used := range prev {
		if _, ok := in.Reports[uid]; !ok {
			deleted += used
		}
	}
	st := licensingv1alpha1.ConsumptionStatus{PeriodStart: ptrMetaTime(in.PeriodStart), ReportedByDeleted: deleted}
	reported := deleted
	for uid, used := range in.Reports {
		used = max(used, prev[uid])
		reported += used
		st.ReportedBy = append(st.ReportedBy, licensingv1alpha1.ReportedUsage{UID: uid, Used: used})
	}
	slices.SortFunc(st.ReportedBy, func(a, b licensingv1alpha1.ReportedUsage) int { return strings.Compare(a.UID, b.UID) })
	st.Admitted = AdmittedUses(UsesInPeriod(in.Uses, in.PeriodStart))
	st.Reported = reported
	r := ComputeConsumption(in.Policy, st.Admitted+reported)
	st.Used, st.Overage = r.Used, r.Overage
	return st, r
}
