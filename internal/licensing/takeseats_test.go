package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

var lineStart = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// single is a Pod without a gang that joined the line at second at.
func single(pod string, at int) Waiter {
	return Waiter{Pod: pod, UID: "uid-" + pod, Queued: lineStart.Add(time.Duration(at) * time.Second)}
}

// member is a Pod of gang gang/size that joined the line at second at.
func member(pod, gang string, size int32, at int) Waiter {
	w := single(pod, at)
	w.Gang, w.GangSize = gang, size
	return w
}

func withPriority(w Waiter, p int32) Waiter { w.Priority = p; return w }

// newcomer is a Pod that takes a seat now or is refused.
func newcomer(w Waiter) Waiter { w.Refuse = true; return w }

func hard(holders int, seats int32) SeatState {
	return SeatState{Holders: holders, Seats: seats, Enforcement: v1.EnforcementHard}
}

// seatOutcome is a SeatDecision by Pod name.
type seatOutcome struct {
	Granted, Over, Line, Refused []string
	Stopped                      string
}

func names(ws []Waiter) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Pod)
	}
	return out
}

func TestTakeSeats(t *testing.T) {
	cases := []struct {
		name  string
		state SeatState
		line  []Waiter
		want  seatOutcome
	}{{
		name:  "free seats are granted in line order, the rest wait",
		state: hard(1, 3),
		line:  []Waiter{single("c", 3), single("a", 1), single("b", 2)},
		want:  seatOutcome{Granted: []string{"a", "b"}, Line: []string{"c"}, Stopped: "no seat is free: 3 of 3 held"},
	}, {
		name:  "every Pod of a short line is served: nothing stopped",
		state: hard(0, 3),
		line:  []Waiter{single("a", 1), single("b", 2)},
		want:  seatOutcome{Granted: []string{"a", "b"}},
	}, {
		name:  "an empty line decides nothing",
		state: hard(3, 3),
		want:  seatOutcome{},
	}, {
		name:  "higher priority first, then who queued first, then the name",
		state: hard(2, 3),
		line: []Waiter{single("d", 1), single("c", 2), single("b", 2),
			withPriority(single("late-but-urgent", 9), 100), withPriority(single("low", 0), -5)},
		want: seatOutcome{Granted: []string{"late-but-urgent"}, Line: []string{"d", "b", "c", "low"},
			Stopped: "no seat is free: 3 of 3 held"},
	}, {
		name:  "no backfill: a full head stops the line and a Refuse newcomer behind it is refused",
		state: hard(2, 2),
		line:  []Waiter{single("a", 1), newcomer(single("new", 5))},
		want:  seatOutcome{Line: []string{"a"}, Refused: []string{"new"}, Stopped: "no seat is free: 2 of 2 held"},
	}, {
		name:  "a Refuse newcomer with a free seat and no line takes it",
		state: hard(1, 2),
		line:  []Waiter{newcomer(single("new", 5))},
		want:  seatOutcome{Granted: []string{"new"}},
	}, {
		name:  "a Refuse newcomer with no free seat and no line is refused",
		state: hard(2, 2),
		line:  []Waiter{newcomer(single("new", 5))},
		want:  seatOutcome{Refused: []string{"new"}, Stopped: "no seat is free: 2 of 2 held"},
	}, {
		name:  "more holders than seats (the assignment shrank): nobody is served",
		state: hard(3, 1),
		line:  []Waiter{single("a", 1)},
		want:  seatOutcome{Line: []string{"a"}, Stopped: "no seat is free: 3 of 1 held"},
	}, {
		name:  "an incomplete gang at the head blocks the singles behind it, free seats or not",
		state: hard(0, 5),
		line:  []Waiter{member("t1", "t", 3, 1), member("t2", "t", 3, 2), single("s", 3), newcomer(single("new", 4))},
		want: seatOutcome{Line: []string{"t1", "t2", "s"}, Refused: []string{"new"},
			Stopped: "gang t at the head has 2 of its 3 Pods"},
	}, {
		name:  "a gang of 3 with 4 free seats starts all 3 at once; the single behind takes the fourth",
		state: hard(0, 4),
		line:  []Waiter{member("t1", "t", 3, 1), single("s", 2), member("t2", "t", 3, 3), member("t3", "t", 3, 4)},
		want:  seatOutcome{Granted: []string{"t1", "t2", "t3", "s"}},
	}, {
		name:  "two gangs of 3 on 4 seats: only the first starts",
		state: hard(0, 4),
		line: []Waiter{member("a1", "a", 3, 1), member("b1", "b", 3, 2), member("a2", "a", 3, 3),
			member("b2", "b", 3, 4), member("a3", "a", 3, 5), member("b3", "b", 3, 6)},
		want: seatOutcome{Granted: []string{"a1", "a2", "a3"}, Line: []string{"b1", "b2", "b3"},
			Stopped: "gang b at the head needs 3 seats together, 1 free"},
	}, {
		name:  "a complete gang at the head with too few seats free waits, and the line with it",
		state: hard(3, 4),
		line:  []Waiter{member("t1", "t", 2, 1), member("t2", "t", 2, 2), single("s", 3)},
		want:  seatOutcome{Line: []string{"t1", "t2", "s"}, Stopped: "gang t at the head needs 2 seats together, 1 free"},
	}, {
		name:  "free seats below zero read as none free",
		state: hard(5, 4),
		line:  []Waiter{member("t1", "t", 2, 1), member("t2", "t", 2, 2)},
		want:  seatOutcome{Line: []string{"t1", "t2"}, Stopped: "gang t at the head needs 2 seats together, 0 free"},
	}, {
		name:  "members beyond the gang's size form its next instance",
		state: hard(0, 4),
		line:  []Waiter{member("t1", "t", 2, 1), member("t2", "t", 2, 2), member("t3", "t", 2, 3)},
		want:  seatOutcome{Granted: []string{"t1", "t2"}, Line: []string{"t3"}, Stopped: "gang t at the head has 1 of its 2 Pods"},
	}, {
		name:  "two whole instances of a gang start when the seats allow",
		state: hard(0, 4),
		line: []Waiter{member("t1", "t", 2, 1), member("t2", "t", 2, 2), member("t3", "t", 2, 3),
			member("t4", "t", 2, 4), member("t5", "t", 2, 5)},
		want: seatOutcome{Granted: []string{"t1", "t2", "t3", "t4"}, Line: []string{"t5"},
			Stopped: "gang t at the head has 1 of its 2 Pods"},
	}, {
		name:  "a gang larger than the seats is passed over, keeps its place and says so",
		state: hard(0, 2),
		line:  []Waiter{member("b1", "big", 3, 1), member("b2", "big", 3, 2), single("s", 3), member("b3", "big", 3, 4)},
		want: seatOutcome{Granted: []string{"s"}, Line: []string{"b1", "b2", "b3"},
			Stopped: "gang big needs more seats together than the assignment has (2)"},
	}, {
		name:  "a passed-over gang does not hide why the line stopped behind it",
		state: hard(1, 2),
		line:  []Waiter{member("b1", "big", 3, 1), single("s", 2), single("u", 3)},
		want:  seatOutcome{Granted: []string{"s"}, Line: []string{"b1", "u"}, Stopped: "no seat is free: 2 of 2 held"},
	}, {
		name:  "Soft grants everyone and reports those beyond the seats as Over",
		state: SeatState{Holders: 1, Seats: 2, Enforcement: v1.EnforcementSoft},
		line:  []Waiter{single("a", 1), single("b", 2), member("g1", "g", 3, 3), member("g2", "g", 3, 4), member("g3", "g", 3, 5)},
		want:  seatOutcome{Granted: []string{"a", "b", "g1", "g2", "g3"}, Over: []string{"b", "g1", "g2", "g3"}},
	}, {
		name:  "Soft still starts a gang only whole",
		state: SeatState{Holders: 0, Seats: 2, Enforcement: v1.EnforcementSoft},
		line:  []Waiter{single("a", 1), member("g1", "g", 2, 2)},
		want:  seatOutcome{Granted: []string{"a"}, Line: []string{"g1"}, Stopped: "gang g at the head has 1 of its 2 Pods"},
	}, {
		name: "Blocked serves nobody, keeps the line and refuses newcomers that do not join it",
		state: SeatState{Holders: 0, Seats: 5, Enforcement: v1.EnforcementHard,
			Blocked: "licence ns/cad is Expired"},
		line: []Waiter{single("a", 1), newcomer(single("new", 2))},
		want: seatOutcome{Line: []string{"a"}, Refused: []string{"new"}, Stopped: "licence ns/cad is Expired"},
	}, {
		name: "Blocked overrides Soft",
		state: SeatState{Holders: 0, Seats: 5, Enforcement: v1.EnforcementSoft,
			Blocked: "licence ns/cad is Suspended"},
		line: []Waiter{single("a", 1)},
		want: seatOutcome{Line: []string{"a"}, Stopped: "licence ns/cad is Suspended"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Waiter(nil), tc.line...)
			d := TakeSeats(tc.state, tc.line)
			got := seatOutcome{Granted: names(d.Granted), Over: names(d.Over), Line: names(d.Line),
				Refused: names(d.Refused), Stopped: d.Stopped}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TakeSeats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tc.line); diff != "" {
				t.Errorf("TakeSeats changed its input line (-before +after):\n%s", diff)
			}
		})
	}
}

