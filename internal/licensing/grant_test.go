package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

var (
	grantNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	gT0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// gAt is gT0 plus n seconds: creation times that order the queue.
func gAt(n int) time.Time { return gT0.Add(time.Duration(n) * time.Second) }

// gPolicy is an effective policy with the fields the seat decision reads.
func gPolicy(model v1.SeatModel, enforcement v1.Enforcement, maxActivations, maxTransfers int32) *v1.EffectivePolicy {
	return &v1.EffectivePolicy{PolicySettings: v1.PolicySettings{
		SeatModel:      ptr.To(model),
		Enforcement:    ptr.To(enforcement),
		MaxActivations: ptr.To(maxActivations),
		MaxTransfers:   ptr.To(maxTransfers),
	}}
}

// gUsable is an Active licence with a policy.
func gUsable(l *v1.SoftwareLicense, p *v1.EffectivePolicy, covers ...string) GrantLicense {
	return GrantLicense{License: l, Policy: p, State: v1.LicenseStateActive, Usable: true, Covers: covers}
}

func gHard(seatsMaxActivations int32) *v1.EffectivePolicy {
	return gPolicy(v1.SeatModelConcurrent, v1.EnforcementHard, seatsMaxActivations, 0)
}

// gSA is an assignment of one seat for a service account, created gAt(n).
func gSA(name string, n int) *ut.AssignmentWrapper {
	return ut.MakeAssignment(name, "ns").ServiceAccount("runner").Created(gAt(n)).Generation(1)
}

// gGot is what the table tests compare of a decision.
type gGot struct {
	State     v1.AssignmentState
	License   string
	Seats     int32
	Position  int32
	Reason    string
	Writer    string
	Transfers int32
	Bound     bool
}

func gSummarize(r GrantResult) map[string]gGot {
	out := map[string]gGot{}
	for k, d := range r.Assignments {
		g := gGot{State: d.Status.State, License: d.Status.License, Seats: d.Status.Seats, Writer: d.Writer,
			Transfers: d.Status.Transfers, Bound: d.Bound}
		if d.Status.QueuePosition != nil {
			g.Position = *d.Status.QueuePosition
		}
		if c := meta.FindStatusCondition(d.Status.Conditions, v1.ConditionBound); c != nil {
			g.Reason = c.Reason
		}
		out[k] = g
	}
	return out
}

func gBound(license string, seats int32, newly bool) gGot {
	return gGot{State: v1.AssignmentStateBound, License: license, Seats: seats, Reason: v1.ReasonSeatsGranted, Writer: license, Bound: newly}
}

func gWaiting(writer string, position int32, reason string) gGot {
	return gGot{State: v1.AssignmentStatePending, Position: position, Reason: reason, Writer: writer}
}

// gNodes are the nodes by name, as GrantInput.Nodes holds them.
func gNodes(nodes ...*corev1.Node) map[string]*corev1.Node {
	out := map[string]*corev1.Node{}
	for _, n := range nodes {
		out[n.Name] = n
	}
	return out
}

const (
	uuidA = "4c4c4544-0042-3510-8052-b4c04f4e3332"
	uuidC = "ec2f3bb1-8d5a-4d4b-9f0e-1a2b3c4d5e6f"
)

func TestGrant(t *testing.T) {
	const L = "ns/lic"
	nodeLocked := func() *v1.EffectivePolicy { return gPolicy(v1.SeatModelNodeLocked, v1.EnforcementHard, 100, 0) }
	preventVM := func(p *v1.EffectivePolicy) *v1.EffectivePolicy { p.PreventVM = ptr.To(true); return p }
	lic := func() *ut.LicenseWrapper { return ut.MakeLicense("lic", "ns") }
	userProduct := ut.MakeProduct("cad").Authorization(v1.AuthorizationUser).Obj()
	selectiveProduct := ut.MakeProduct("cad").AllowAssignmentsFromSelector(map[string]string{"cad": "yes"}).Obj()
	validUntil := func(l GrantLicense, t time.Time) GrantLicense { l.ValidUntil = &t; return l }
	notUsable := func(l GrantLicense, s v1.LicenseState) GrantLicense { l.Usable, l.State = false, s; return l }
	consumption := func(l GrantLicense, max int64, periodStart time.Time) GrantLicense {
		l.Policy.Type = ptr.To(v1.LicenseTypeConsumption)
		l.Policy.Consumption = &v1.ConsumptionPolicy{MaxConsumptions: ptr.To(max)}
		l.PeriodStart = &periodStart
		return l
	}

	cases := map[string]struct {
		licenses    []GrantLicense
		assignments []*v1.LicenseAssignment
		products    map[string]*v1.LicenseProduct
		nsLabels    map[string]map[string]string
		nodes       map[string]*corev1.Node
		want        map[string]gGot
		wantUsage   map[string]SeatUsage
	}{
		"hard: first come, first served up to the seats, the rest queue in order": {
			licenses: []GrantLicense{gUsable(lic().Seats(3).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("e", 5).License("lic").Obj(), gSA("a", 1).License("lic").Obj(), gSA("d", 4).License("lic").Obj(),
				gSA("c", 3).License("lic").Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gBound(L, 1, true), "ns/b": gBound(L, 1, true), "ns/c": gBound(L, 1, true),
				"ns/d": gWaiting(L, 1, v1.ReasonWaitingForSeats), "ns/e": gWaiting(L, 2, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 3, Pending: 2, Activations: 3}},
		},
		"same creation second: the name decides": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("b", 1).License("lic").Obj(), gSA("a", 1).License("lic").Obj(),
			},
			want:      map[string]gGot{"ns/a": gBound(L, 1, true), "ns/b": gWaiting(L, 1, v1.ReasonWaitingForSeats)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"strict: the head that does not fit blocks smaller requests behind it": {
			licenses: []GrantLicense{gUsable(lic().Seats(3).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Seats(2).License("lic").Obj(), gSA("b", 2).Seats(2).License("lic").Obj(), gSA("c", 3).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gBound(L, 2, true), "ns/b": gWaiting(L, 1, v1.ReasonWaitingForSeats), "ns/c": gWaiting(L, 2, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Pending: 3, Activations: 1}},
		},
		"a request larger than the licence waits aside and blocks nobody": {
			licenses: []GrantLicense{gUsable(lic().Seats(3).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Seats(5).License("lic").Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want:      map[string]gGot{"ns/a": gWaiting(L, 0, v1.ReasonWaitingForSeats), "ns/b": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 5, Activations: 1}},
		},
		"bound assignments keep their seats when the licence's seats are lowered": {
			licenses: []GrantLicense{gUsable(lic().Seats(2).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("b", 2).License("lic").BoundTo(L, 1, gAt(10)).Obj(),
				gSA("c", 3).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("d", 4).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gBound(L, 1, false), "ns/b": gBound(L, 1, false), "ns/c": gBound(L, 1, false),
				"ns/d": gWaiting(L, 1, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 3, Pending: 1, Activations: 3}},
		},
		"a bound assignment created later keeps its seat ahead of an earlier pending one": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").Obj(), gSA("z", 9).License("lic").BoundTo(L, 1, gAt(10)).Obj(),
			},
			want:      map[string]gGot{"ns/a": gWaiting(L, 1, v1.ReasonWaitingForSeats), "ns/z": gBound(L, 1, false)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"soft: binds beyond the seats": {
			licenses: []GrantLicense{gUsable(lic().Seats(2).Obj(), gPolicy(v1.SeatModelConcurrent, v1.EnforcementSoft, 100, 0))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").Obj(), gSA("b", 2).License("lic").Obj(), gSA("c", 3).License("lic").Obj(),
			},
			want:      map[string]gGot{"ns/a": gBound(L, 1, true), "ns/b": gBound(L, 1, true), "ns/c": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 3, Activations: 3}},
		},
		"unlimited seats: only maxActivations counts": {
			licenses: []GrantLicense{gUsable(lic().Obj(), gHard(2))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Seats(50).License("lic").Obj(), gSA("b", 2).Seats(50).License("lic").Obj(), gSA("c", 3).License("lic").Obj(),
				gSA("d", 4).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gBound(L, 50, true), "ns/b": gBound(L, 50, true),
				"ns/c": gWaiting(L, 1, v1.ReasonActivationLimit), "ns/d": gWaiting(L, 2, v1.ReasonActivationLimit),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 100, Pending: 2, Activations: 2}},
		},
		"maxActivations counts bound assignments before new ones": {
			licenses: []GrantLicense{gUsable(lic().Seats(10).Obj(), gHard(2))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").Obj(), gSA("z", 9).License("lic").BoundTo(L, 1, gAt(10)).Obj(),
				gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gBound(L, 1, true), "ns/z": gBound(L, 1, false), "ns/b": gWaiting(L, 1, v1.ReasonActivationLimit),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Pending: 1, Activations: 2}},
		},
		"expired: bound ones stay bound and say so, new ones wait": {
			licenses: []GrantLicense{notUsable(gUsable(lic().Seats(5).Obj(), gHard(100)), v1.LicenseStateExpired)},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": {State: v1.AssignmentStateBound, License: L, Seats: 1, Reason: v1.ReasonLicenseNotUsable, Writer: L},
				"ns/b": gWaiting(L, 1, v1.ReasonLicenseNotUsable),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"a policy that does not resolve binds nothing": {
			licenses:    []GrantLicense{{License: lic().Seats(5).Obj(), State: v1.LicenseStateActive, Usable: true}},
			assignments: []*v1.LicenseAssignment{gSA("a", 1).License("lic").Obj()},
			want:        map[string]gGot{"ns/a": gWaiting(L, 1, v1.ReasonLicenseNotUsable)},
			wantUsage:   map[string]SeatUsage{L: {Pending: 1}},
		},
		"a licence being deleted keeps its holders and binds nothing new": {
			licenses: []GrantLicense{{License: lic().Seats(5).Obj(), Policy: gHard(100), State: v1.LicenseStateActive, Deleting: true}},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": {State: v1.AssignmentStateBound, License: L, Seats: 1, Reason: v1.ReasonSeatsGranted, Writer: L},
				"ns/b": gWaiting(L, 0, v1.ReasonLicenseNotUsable),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"a licence of a product being deleted keeps its holders and binds nothing new": {
			licenses: []GrantLicense{func() GrantLicense {
				l := gUsable(lic().Seats(5).Obj(), gHard(100), "cad")
				l.Product = ut.MakeProduct("cad").Obj()
				l.Product.DeletionTimestamp = &metav1.Time{Time: gAt(20)}
				return l
			}()},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("b", 2).License("lic").Obj(),
				gSA("c", 3).Product("cad").Obj(),
			},
			products: map[string]*v1.LicenseProduct{"cad": func() *v1.LicenseProduct {
				p := ut.MakeProduct("cad").Obj()
				p.DeletionTimestamp = &metav1.Time{Time: gAt(20)}
				return p
			}()},
			want: map[string]gGot{
				"ns/a": {State: v1.AssignmentStateBound, License: L, Seats: 1, Reason: v1.ReasonSeatsGranted, Writer: L},
				"ns/b": gWaiting(L, 0, v1.ReasonLicenseNotUsable),
				"ns/c": gWaiting(L, 0, v1.ReasonLicenseNotUsable),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"a licence whose protection yields releases its assignments": {
			licenses: []GrantLicense{{License: lic().Seats(5).Obj(), Policy: gHard(100), State: v1.LicenseStateActive, Deleting: true, Releasing: true}},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": gWaiting(L, 0, v1.ReasonLicenseNotUsable), "ns/b": gWaiting(L, 0, v1.ReasonLicenseNotUsable),
			},
			wantUsage: map[string]SeatUsage{L: {Pending: 1}},
		},
		"an assignment being deleted is released and frees its seat for the next": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").BoundTo(L, 1, gAt(10)).Deleting(gAt(20)).Obj(), gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/a": {State: v1.AssignmentStateReleased, Reason: v1.ReasonReleased, Writer: L},
				"ns/b": gBound(L, 1, true),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Activations: 1}},
		},
		"sharing: another namespace binds only when the licence is shared with it": {
			licenses: []GrantLicense{
				gUsable(ut.MakeLicense("private", "owner").Seats(5).Obj(), gHard(100)),
				gUsable(ut.MakeLicense("all", "owner").Seats(5).SharedWithAll().Obj(), gHard(100)),
				gUsable(ut.MakeLicense("some", "owner").Seats(5).SharedWithSelector(map[string]string{"team": "cad"}).Obj(), gHard(100)),
			},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Namespace("guest").License("private", "owner").Obj(),
				gSA("b", 2).Namespace("guest").License("all", "owner").Obj(),
				gSA("c", 3).Namespace("guest").License("some", "owner").Obj(),
				gSA("d", 4).Namespace("cad").License("some", "owner").Obj(),
			},
			nsLabels: map[string]map[string]string{"cad": {"team": "cad"}, "guest": {"team": "other"}},
			want: map[string]gGot{
				"guest/a": gWaiting("owner/private", 0, v1.ReasonSharingForbidden),
				"guest/b": gBound("owner/all", 1, true),
				"guest/c": gWaiting("owner/some", 0, v1.ReasonSharingForbidden),
				"cad/d":   gBound("owner/some", 1, true),
			},
			wantUsage: map[string]SeatUsage{
				"owner/private": {Pending: 1}, "owner/all": {Used: 1, Activations: 1}, "owner/some": {Used: 1, Pending: 1, Activations: 1},
			},
		},
		"a product's allowAssignmentsFrom must admit the namespace too": {
			licenses: []GrantLicense{func() GrantLicense {
				l := gUsable(lic().Seats(5).Product("cad").SharedWithAll().Obj(), gHard(100), "cad")
				l.Product = selectiveProduct
				return l
			}()},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Namespace("other").License("lic", "ns").Obj(),
				gSA("b", 2).Namespace("cad-ns").License("lic", "ns").Obj(),
			},
			nsLabels: map[string]map[string]string{"cad-ns": {"cad": "yes"}},
			want: map[string]gGot{
				"other/a":  gWaiting(L, 0, v1.ReasonSharingForbidden),
				"cad-ns/b": gBound(L, 1, true),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"named users: one seat per user, listed users only, users only": {
			licenses: []GrantLicense{func() GrantLicense {
				l := gUsable(lic().Seats(2).Product("cad").Users("ann@example.com", "bob@example.com", "cy@example.com").Obj(),
					gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0), "cad")
				l.Product = userProduct
				return l
			}()},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("ann", "ns").User("ann@example.com").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("ann-again", "ns").User("ANN@example.com").License("lic").Created(gAt(2)).Obj(),
				ut.MakeAssignment("stranger", "ns").User("eve@example.com").License("lic").Created(gAt(3)).Obj(),
				ut.MakeAssignment("robot", "ns").ServiceAccount("robot").License("lic").Created(gAt(4)).Obj(),
				ut.MakeAssignment("bob", "ns").User("bob@example.com").Seats(3).License("lic").Created(gAt(5)).Obj(),
				ut.MakeAssignment("cy", "ns").User("cy@example.com").License("lic").Created(gAt(6)).Obj(),
			},
			want: map[string]gGot{
				"ns/ann": gBound(L, 1, true),
				// Emails match exactly, as admission matches the requester:
				// ANN@example.com is not a user of the licence.
				"ns/ann-again": gWaiting(L, 0, v1.ReasonAssigneeNotAllowed),
				"ns/stranger":  gWaiting(L, 0, v1.ReasonAssigneeNotAllowed),
				"ns/robot":     gWaiting(L, 0, v1.ReasonAssigneeNotAllowed),
				"ns/bob":       gBound(L, 1, true),
				"ns/cy":        gWaiting(L, 1, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Pending: 4, Activations: 2}},
		},
		"named users: a bound user's second assignment shares the seat even when the licence is full": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("ann", "ns").User("ann@example.com").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(10)).Obj(),
				ut.MakeAssignment("bob", "ns").User("bob@example.com").License("lic").Created(gAt(2)).Obj(),
				ut.MakeAssignment("ann-2", "ns").User("ann@example.com").License("lic").Created(gAt(3)).Obj(),
			},
			want: map[string]gGot{
				"ns/ann": gBound(L, 1, false), "ns/bob": gWaiting(L, 1, v1.ReasonWaitingForSeats),
				// Strict FCFS: bob waits at the head, so ann's second assignment waits behind him.
				"ns/ann-2": gWaiting(L, 2, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 2, Activations: 1}},
		},
		"named users: when the seat holder goes, the sharing assignment holds the seat": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("ann-2", "ns").User("ann@example.com").License("lic").Created(gAt(3)).BoundTo(L, 0, gAt(10)).Obj(),
				ut.MakeAssignment("bob", "ns").User("bob@example.com").License("lic").Created(gAt(2)).Obj(),
			},
			want: map[string]gGot{
				"ns/ann-2": gBound(L, 1, false), "ns/bob": gWaiting(L, 1, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: the assignee must be a node": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), gPolicy(v1.SeatModelNodeLocked, v1.EnforcementHard, 100, 0))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("n1", "ns").Node("node-1").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("u", "ns").User("ann@example.com").License("lic").Created(gAt(2)).Obj(),
			},
			nodes:     gNodes(ut.MakeNode("node-1").Obj()),
			want:      map[string]gGot{"ns/n1": gBound(L, 1, true), "ns/u": gWaiting(L, 0, v1.ReasonAssigneeNotAllowed)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: a node that does not exist waits, and blocks nobody": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("ghost", "ns").Node("ghost").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("n1", "ns").Node("node-1").License("lic").Created(gAt(2)).Obj(),
			},
			nodes:     gNodes(ut.MakeNode("node-1").Obj()),
			want:      map[string]gGot{"ns/ghost": gWaiting(L, 0, v1.ReasonNodeNotFound), "ns/n1": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: a productRef assignment to a missing node says so": {
			licenses:    []GrantLicense{gUsable(lic().Product("cad").Seats(5).Obj(), nodeLocked(), "cad")},
			products:    map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			assignments: []*v1.LicenseAssignment{ut.MakeAssignment("ghost", "ns").Node("ghost").Product("cad").Created(gAt(1)).Obj()},
			want:        map[string]gGot{"ns/ghost": gWaiting(L, 0, v1.ReasonNodeNotFound)},
			wantUsage:   map[string]SeatUsage{L: {}},
		},
		"node locked: binds only nodes whose systemUUID or machineID matches a fingerprint, raw or sha256": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).MachineFingerprints(
				strings.ToUpper(uuidA), HashFingerprint("machine-b")).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("a", "ns").Node("node-a").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("b", "ns").Node("node-b").License("lic").Created(gAt(2)).Obj(),
				ut.MakeAssignment("c", "ns").Node("node-c").License("lic").Created(gAt(3)).Obj(),
			},
			nodes: gNodes(ut.MakeNode("node-a").SystemUUID(uuidA).Obj(),
				ut.MakeNode("node-b").SystemUUID("other").MachineID("machine-b").Obj(),
				ut.MakeNode("node-c").SystemUUID(uuidC).Obj()),
			want: map[string]gGot{"ns/a": gBound(L, 1, true), "ns/b": gBound(L, 1, true),
				"ns/c": {State: v1.AssignmentStateRejected, Reason: v1.ReasonFingerprintMismatch, Writer: L}},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Pending: 1, Activations: 2}},
		},
		"node locked: a fingerprint removed later unbinds nobody": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).MachineFingerprints(uuidA).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("c", "ns").Node("node-c").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("node-c").Obj(),
			},
			nodes:     gNodes(ut.MakeNode("node-c").SystemUUID(uuidC).Obj()),
			want:      map[string]gGot{"ns/c": gBound(L, 1, false)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Activations: 1}},
		},
		"node locked: a transfer to a virtual-machine node under preventVM is refused, and the seat stays": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), preventVM(gPolicy(v1.SeatModelNodeLocked, v1.EnforcementHard, 100, 5)))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("moved", "ns").Node("vm-1").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("metal-1").Obj(),
			},
			nodes: gNodes(ut.MakeNode("vm-1").VirtualMachine().Obj(), ut.MakeNode("metal-1").Obj()),
			want: map[string]gGot{"ns/moved": {State: v1.AssignmentStateRejected, License: L, Seats: 1,
				Reason: v1.ReasonAssigneeNotAllowed, Writer: L}},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Activations: 1}},
		},
		"node locked: preventVM rejects a virtual-machine node": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), preventVM(nodeLocked()))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("vm", "ns").Node("vm-1").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("metal", "ns").Node("metal-1").License("lic").Created(gAt(2)).Obj(),
			},
			nodes: gNodes(ut.MakeNode("vm-1").VirtualMachine().Obj(), ut.MakeNode("metal-1").Obj()),
			want: map[string]gGot{"ns/metal": gBound(L, 1, true),
				"ns/vm": {State: v1.AssignmentStateRejected, Reason: v1.ReasonVirtualMachineForbidden, Writer: L}},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: a virtual-machine node binds without preventVM": {
			licenses:    []GrantLicense{gUsable(lic().Seats(5).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{ut.MakeAssignment("vm", "ns").Node("vm-1").License("lic").Created(gAt(1)).Obj()},
			nodes:       gNodes(ut.MakeNode("vm-1").VirtualMachine().Obj()),
			want:        map[string]gGot{"ns/vm": gBound(L, 1, true)},
			wantUsage:   map[string]SeatUsage{L: {Used: 1, Activations: 1}},
		},
		"node locked: a node offline past offlineGracePeriod frees its seat for the next in the queue": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).OfflineGracePeriod("1h").Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("old", "ns").Node("down").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("down").Obj(),
				ut.MakeAssignment("next", "ns").Node("up").License("lic").Created(gAt(3)).Obj(),
			},
			nodes: gNodes(ut.MakeNode("down").Ready(corev1.ConditionUnknown, grantNow.Add(-time.Hour)).Obj(),
				ut.MakeNode("up").Ready(corev1.ConditionTrue, gT0).Obj()),
			want:      map[string]gGot{"ns/old": gWaiting(L, 0, v1.ReasonNodeOffline), "ns/next": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: a node offline within offlineGracePeriod keeps its seat": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).OfflineGracePeriod("1h").Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("old", "ns").Node("down").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("down").Obj(),
				ut.MakeAssignment("next", "ns").Node("up").License("lic").Created(gAt(3)).Obj(),
			},
			nodes: gNodes(ut.MakeNode("down").Ready(corev1.ConditionFalse, grantNow.Add(-time.Hour+time.Second)).Obj(),
				ut.MakeNode("up").Obj()),
			want:      map[string]gGot{"ns/old": gBound(L, 1, false), "ns/next": gWaiting(L, 1, v1.ReasonWaitingForSeats)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: without offlineGracePeriod a NotReady node keeps its seat": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("old", "ns").Node("down").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("down").Obj(),
			},
			nodes:     gNodes(ut.MakeNode("down").Ready(corev1.ConditionFalse, gT0).Obj()),
			want:      map[string]gGot{"ns/old": gBound(L, 1, false)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Activations: 1}},
		},
		"node locked: a deleted node frees its seat at once": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("old", "ns").Node("gone").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(2)).BoundAssigneeNode("gone").Obj(),
				ut.MakeAssignment("next", "ns").Node("up").License("lic").Created(gAt(3)).Obj(),
			},
			nodes:     gNodes(ut.MakeNode("up").Obj()),
			want:      map[string]gGot{"ns/old": gWaiting(L, 0, v1.ReasonNodeNotFound), "ns/next": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"node locked: a returning node waits first come, first served when its seat was taken": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).OfflineGracePeriod("1h").Obj(), nodeLocked())},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("back", "ns").Node("back").License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("took", "ns").Node("up").License("lic").Created(gAt(3)).BoundTo(L, 1, gAt(4)).BoundAssigneeNode("up").Obj(),
			},
			nodes:     gNodes(ut.MakeNode("back").Ready(corev1.ConditionTrue, grantNow).Obj(), ut.MakeNode("up").Obj()),
			want:      map[string]gGot{"ns/back": gWaiting(L, 1, v1.ReasonWaitingForSeats), "ns/took": gBound(L, 1, false)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1}},
		},
		"concurrent: a service account or a workload selector, not a user": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("w", "ns").Workload(map[string]string{"app": "cad"}).Seats(2).License("lic").Created(gAt(1)).Obj(),
				ut.MakeAssignment("u", "ns").User("ann@example.com").License("lic").Created(gAt(2)).Obj(),
			},
			want:      map[string]gGot{"ns/w": gBound(L, 2, true), "ns/u": gWaiting(L, 0, v1.ReasonAssigneeNotAllowed)},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Pending: 1, Activations: 1}},
		},
		"site: everything binds, whatever the seats and maxActivations": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gPolicy(v1.SeatModelSite, v1.EnforcementHard, 1, 0))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("u", "ns").User("ann@example.com").License("lic").Created(gAt(1)).Obj(),
				gSA("s", 2).Seats(3).License("lic").Obj(),
			},
			want:      map[string]gGot{"ns/u": gBound(L, 1, true), "ns/s": gBound(L, 3, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 4, Activations: 2}},
		},
		"transfers: within maxTransfers the seat moves, beyond it the change is rejected and the seat stays": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 1))},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("moves", "ns").User("ann@example.com").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(10)).
					User("bob@example.com").Obj(),
				ut.MakeAssignment("refused", "ns").User("cy@example.com").License("lic").Created(gAt(2)).BoundTo(L, 1, gAt(10)).
					Transfers(1).User("dan@example.com").Obj(),
				ut.MakeAssignment("back", "ns").User("eve@example.com").License("lic").Created(gAt(3)).BoundTo(L, 1, gAt(10)).
					Transfers(1).StatusState(v1.AssignmentStateRejected).Obj(),
				ut.MakeAssignment("not-a-user", "ns").User("fay@example.com").License("lic").Created(gAt(4)).BoundTo(L, 1, gAt(10)).
					ServiceAccount("robot").Obj(),
			},
			want: map[string]gGot{
				"ns/moves":      {State: v1.AssignmentStateBound, License: L, Seats: 1, Reason: v1.ReasonSeatsGranted, Writer: L, Transfers: 1},
				"ns/refused":    {State: v1.AssignmentStateRejected, License: L, Seats: 1, Reason: v1.ReasonTransferLimit, Writer: L, Transfers: 1},
				"ns/back":       {State: v1.AssignmentStateBound, License: L, Seats: 1, Reason: v1.ReasonSeatsGranted, Writer: L, Transfers: 1},
				"ns/not-a-user": {State: v1.AssignmentStateRejected, License: L, Seats: 1, Reason: v1.ReasonAssigneeNotAllowed, Writer: L},
			},
			wantUsage: map[string]SeatUsage{L: {Used: 4, Activations: 4}},
		},
		"seats: a bound assignment gives seats back at once and queues for more": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("shrinks", 1).Seats(1).License("lic").BoundTo(L, 3, gAt(10)).Obj(),
				gSA("grows", 2).Seats(3).License("lic").BoundTo(L, 1, gAt(10)).Obj(),
				gSA("grows-too-much", 3).Seats(9).License("lic").BoundTo(L, 1, gAt(10)).Obj(),
			},
			want: map[string]gGot{
				"ns/shrinks":        gBound(L, 1, false),
				"ns/grows":          gBound(L, 3, true),
				"ns/grows-too-much": gBound(L, 1, false),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 5, Pending: 8, Activations: 3}},
		},
		// 7 seats of a 5-seat licence can never be held, though the 5 more
		// asked for are no more than the licence has: it must not block the queue.
		"seats: a bound assignment that grows beyond the licence waits aside and blocks nobody": {
			licenses: []GrantLicense{gUsable(lic().Seats(5).Obj(), gHard(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("big", 1).Seats(7).License("lic").BoundTo(L, 2, gAt(10)).Obj(),
				gSA("b", 2).License("lic").Obj(),
			},
			want: map[string]gGot{
				"ns/big": gBound(L, 2, false),
				"ns/b":   gBound(L, 1, true),
			},
			wantUsage: map[string]SeatUsage{L: {Used: 3, Pending: 5, Activations: 2}},
		},
		"consumption: exhausted in this period, new assignments wait": {
			licenses: []GrantLicense{consumption(gUsable(lic().Seats(5).Obj(), gHard(100)), 10, gAt(0))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").Consumption(14).BoundTo(L, 1, gAt(10)).ConsumptionBaseline(gAt(0), 4).Obj(),
				gSA("b", 2).License("lic").Obj(),
			},
			want:      map[string]gGot{"ns/a": gBound(L, 1, false), "ns/b": gWaiting(L, 1, v1.ReasonConsumptionExhausted)},
			wantUsage: map[string]SeatUsage{L: {Used: 1, Pending: 1, Activations: 1, Consumption: 10}},
		},
		"consumption: a new period rebases the bound ones and the queue binds again": {
			licenses: []GrantLicense{consumption(gUsable(lic().Seats(5).Obj(), gHard(100)), 10, gAt(100))},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).License("lic").Consumption(14).BoundTo(L, 1, gAt(10)).ConsumptionBaseline(gAt(0), 4).Obj(),
				gSA("b", 2).License("lic").Consumption(3).Obj(),
			},
			want:      map[string]gGot{"ns/a": gBound(L, 1, false), "ns/b": gBound(L, 1, true)},
			wantUsage: map[string]SeatUsage{L: {Used: 2, Activations: 2, Consumption: 3}},
		},
		"productRef: the licence with the most free seats": {
			licenses: []GrantLicense{
				gUsable(ut.MakeLicense("small", "ns").Seats(3).Obj(), gHard(100), "cad"),
				gUsable(ut.MakeLicense("large", "ns").Seats(5).Obj(), gHard(100), "cad"),
			},
			assignments: []*v1.LicenseAssignment{
				gSA("a", 1).Product("cad").Obj(), gSA("b", 2).Product("cad").Obj(), gSA("c", 3).Product("cad").Obj(),
				gSA("d", 4).Product("cad").Obj(),
			},
			products: map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			want: map[string]gGot{
				// large 5 free > small 3; large 4 > 3; large 3 = small 3, same validUntil: by name, large;
				// then small 3 > large 2.
				"ns/a": gBound("ns/large", 1, true), "ns/b": gBound("ns/large", 1, true), "ns/c": gBound("ns/large", 1, true),
				"ns/d": gBound("ns/small", 1, true),
			},
			wantUsage: map[string]SeatUsage{"ns/small": {Used: 1, Activations: 1}, "ns/large": {Used: 3, Activations: 3}},
		},
		// A named user holds one seat of the product: a second assignment
		// shares it rather than take a seat of the licence with more free seats.
		"productRef: a named user's second assignment shares the seat the user holds": {
			licenses: []GrantLicense{
				gUsable(ut.MakeLicense("held", "ns").Seats(1).Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0), "cad"),
				gUsable(ut.MakeLicense("roomy", "ns").Seats(5).Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0), "cad"),
			},
			assignments: []*v1.LicenseAssignment{
				ut.MakeAssignment("ann", "ns").User("ann@example.com").Product("cad").Created(gAt(1)).BoundTo("ns/held", 1, gAt(10)).Obj(),
				ut.MakeAssignment("ann-2", "ns").User("ann@example.com").Product("cad").Created(gAt(2)).Obj(),
				ut.MakeAssignment("bob", "ns").User("bob@example.com").Product("cad").Created(gAt(3)).Obj(),
			},
			products: map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			want: map[string]gGot{
				"ns/ann": gBound("ns/held", 1, false), "ns/ann-2": gBound("ns/held", 0, true),
				"ns/bob": gBound("ns/roomy", 1, true),
			},
			wantUsage: map[string]SeatUsage{"ns/held": {Used: 1, Activations: 2}, "ns/roomy": {Used: 1, Activations: 1}},
		},
		"productRef: equal free seats, the latest validUntil, never-ending first": {
			licenses: []GrantLicense{
				validUntil(gUsable(ut.MakeLicense("a-soon", "ns").Seats(2).Obj(), gHard(100), "cad"), gAt(1000)),
				validUntil(gUsable(ut.MakeLicense("b-late", "ns").Seats(2).Obj(), gHard(100), "cad"), gAt(5000)),
				gUsable(ut.MakeLicense("c-forever", "ns").Seats(1).Obj(), gHard(100), "cad"),
			},
			assignments: []*v1.LicenseAssignment{
				gSA("x", 1).Seats(2).Product("cad").Obj(), gSA("y", 2).Product("cad").Obj(), gSA("z", 3).Product("cad").Obj(),
			},
			products: map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			want: map[string]gGot{
				// x needs 2: a-soon and b-late fit, b-late lasts longer. y: a-soon 2 free > c-forever 1.
				// z: a-soon 1 = c-forever 1, c-forever never ends.
				"ns/x": gBound("ns/b-late", 2, true), "ns/y": gBound("ns/a-soon", 1, true), "ns/z": gBound("ns/c-forever", 1, true),
			},
			wantUsage: map[string]SeatUsage{
				"ns/a-soon": {Used: 1, Activations: 1}, "ns/b-late": {Used: 2, Activations: 1}, "ns/c-forever": {Used: 1, Activations: 1},
			},
		},
		"productRef: skips licences that cannot take it, waits in every queue, written by the first licence": {
			licenses: []GrantLicense{
				notUsable(gUsable(ut.MakeLicense("a-expired", "ns").Seats(9).Obj(), gHard(100), "cad"), v1.LicenseStateExpired),
				gUsable(ut.MakeLicense("b-full", "ns").Seats(1).Obj(), gHard(100), "cad"),
				gUsable(ut.MakeLicense("c-private", "other").Seats(9).Obj(), gHard(100), "cad"),
			},
			assignments: []*v1.LicenseAssignment{
				gSA("first", 1).Product("cad").Obj(), gSA("second", 2).Product("cad").Obj(),
			},
			products: map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			want: map[string]gGot{
				"ns/first":  gBound("ns/b-full", 1, true),
				"ns/second": gWaiting("ns/a-expired", 1, v1.ReasonWaitingForSeats),
			},
			wantUsage: map[string]SeatUsage{
				"ns/a-expired": {Pending: 1}, "ns/b-full": {Used: 1, Pending: 1, Activations: 1}, "other/c-private": {},
			},
		},
		"productRef: a bound assignment stays where it is": {
			licenses: []GrantLicense{
				gUsable(ut.MakeLicense("a", "ns").Seats(1).Obj(), gHard(100), "cad"),
				gUsable(ut.MakeLicense("b", "ns").Seats(9).Obj(), gHard(100), "cad"),
			},
			assignments: []*v1.LicenseAssignment{gSA("x", 1).Product("cad").BoundTo("ns/a", 1, gAt(10)).Obj()},
			products:    map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()},
			want:        map[string]gGot{"ns/x": gBound("ns/a", 1, false)},
			wantUsage:   map[string]SeatUsage{"ns/a": {Used: 1, Activations: 1}, "ns/b": {}},
		},
		"productRef: the product does not allow the namespace": {
			licenses:    []GrantLicense{gUsable(ut.MakeLicense("a", "ns").Seats(1).Obj(), gHard(100), "cad")},
			assignments: []*v1.LicenseAssignment{gSA("x", 1).Product("cad").Obj()},
			products:    map[string]*v1.LicenseProduct{"cad": selectiveProduct},
			want:        map[string]gGot{"ns/x": gWaiting("ns/a", 0, v1.ReasonSharingForbidden)},
			wantUsage:   map[string]SeatUsage{"ns/a": {}},
		},
		"assignments that concern no licence of the pool are left alone": {
			licenses: []GrantLicense{gUsable(lic().Seats(1).Obj(), gHard(100), "cad")},
			assignments: []*v1.LicenseAssignment{
				gSA("elsewhere", 1).License("other").Obj(),
				gSA("bound-elsewhere", 2).Product("cad").BoundTo("ns/other", 1, gAt(10)).Obj(),
				gSA("other-product", 3).Product("cam").Obj(),
			},
			want:      map[string]gGot{},
			wantUsage: map[string]SeatUsage{L: {}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := Grant(GrantInput{Now: grantNow, Licenses: tc.licenses, Assignments: tc.assignments, Products: tc.products, NamespaceLabels: tc.nsLabels, Nodes: tc.nodes})
			if diff := cmp.Diff(tc.want, gSummarize(res)); diff != "" {
				t.Errorf("decisions (-want +gGot):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUsage, res.Usage); diff != "" {
				t.Errorf("usage (-want +gGot):\n%s", diff)
			}
		})
	}
}

