package licensing

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func seatLedgerObject(asg string, i int, spec licensingv1alpha1.SeatLedgerSpec) licensingv1alpha1.SeatLedger {
	l := licensingv1alpha1.SeatLedger{Spec: spec}
	l.Namespace, l.Name = "team", SeatObjectName(LedgerName(asg), i)
	l.Labels = map[string]string{licensingv1alpha1.SeatLedgerLabel: SeatLedgerLabelValue(LedgerName(asg)), licensingv1alpha1.SeatIndexLabel: itoa(i)}
	l.OwnerReferences = []metav1.OwnerReference{{Kind: "LicenseAssignment", Name: asg, UID: "asg"}}
	l.Spec.Assignment = asg
	return l
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestMergeSeatLedgers(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Second))
	main := licensingv1alpha1.SeatLedger{Spec: licensingv1alpha1.SeatLedgerSpec{Assignment: "a",
		Entries: []licensingv1alpha1.SeatLedgerEntry{{Pod: "old", UID: "uold", Admitted: t0}},
		Waiting: []licensingv1alpha1.SeatLedgerWaiter{{Pod: "w", UID: "uw"}}}}
	main.Namespace, main.Name = "team", LedgerName("a")
	uses := licensingv1alpha1.SeatLedger{Spec: licensingv1alpha1.SeatLedgerSpec{License: "lic"}}
	uses.Namespace, uses.Name = "team", UsesLedgerName("lic")
	res := func(ride string, since metav1.Time) licensingv1alpha1.SeatLedgerSpec {
		r := licensingv1alpha1.SeatLedgerReservation{Workload: "job", UID: "wl", PodSet: "main", Count: 1, Since: since}
		if ride != "" {
			r.Rides = []licensingv1alpha1.SeatLedgerEntry{{Pod: ride, UID: "u" + ride, Admitted: t0}}
		}
		return licensingv1alpha1.SeatLedgerSpec{Reservations: []licensingv1alpha1.SeatLedgerReservation{r}}
	}
	in := []licensingv1alpha1.SeatLedger{
		seatLedgerObject("a", 0, licensingv1alpha1.SeatLedgerSpec{Entries: []licensingv1alpha1.SeatLedgerEntry{{Pod: "p0", UID: "u0", Admitted: t0}}}),
		main,
		seatLedgerObject("a", 1, res("r1", t1)),
		uses,
		seatLedgerObject("a", 2, res("", t0)),
		// The same Pod as the main ledger's: counted once.
		seatLedgerObject("a", 3, licensingv1alpha1.SeatLedgerSpec{Entries: []licensingv1alpha1.SeatLedgerEntry{{Pod: "old", UID: "uold", Admitted: t0}}}),
		// Of an assignment whose main ledger does not exist.
		seatLedgerObject("b", 0, licensingv1alpha1.SeatLedgerSpec{Entries: []licensingv1alpha1.SeatLedgerEntry{{Pod: "q", UID: "uq", Admitted: t0}}}),
	}
	out := MergeSeatLedgers(in)
	if len(out) != 3 {
		t.Fatalf("%d ledgers, want a, the uses and b", len(out))
	}
	a, b := out[0], out[2]
	if a.Name != LedgerName("a") || out[1].Name != UsesLedgerName("lic") || b.Name != LedgerName("b") {
		t.Fatalf("order %s, %s, %s", a.Name, out[1].Name, b.Name)
	}
	if got := HeldSeats(&a.Spec); got != 4 {
		t.Errorf("a holds %d, want 4 (old, p0, and a reservation of 2)", got)
	}
	if len(a.Spec.Reservations) != 1 || a.Spec.Reservations[0].Count != 2 || len(a.Spec.Reservations[0].Rides) != 1 || !a.Spec.Reservations[0].Since.Equal(&t0) {
		t.Errorf("reservation %+v", a.Spec.Reservations)
	}
	if len(a.Spec.Waiting) != 1 {
		t.Errorf("the line %v", a.Spec.Waiting)
	}
	if len(b.Spec.Entries) != 1 || b.ResourceVersion != "" || len(b.OwnerReferences) != 1 {
		t.Errorf("made-up main ledger of b %+v", b)
	}
	if len(in[1].Spec.Entries) != 1 {
		t.Errorf("the input changed")
	}
}

func TestSeatObjectNamesAreBounded(t *testing.T) {
	long := strings.Repeat("x", 253)
	name := SeatObjectName(LedgerName(long), 12345)
	if len(name) > 253 || !strings.HasSuffix(name, "-12345") {
		t.Errorf("name %q (%d)", name, len(name))
	}
	if SeatObjectName(LedgerName(long), 1) == SeatObjectName(LedgerName(long+"y"), 1) {
		t.Errorf("two long assignments share a seat name")
	}
	if v := SeatLedgerLabelValue(LedgerName(long)); len(v) > 63 {
		t.Errorf("label value %q", v)
	}
	if _, ok := SeatIndex(&licensingv1alpha1.SeatLedger{}); ok {
		t.Errorf("a ledger without the index label is a seat object")
	}
}