// TestTakeSeatsDeterministic: two replicas deciding from the same line
// reach the same decision, including what Stopped names when several gangs
// are passed over (a map's order must not leak into it).
func TestTakeSeatsDeterministic(t *testing.T) {
	line := []Waiter{member("x1", "x", 5, 1), member("y1", "y", 4, 2), member("z1", "z", 6, 3), single("s", 4)}
	first := TakeSeats(hard(0, 3), line)
	if want := "gang x needs more seats together than the assignment has (3)"; first.Stopped != want {
		t.Errorf("Stopped %q, want %q (the first passed-over gang in line)", first.Stopped, want)
	}
	for range 50 {
		if diff := cmp.Diff(first, TakeSeats(hard(0, 3), line)); diff != "" {
			t.Fatalf("TakeSeats differs between two calls (-first +again):\n%s", diff)
		}
	}
}

func TestSeatDecisionPositionAndIsGranted(t *testing.T) {
	d := TakeSeats(hard(1, 2), []Waiter{single("b", 2), single("a", 1), single("c", 3), newcomer(single("new", 4))})
	for pod, want := range map[string]int{"a": 0, "b": 1, "c": 2, "new": 0, "absent": 0} {
		if got := d.Position(pod); got != want {
			t.Errorf("Position(%s) = %d, want %d", pod, got, want)
		}
	}
	for pod, want := range map[string]bool{"a": true, "b": false, "c": false, "new": false, "absent": false} {
		if got := d.IsGranted(pod); got != want {
			t.Errorf("IsGranted(%s) = %v, want %v", pod, got, want)
		}
	}
}