// TestGrantIsOrderIndependent checks that the input order does not matter:
// every licence of a pool computes the same decision.
func TestGrantIsOrderIndependent(t *testing.T) {
	licenses := []GrantLicense{
		gUsable(ut.MakeLicense("a", "ns").Seats(3).Obj(), gHard(100), "cad"),
		gUsable(ut.MakeLicense("b", "ns").Seats(2).Obj(), gHard(100), "cad"),
	}
	var assignments []*v1.LicenseAssignment
	for i := range 12 {
		w := gSA(string(rune('a'+i)), i%4)
		if i%3 == 0 {
			w.License("a")
		} else {
			w.Product("cad")
		}
		assignments = append(assignments, w.Obj())
	}
	in := GrantInput{Now: grantNow, Licenses: licenses, Assignments: assignments, Products: map[string]*v1.LicenseProduct{"cad": ut.MakeProduct("cad").Obj()}}
	want := Grant(in)
	reversed := in
	reversed.Licenses = []GrantLicense{licenses[1], licenses[0]}
	reversed.Assignments = nil
	for i := len(assignments) - 1; i >= 0; i-- {
		reversed.Assignments = append(reversed.Assignments, assignments[i])
	}
	if diff := cmp.Diff(want, Grant(reversed)); diff != "" {
		t.Errorf("decision depends on input order (-forward +reversed):\n%s", diff)
	}
	var used int32
	for _, u := range want.Usage {
		used += u.Used
	}
	if used != 5 {
		t.Errorf("used %d seats of two licences with 5 in all, want 5", used)
	}
}

