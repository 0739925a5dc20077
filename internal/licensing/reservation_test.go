package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// wants is a Waiter asking for n seats at once (a Workload's reservation).
func wants(w Waiter, n int32) Waiter { w.Seats = n; return w }

// TestTakeSeatsSeveralSeats: a waiter of several seats (a Kueue Workload's
// pod set) is served by the one seat rule, with the same line order and no
// backfill as the Pods in line.
func TestTakeSeatsSeveralSeats(t *testing.T) {
	soft := SeatState{Holders: 3, Seats: 4, Enforcement: licensingv1alpha1.EnforcementSoft}
	cases := []struct {
		name  string
		state SeatState
		line  []Waiter
		want  seatOutcome
	}{{
		name:  "three seats free: a reservation of three takes them all at once",
		state: hard(1, 4),
		line:  []Waiter{newcomer(wants(single("wl", 1), 3))},
		want:  seatOutcome{Granted: []string{"wl"}},
	}, {
		name:  "two seats free: a reservation of three takes none, and is refused",
		state: hard(2, 4),
		line:  []Waiter{newcomer(wants(single("wl", 1), 3))},
		want:  seatOutcome{Refused: []string{"wl"}, Stopped: "wl at the head needs 3 seats together, 2 free"},
	}, {
		name:  "no backfill: a Pod in line ahead of it stops the reservation, although seats are free",
		state: hard(1, 4),
		line:  []Waiter{single("p", 0), newcomer(wants(single("wl", 1), 3))},
		want:  seatOutcome{Granted: []string{"p"}, Refused: []string{"wl"}, Stopped: "wl at the head needs 3 seats together, 2 free"},
	}, {
		name:  "a reservation of higher priority goes ahead of the Pods in line",
		state: hard(1, 4),
		line:  []Waiter{single("p", 0), newcomer(withPriority(wants(single("wl", 1), 3), 10))},
		want:  seatOutcome{Granted: []string{"wl"}, Line: []string{"p"}, Stopped: "no seat is free: 4 of 4 held"},
	}, {
		name:  "a reservation of more seats than the assignment has is passed over and says so",
		state: hard(0, 4),
		line:  []Waiter{newcomer(wants(single("wl", 1), 5)), single("p", 2)},
		want:  seatOutcome{Granted: []string{"p"}, Refused: []string{"wl"}, Stopped: "wl needs 5 seats together, more than the assignment has (4)"},
	}, {
		name:  "Soft enforcement reserves beyond the seats",
		state: soft,
		line:  []Waiter{newcomer(wants(single("wl", 1), 3))},
		want:  seatOutcome{Granted: []string{"wl"}, Over: []string{"wl"}},
	}, {
		name:  "a single Pod behind a reservation is served after it",
		state: hard(0, 4),
		line:  []Waiter{newcomer(wants(single("wl", 1), 3)), single("p", 2), single("q", 3)},
		want:  seatOutcome{Granted: []string{"wl", "p"}, Line: []string{"q"}, Stopped: "no seat is free: 4 of 4 held"},
	}}
	for _, c := range cases {
		d := TakeSeats(c.state, c.line)
		got := seatOutcome{Granted: names(d.Granted), Over: names(d.Over), Line: names(d.Line), Refused: names(d.Refused), Stopped: d.Stopped}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: TakeSeats (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestReserveSeats(t *testing.T) {
	now := lineStart.Add(time.Hour)
	ask := func(count int32) ReservationAsk {
		return ReservationAsk{Workload: "job-sim-1a2b3", PodSet: "main", Count: count, Now: now}
	}
	cases := []struct {
		name  string
		state SeatState
		line  []Waiter
		ask   ReservationAsk
		want  ReservationDecision
	}{{
		name: "within the seats: reserved", state: hard(1, 4), ask: ask(3),
		want: ReservationDecision{Reserved: true, Free: 3},
	}, {
		name: "over the seats: not reserved, with the seats free", state: hard(3, 4), ask: ask(3),
		want: ReservationDecision{Free: 1, Stopped: "workload job-sim-1a2b3/main at the head needs 3 seats together, 1 free"},
	}, {
		name: "a Pod in line came first: it is served first, not the reservation", state: hard(0, 4),
		line: []Waiter{single("waiting", 0)}, ask: ask(4),
		want: ReservationDecision{Free: 4, Waiting: 1, Stopped: "workload job-sim-1a2b3/main at the head needs 4 seats together, 3 free"},
	}, {
		name: "Soft: reserved beyond the seats, and said so", state: SeatState{Holders: 4, Seats: 4, Enforcement: licensingv1alpha1.EnforcementSoft}, ask: ask(2),
		want: ReservationDecision{Reserved: true, Over: true},
	}, {
		name: "a blocked assignment reserves nothing", state: SeatState{Seats: 4, Enforcement: licensingv1alpha1.EnforcementHard, Blocked: "licence team/l is Suspended"}, ask: ask(1),
		want: ReservationDecision{Free: 4, Stopped: "licence team/l is Suspended"},
	}}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, ReserveSeats(c.state, c.line, c.ask)); diff != "" {
			t.Errorf("%s: ReserveSeats (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestHeldSeats(t *testing.T) {
	at := lineStart
	l := utiltesting.MakeSeatLedger("l", "team", "a").Entry("p1", "u1", at).Entry("p2", "u2", at).
		Reservation("wl", "wl-uid", "main", 3, at).Ride("wl-pod-1", "u3", at).
		Reservation("wl", "wl-uid", "workers", 2, at).Obj()
	if got := HeldSeats(&l.Spec); got != 7 {
		t.Errorf("HeldSeats = %d, want 7: two entries and the two reservations' 3+2 seats (a rider holds no seat of its own)", got)
	}
	if got := ReservedSeats(&l.Spec); got != 5 {
		t.Errorf("ReservedSeats = %d, want 5", got)
	}
}

func TestFindRide(t *testing.T) {
	at := lineStart
	l := utiltesting.MakeSeatLedger("l", "team", "a").
		Reservation("wl", "wl-uid", "driver", 1, at).Ride("d-0", "u-d0", at).
		Reservation("wl", "wl-uid", "workers", 2, at).Ride("w-0", "u-w0", at).Obj()
	cases := []struct {
		name, uid, podSet, pod string
		index                  int
		already                bool
	}{
		{"a new Pod of a pod set with a free place rides it", "wl-uid", "workers", "w-1", 1, false},
		{"a Pod riding already is found", "wl-uid", "workers", "w-0", 1, true},
		{"a full pod set has no place", "wl-uid", "driver", "d-1", -1, false},
		{"without a pod set, the first with a free place", "wl-uid", "", "x", 1, false},
		{"another Workload's Pod rides nothing here", "other", "", "x", -1, false},
	}
	for _, c := range cases {
		i, already := FindRide(&l.Spec, c.uid, c.podSet, c.pod)
		if i != c.index || already != c.already {
			t.Errorf("%s: FindRide = %d, %v; want %d, %v", c.name, i, already, c.index, c.already)
		}
	}
}

func TestSeatDemands(t *testing.T) {
	const ns = "hpc"
	conc := licence("cfd", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cfd-solver", "mesher")
	site := licence("site", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, "viewer")
	solvers := bound(utiltesting.MakeAssignment("solvers", ns).ServiceAccount("sim"), "hpc/cfd", 4)
	products := []licensingv1alpha1.LicenseProduct{
		*utiltesting.MakeProduct("cfd-solver").Images("registry.example.com/cfd/solver:*").Obj(),
		*utiltesting.MakeProduct("mesher").Obj(),
		*utiltesting.MakeProduct("viewer").Obj(),
		*utiltesting.MakeProduct("free").Pricing("0", "EUR", "1m").Obj(),
	}
	products[3].Spec.Pricing.FreeToUse = true
	template := func(sa string, annotations map[string]string, images ...string) Workload {
		spec := corev1.PodSpec{ServiceAccountName: sa}
		for _, img := range images {
			spec.Containers = append(spec.Containers, corev1.Container{Name: "c", Image: img})
		}
		return WorkloadFromPodSpec("Workload", "job-sim", ns, metav1.ObjectMeta{Annotations: annotations}, &spec, nil)
	}
	in := ReservationInput{
		Products: products, Licenses: []licensingv1alpha1.SoftwareLicense{conc, site},
		Assignments: []licensingv1alpha1.LicenseAssignment{solvers},
	}
	type got struct {
		PodSet, Product string
		Count           int32
		Covers          []string
		Uncovered       bool
	}
	summarise := func(ds []SeatDemand) []got {
		var out []got
		for _, d := range ds {
			g := got{PodSet: d.PodSet, Product: d.Need.Product, Count: d.Count, Uncovered: d.Uncovered != ""}
			for _, c := range d.Covers {
				g.Covers = append(g.Covers, c.Assignment.Name)
			}
			out = append(out, g)
		}
		return out
	}
	cases := []struct {
		name    string
		podSets []PodSetSeats
		want    []got
	}{{
		name:    "an image pattern needs the product, on the assignment of the ServiceAccount",
		podSets: []PodSetSeats{{Name: "main", Count: 3, Template: template("sim", nil, "registry.example.com/cfd/solver:9")}},
		want:    []got{{PodSet: "main", Product: "cfd-solver", Count: 3, Covers: []string{"solvers"}}},
	}, {
		name: "two products of one pod set, and a second pod set",
		podSets: []PodSetSeats{
			{Name: "driver", Count: 1, Template: template("sim", map[string]string{licensingv1alpha1.ProductAnnotation: "mesher,cfd-solver"})},
			{Name: "workers", Count: 8, Template: template("sim", map[string]string{licensingv1alpha1.ProductAnnotation: "cfd-solver"})},
		},
		want: []got{
			{PodSet: "driver", Product: "cfd-solver", Count: 1, Covers: []string{"solvers"}},
			{PodSet: "driver", Product: "mesher", Count: 1, Covers: []string{"solvers"}},
			{PodSet: "workers", Product: "cfd-solver", Count: 8, Covers: []string{"solvers"}},
		},
	}, {
		name:    "no assignment of its ServiceAccount: uncovered, nothing to reserve",
		podSets: []PodSetSeats{{Name: "main", Count: 2, Template: template("other", map[string]string{licensingv1alpha1.ProductAnnotation: "cfd-solver"})}},
		want:    []got{{PodSet: "main", Product: "cfd-solver", Count: 2, Uncovered: true}},
	}, {
		name: "a Site licence, a freeToUse product, a pod set of no Pods and an unlicensed pod set need no seat",
		podSets: []PodSetSeats{
			{Name: "view", Count: 2, Template: template("sim", map[string]string{licensingv1alpha1.ProductAnnotation: "viewer"})},
			{Name: "free", Count: 2, Template: template("sim", map[string]string{licensingv1alpha1.ProductAnnotation: "free"})},
			{Name: "none", Count: 0, Template: template("sim", map[string]string{licensingv1alpha1.ProductAnnotation: "cfd-solver"})},
			{Name: "plain", Count: 5, Template: template("sim", nil, "busybox")},
		},
	}}
	for _, c := range cases {
		in := in
		in.PodSets = c.podSets
		if diff := cmp.Diff(c.want, summarise(SeatDemands(in))); diff != "" {
			t.Errorf("%s: SeatDemands (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestNeverFits(t *testing.T) {
	const ns = "hpc"
	hardLic := licence("hpc-2026", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cfd-solver")
	softLic := licence("soft", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementSoft, "cfd-solver")
	a4 := bound(utiltesting.MakeAssignment("solvers", ns).ServiceAccount("sim"), "hpc/hpc-2026", 4)
	b8 := bound(utiltesting.MakeAssignment("big", ns).ServiceAccount("sim"), "hpc/hpc-2026", 8)
	cover := func(a licensingv1alpha1.LicenseAssignment, l licensingv1alpha1.SoftwareLicense) Cover {
		return Cover{Product: "cfd-solver", License: &l, Assignment: &a, Counted: true, Seats: AssignmentSeats(&a), Enforcement: EnforcementOf(&l)}
	}
	demand := func(podSet string, count int32, covers ...Cover) SeatDemand {
		return SeatDemand{PodSet: podSet, Count: count, Need: ProductNeed{Product: "cfd-solver"}, Covers: covers}
	}
	cases := []struct {
		name    string
		demands []SeatDemand
		want    string
	}{{
		name:    "within the seats",
		demands: []SeatDemand{demand("main", 4, cover(a4, hardLic))},
	}, {
		name:    "five on four seats never fits",
		demands: []SeatDemand{demand("main", 5, cover(a4, hardLic))},
		want:    "never fits: pod set main needs 5 seats of cfd-solver; assignment solvers holds 4 (licence hpc/hpc-2026)",
	}, {
		name:    "five fits a second cover of eight",
		demands: []SeatDemand{demand("main", 5, cover(a4, hardLic), cover(b8, hardLic))},
	}, {
		name:    "Soft enforcement always fits",
		demands: []SeatDemand{demand("main", 50, cover(a4, softLic))},
	}, {
		name:    "two pod sets that fit alone but not together on their one assignment",
		demands: []SeatDemand{demand("driver", 2, cover(a4, hardLic)), demand("workers", 3, cover(a4, hardLic))},
		want:    "never fits: its pod sets need 5 seats together on assignment solvers, which holds 4 (licence hpc/hpc-2026)",
	}, {
		name:    "an uncovered pod set may be covered later: it is not rejected",
		demands: []SeatDemand{{PodSet: "main", Count: 9, Need: ProductNeed{Product: "cfd-solver"}, Uncovered: "no assignment"}},
	}}
	for _, c := range cases {
		got := NeverFits(c.demands)
		if c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: NeverFits = %q, want prefix %q", c.name, got, c.want)
		}
	}
}

func TestReservationWaitMessage(t *testing.T) {
	l := licence("hpc-2026", "hpc", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cfd-solver")
	a := bound(utiltesting.MakeAssignment("solvers", "hpc").ServiceAccount("sim"), "hpc/hpc-2026", 11)
	c := Cover{Product: "cfd-solver", License: &l, Assignment: &a, Counted: true, Seats: 11}
	d := SeatDemand{PodSet: "main", Count: 8, Need: ProductNeed{Product: "cfd-solver"}, Covers: []Cover{c}}
	got := ReservationWaitMessage(d, c, ReservationDecision{Free: 3, Waiting: 2, Stopped: "workload x/main at the head needs 8 seats together, 3 free"})
	want := "needs 8 seats of cfd-solver (pod set main); 3 free on licence hpc/hpc-2026 (assignment solvers holds 11, 2 Pods waiting in its line)"
	if got != want {
		t.Errorf("ReservationWaitMessage =\n%q, want\n%q", got, want)
	}
}

// TestRecountSeatLedgersReservations: the recount never drops a Kueue
// Workload's reservation, counts the Pods riding it as holding their seat
// there, drops the rides of Pods that are gone, and leaves Pods that Kueue
// still gates alone.
func TestRecountSeatLedgersReservations(t *testing.T) {
	const ns = "team"
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour)
	young := now.Add(-ledgerGrace / 2)
	conc := licence("conc", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	a := bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/conc", 4)
	pod := func(name, uid string) *utiltesting.PodWrapper {
		return utiltesting.MakePod(name, ns, uid, old).Product("cad").ServiceAccount("builder")
	}
	ledger := func() *utiltesting.SeatLedgerWrapper {
		return utiltesting.MakeSeatLedger("seat-ledger-a", ns, "a").Reservation("job-x", "wl-uid", "main", 3, old)
	}
	ride := func(p, uid string, at time.Time) ReservationRide {
		return ReservationRide{UID: "wl-uid", PodSet: "main", Entry: licensingv1alpha1.SeatLedgerEntry{Pod: p, UID: uid, Admitted: metav1.NewTime(at)}}
	}
	cases := map[string]struct {
		pods   []corev1.Pod
		ledger *licensingv1alpha1.SeatLedger
		want   []LedgerRepair
	}{
		"a reservation without Pods is kept, and its riders are not added as holders": {
			pods:   []corev1.Pod{*pod("r1", "uid-r1").Obj(), *pod("r2", "uid-r2").Obj()},
			ledger: ledger().Ride("r1", "uid-r1", old).Ride("r2", "uid-r2", old).Obj(),
		},
		"the ride of a Pod gone is dropped, the reservation stays": {
			pods:   []corev1.Pod{*pod("r1", "uid-r1").Obj()},
			ledger: ledger().Ride("r1", "uid-r1", old).Ride("gone", "uid-gone", old).Obj(),
			want:   []LedgerRepair{{Assignment: "a", DroppedRides: []ReservationRide{withWhy(ride("gone", "uid-gone", old), DropPodGone)}, Holders: 3, Seats: 4}},
		},
		"a ride written at admission takes the stored Pod's UID": {
			pods:   []corev1.Pod{*utiltesting.MakePod("r1", ns, "uid-r1", young).Product("cad").ServiceAccount("builder").Obj()},
			ledger: ledger().Ride("r1", AdmissionUID("req"), young).Obj(),
			want:   []LedgerRepair{{Assignment: "a", AdoptedRides: []ReservationRide{ride("r1", "uid-r1", young)}, Holders: 3, Seats: 4}},
		},
		"a Pod Kueue still gates runs nothing: it is not added": {
			pods:   []corev1.Pod{*pod("gated", "uid-gated").KueueGated().Obj()},
			ledger: ledger().Obj(),
		},
		"a running Pod that neither holds nor rides is added, and counted with the reservation": {
			pods:   []corev1.Pod{*pod("plain", "uid-plain").Obj()},
			ledger: ledger().Obj(),
			want: []LedgerRepair{{Assignment: "a", Holders: 4, Seats: 4,
				Added: []licensingv1alpha1.SeatLedgerEntry{{Pod: "plain", UID: "uid-plain", Admitted: metav1.NewTime(now)}}}},
		},
	}
	for name, c := range cases {
		got := RecountSeatLedgers(RecountInput{
			Now: now, Grace: ledgerGrace, Namespace: ns, Pods: c.pods, Ledgers: []licensingv1alpha1.SeatLedger{*c.ledger},
			Licenses: []licensingv1alpha1.SoftwareLicense{conc}, Assignments: []licensingv1alpha1.LicenseAssignment{a},
		})
		if len(c.want) == 0 {
			c.want = []LedgerRepair{}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: RecountSeatLedgers (-want +got):\n%s", name, diff)
		}
	}
}

func withWhy(r ReservationRide, why DropReason) ReservationRide { r.Why = why; return r }