func TestLineOrder(t *testing.T) {
	line := []Waiter{single("b", 2), withPriority(single("p", 5), 1), single("a", 2), single("first", 1)}
	LineOrder(line)
	if diff := cmp.Diff([]string{"p", "first", "a", "b"}, names(line)); diff != "" {
		t.Errorf("LineOrder (-want +got):\n%s", diff)
	}
}

func TestParseGang(t *testing.T) {
	cases := []struct {
		name    string
		ann     map[string]string
		want    Gang
		wantErr bool
	}{
		{name: "no annotation is no gang", ann: map[string]string{"other": "x/2"}},
		{name: "nil annotations", ann: nil},
		{name: "name and size", ann: map[string]string{v1.GangAnnotation: "trainers/4"}, want: Gang{Name: "trainers", Size: 4}},
		{name: "surrounding spaces are trimmed", ann: map[string]string{v1.GangAnnotation: " t/2 "}, want: Gang{Name: "t", Size: 2}},
		{name: "the largest size", ann: map[string]string{v1.GangAnnotation: "t/10000"}, want: Gang{Name: "t", Size: MaxGangSize}},
		{name: "a size of one", ann: map[string]string{v1.GangAnnotation: "t/1"}, want: Gang{Name: "t", Size: 1}},
		{name: "no size", ann: map[string]string{v1.GangAnnotation: "trainers"}, wantErr: true},
		{name: "no name", ann: map[string]string{v1.GangAnnotation: "/3"}, wantErr: true},
		{name: "empty", ann: map[string]string{v1.GangAnnotation: ""}, wantErr: true},
		{name: "size zero", ann: map[string]string{v1.GangAnnotation: "t/0"}, wantErr: true},
		{name: "negative size", ann: map[string]string{v1.GangAnnotation: "t/-2"}, wantErr: true},
		{name: "size beyond the bound", ann: map[string]string{v1.GangAnnotation: "t/10001"}, wantErr: true},
		{name: "size not a number", ann: map[string]string{v1.GangAnnotation: "t/four"}, wantErr: true},
		{name: "two slashes", ann: map[string]string{v1.GangAnnotation: "a/b/3"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGang(tc.ann)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseGang error %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), v1.GangAnnotation) {
				t.Errorf("error %q does not name the annotation", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseGang (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWhenNoSeat(t *testing.T) {
	cases := []struct {
		name    string
		ann     map[string]string
		want    v1.WhenNoSeat
		wantErr bool
	}{
		{name: "absent", ann: map[string]string{"other": "Refuse"}, want: ""},
		{name: "Queue", ann: map[string]string{v1.WhenNoSeatAnnotation: "Queue"}, want: v1.WhenNoSeatQueue},
		{name: "Refuse", ann: map[string]string{v1.WhenNoSeatAnnotation: "Refuse"}, want: v1.WhenNoSeatRefuse},
		{name: "values are case-sensitive", ann: map[string]string{v1.WhenNoSeatAnnotation: "refuse"}, wantErr: true},
		{name: "empty", ann: map[string]string{v1.WhenNoSeatAnnotation: ""}, wantErr: true},
		{name: "unknown", ann: map[string]string{v1.WhenNoSeatAnnotation: "Wait"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseWhenNoSeat(tc.ann)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseWhenNoSeat error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseWhenNoSeat = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWhenNoSeatOf(t *testing.T) {
	withPolicy := func(w *v1.WhenNoSeat) *v1.SoftwareLicense {
		l := &v1.SoftwareLicense{}
		l.Status.EffectivePolicy = &v1.EffectivePolicy{PolicySettings: v1.PolicySettings{WhenNoSeat: w}}
		return l
	}
	refuse := map[string]string{v1.WhenNoSeatAnnotation: "Refuse"}
	queue := map[string]string{v1.WhenNoSeatAnnotation: "Queue"}
	cases := []struct {
		name string
		lic  *v1.SoftwareLicense
		ann  map[string]string
		want v1.WhenNoSeat
	}{
		{name: "no licence: the built-in default", want: v1.WhenNoSeatQueue},
		{name: "no effective policy yet: the built-in default", lic: &v1.SoftwareLicense{}, want: v1.WhenNoSeatQueue},
		{name: "policy without whenNoSeat: the built-in default", lic: withPolicy(nil), want: v1.WhenNoSeatQueue},
		{name: "the policy's Refuse", lic: withPolicy(ptr.To(v1.WhenNoSeatRefuse)), want: v1.WhenNoSeatRefuse},
		{name: "the policy's Queue", lic: withPolicy(ptr.To(v1.WhenNoSeatQueue)), want: v1.WhenNoSeatQueue},
		{name: "a Pod asks Refuse of a Queue policy", lic: withPolicy(ptr.To(v1.WhenNoSeatQueue)), ann: refuse, want: v1.WhenNoSeatRefuse},
		{name: "a Pod asks Refuse without a licence", ann: refuse, want: v1.WhenNoSeatRefuse},
		{name: "a Pod cannot turn a policy's Refuse into Queue", lic: withPolicy(ptr.To(v1.WhenNoSeatRefuse)), ann: queue, want: v1.WhenNoSeatRefuse},
		{name: "an invalid annotation changes nothing", lic: withPolicy(ptr.To(v1.WhenNoSeatQueue)),
			ann: map[string]string{v1.WhenNoSeatAnnotation: "refuse"}, want: v1.WhenNoSeatQueue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := WhenNoSeatOf(tc.lic, tc.ann); got != tc.want {
				t.Errorf("WhenNoSeatOf = %q, want %q", got, tc.want)
			}
		})
	}
}