// boundHealth are the Ready, Reconciling and Stalled conditions of a Bound
// assignment whose Bound condition says message.
func boundHealth(generation int64, at metav1.Time, message string) []metav1.Condition {
	return []metav1.Condition{
		{Type: v1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1.ReasonSeatsGranted, Message: message,
			LastTransitionTime: at, ObservedGeneration: generation},
		{Type: v1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: v1.ReasonNotReconciling,
			Message: "The assignment is Bound", LastTransitionTime: at, ObservedGeneration: generation},
		{Type: v1.ConditionStalled, Status: metav1.ConditionFalse, Reason: v1.ReasonConfigured,
			Message: "Everything the spec names exists and accepts the assignee", LastTransitionTime: at, ObservedGeneration: generation},
	}
}

// TestGrantStatus checks the statuses Grant writes in full.
func TestGrantStatus(t *testing.T) {
	const L = "ns/lic"
	now := metav1.NewTime(grantNow)
	bootTime := metav1.NewTime(gAt(10))
	validUntil, graceUntil := gAt(1_000_000), gAt(2_000_000)
	lic := GrantLicense{License: ut.MakeLicense("lic", "ns").Seats(2).Obj(), Policy: gHard(100), State: v1.LicenseStateActive,
		Usable: true, ValidUntil: &validUntil}
	withGrace := lic
	withGrace.GraceUntil = &graceUntil
	holder := gSA("holder", 1).License("lic").BoundTo(L, 1, gAt(10)).Generation(3).Obj()
	holder.Status.Conditions = append([]metav1.Condition{{Type: v1.ConditionBound, Status: metav1.ConditionTrue, Reason: v1.ReasonSeatsGranted,
		Message: "holds 1 seat of licence ns/lic", LastTransitionTime: bootTime, ObservedGeneration: 3}},
		boundHealth(3, bootTime, "holds 1 seat of licence ns/lic")...)
	holder.Status.ObservedGeneration = 3
	holder.Status.Assignee = "sa/runner"
	holder.Status.ExpiryTime = &metav1.Time{Time: validUntil}

	cases := map[string]struct {
		lic  GrantLicense
		a    *v1.LicenseAssignment
		want v1.LicenseAssignmentStatus
	}{
		"a new binding": {
			lic: withGrace,
			a:   gSA("new", 2).License("lic").Generation(2).Obj(),
			want: v1.LicenseAssignmentStatus{
				ObservedGeneration: 2, State: v1.AssignmentStateBound, Assignee: "sa/runner", License: L, Seats: 1,
				BoundTime: &now, ExpiryTime: &metav1.Time{Time: graceUntil},
				BoundAssignee: &v1.Assignee{ServiceAccount: &v1.ServiceAccountAssignee{Name: "runner"}},
				Conditions: append([]metav1.Condition{{Type: v1.ConditionBound, Status: metav1.ConditionTrue, Reason: v1.ReasonSeatsGranted,
					Message: "holds 1 seat of licence ns/lic", LastTransitionTime: now, ObservedGeneration: 2}},
					boundHealth(2, now, "holds 1 seat of licence ns/lic")...),
			},
		},
		"an unchanged binding is the status it has": {
			lic:  lic,
			a:    holder,
			want: holder.Status,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{tc.lic}, Assignments: []*v1.LicenseAssignment{tc.a}})
			d := res.Assignments[AssignmentKey(tc.a)]
			if !equality.Semantic.DeepEqual(tc.want, d.Status) {
				t.Errorf("status (-want +gGot):\n%s", cmp.Diff(tc.want, d.Status))
			}
		})
	}

	t.Run("a waiting assignment says where it is and what would fix it", func(t *testing.T) {
		full := lic
		full.License = ut.MakeLicense("lic", "ns").Seats(1).Obj()
		w := gSA("waiter", 2).License("lic").Obj()
		res := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{full}, Assignments: []*v1.LicenseAssignment{holder, w}})
		s := res.Assignments["ns/waiter"].Status
		for _, part := range []string{"position 1", "1 of 1 seat used", "raise the licence's spec.seats"} {
			if !strings.Contains(s.Message, part) {
				t.Errorf("message %q does not say %q", s.Message, part)
			}
		}
		c := meta.FindStatusCondition(s.Conditions, v1.ConditionBound)
		if c == nil || c.Status != metav1.ConditionFalse || c.Message != s.Message {
			t.Errorf("Bound condition %+v, want False with the message", c)
		}
		if s.License != "" || s.BoundTime != nil || s.Seats != 0 {
			t.Errorf("a waiting assignment holds nothing: %+v", s)
		}
	})

	t.Run("an assignment that loses its seats has no Pods waiting for them", func(t *testing.T) {
		lost := holder.DeepCopy()
		lost.Status.WaitingPods = 3
		if s := WaitingStatus(lost, v1.ReasonLicenseNotFound, "gone", grantNow); s.WaitingPods != 0 {
			t.Errorf("WaitingStatus keeps waitingPods %d, want 0", s.WaitingPods)
		}
		full := lic
		full.License = ut.MakeLicense("lic", "ns").Seats(1).Obj()
		w := gSA("waiter", 2).License("lic").Obj()
		w.Status.WaitingPods = 2 // left from a binding it no longer has
		res := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{full}, Assignments: []*v1.LicenseAssignment{holder, w}})
		if s := res.Assignments["ns/waiter"].Status; s.State != v1.AssignmentStatePending || s.WaitingPods != 0 {
			t.Errorf("waiting assignment: %s with waitingPods %d, want Pending with 0", s.State, s.WaitingPods)
		}
	})

	t.Run("a rejected transfer names the limit", func(t *testing.T) {
		l := lic
		l.Policy = gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 2)
		a := ut.MakeAssignment("t", "ns").User("ann@example.com").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(10)).
			Transfers(2).User("bob@example.com").Obj()
		s := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{l}, Assignments: []*v1.LicenseAssignment{a}}).Assignments["ns/t"].Status
		if !strings.Contains(s.Message, "2 of maxTransfers 2") || s.BoundAssignee.User.Email != "ann@example.com" {
			t.Errorf("rejected transfer: message %q, boundAssignee %+v", s.Message, s.BoundAssignee)
		}
	})

	// A user's second assignment shares her seat; its message names the
	// holding assignment only in its own namespace, and matches the email
	// exactly, as admission does.
	t.Run("a shared user seat names its holder only in the reader's namespace", func(t *testing.T) {
		l := gUsable(ut.MakeLicense("lic", "ns").Seats(5).SharedWithAll().Obj(), gPolicy(v1.SeatModelNamedUser, v1.EnforcementHard, 100, 0))
		holder := ut.MakeAssignment("ann", "ns").User("ann@example.com").License("lic").Created(gAt(1)).BoundTo(L, 1, gAt(10)).Obj()
		same := ut.MakeAssignment("ann-2", "ns").User("ann@example.com").License("lic").Created(gAt(2)).Obj()
		other := ut.MakeAssignment("ann-3", "guest").User("ann@example.com").License("lic", "ns").Created(gAt(3)).Obj()
		upper := ut.MakeAssignment("ann-4", "ns").User("Ann@example.com").License("lic").Created(gAt(4)).Obj()
		res := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{l}, Assignments: []*v1.LicenseAssignment{holder, same, other, upper}})
		if m := res.Assignments["ns/ann-2"].Status.Message; !strings.Contains(m, "held by assignment ann on licence ns/lic") {
			t.Errorf("same namespace: message %q", m)
		}
		if m := res.Assignments["guest/ann-3"].Status.Message; !strings.Contains(m, "held by an assignment in another namespace") || strings.Contains(m, "ns/ann") {
			t.Errorf("another namespace: message %q discloses the holder or does not share", m)
		}
		if s := res.Assignments["ns/ann-4"].Status; s.Seats != 1 {
			t.Errorf("another spelling of the email is another user: %+v", s)
		}
	})

	t.Run("messages stay within the schema's bound", func(t *testing.T) {
		var licenses []GrantLicense
		for i := range 40 {
			licenses = append(licenses, GrantLicense{License: ut.MakeLicense(strings.Repeat("x", 50)+string(rune('a'+i%26))+string(rune('a'+i/26)), "ns").Obj(),
				Policy: gHard(100), State: v1.LicenseStateExpired, Covers: []string{"cad"}})
		}
		a := gSA("p", 1).Product("cad").Obj()
		s := Grant(GrantInput{Now: grantNow, Licenses: licenses, Assignments: []*v1.LicenseAssignment{a}}).Assignments["ns/p"].Status
		if len(s.Message) > maxMessageLength || !strings.HasSuffix(s.Message, "…") {
			t.Errorf("message of %d bytes, want at most %d, truncated", len(s.Message), maxMessageLength)
		}
	})
}
