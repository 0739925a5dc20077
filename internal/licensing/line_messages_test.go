package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func TestParsePlaceText(t *testing.T) {
	cases := []struct {
		name  string
		place LinePlace
		want  LinePlace // what comes back, when not the place itself
	}{{
		name:  "nobody holds a seat",
		place: LinePlace{Position: 1, Waiting: 1, Seats: 2},
	}, {
		name:  "holders named",
		place: LinePlace{Position: 2, Waiting: 4, Used: 3, Seats: 3, Holders: []string{"web-a", "web-b", "web-c"}},
	}, {
		name:  "more holders than a message names come back counted",
		place: LinePlace{Position: 1, Waiting: 1, Used: 7, Seats: 7, Holders: []string{"a", "b", "c", "d", "e", "f", "g"}},
		want:  LinePlace{Position: 1, Waiting: 1, Used: 7, Seats: 7, Holders: []string{"a", "b", "c", "d", "e"}, Unnamed: 2},
	}, {
		name:  "a stopped line",
		place: LinePlace{Position: 3, Waiting: 3, Used: 1, Seats: 4, Holders: []string{"x"}, Stopped: "gang train at the head needs 4 seats together, 3 free"},
	}, {
		name:  "full seats are not said twice",
		place: LinePlace{Position: 1, Waiting: 2, Used: 1, Seats: 1, Holders: []string{"x"}, Stopped: "no seat is free: 1 of 1 held"},
		want:  LinePlace{Position: 1, Waiting: 2, Used: 1, Seats: 1, Holders: []string{"x"}},
	}, {
		name:  "a blocked licence, nobody holding",
		place: LinePlace{Position: 1, Waiting: 1, Seats: 1, Stopped: "licence team-a/cad is Expired"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := PlaceText(tc.place)
			got, err := ParsePlaceText(text)
			if err != nil {
				t.Fatalf("ParsePlaceText(%q): %v", text, err)
			}
			want := tc.want
			if want.Position == 0 {
				want = tc.place
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParsePlaceText(%q) (-want +got):\n%s", text, diff)
			}
			if again := PlaceText(got); again != text {
				t.Errorf("PlaceText of the parsed place is %q, want %q", again, text)
			}
		})
	}
	for _, bad := range []string{"", "position one of two", "position 1 of 1; 1/1 seats held by ", "position 1 of 1; 1/99999999999 seats held"} {
		if _, err := ParsePlaceText(bad); err == nil {
			t.Errorf("ParsePlaceText(%q) is not an error", bad)
		}
	}
}

func FuzzParsePlaceText(f *testing.F) {
	f.Add(2, 4, 3, int32(3), "web-a,web-b", 0, "")
	f.Add(1, 1, 9, int32(9), "a,b,c,d,e,f,g", 0, "gang g at the head has 1 of its 4 Pods")
	f.Add(1, 1, 1, int32(1), "", 0, "licence a/b is Suspended")
	f.Fuzz(func(t *testing.T, pos, waiting, used int, seats int32, holders string, unnamed int, stopped string) {
		p := LinePlace{Position: natural(pos), Waiting: natural(waiting), Used: natural(used), Seats: max(seats, 0), Unnamed: natural(unnamed), Stopped: stopped}
		if holders != "" {
			p.Holders = strings.Split(holders, ",")
		}
		for _, h := range p.Holders {
			if h == "" || strings.ContainsAny(h, " ,;") {
				return // not a Pod name
			}
		}
		if strings.ContainsAny(stopped, "\n\r") {
			return // the line's reasons are one line
		}
		text := PlaceText(p)
		got, err := ParsePlaceText(text)
		if err != nil {
			t.Fatalf("ParsePlaceText(%q): %v", text, err)
		}
		if again := PlaceText(got); again != text {
			t.Fatalf("PlaceText(ParsePlaceText(%q)) = %q", text, again)
		}
	})
}

// natural folds a fuzzed int into 0 … 2³¹-1, as a count in a message is.
func natural(n int) int { return int(uint32(n) >> 1) }

func TestParseWaitingEventMessage(t *testing.T) {
	place := LinePlace{Position: 2, Waiting: 3, Used: 1, Seats: 1, Holders: []string{"render-1"}}
	for _, licence := range []string{"team-a/cad", ""} {
		note := WaitingEventMessage(`cad "pro"`, "render", licence, place)
		got, err := ParseWaitingEventMessage(note)
		if err != nil {
			t.Fatalf("ParseWaitingEventMessage(%q): %v", note, err)
		}
		want := WaitingEvent{Product: `cad "pro"`, Assignment: "render", Licence: licence, Place: place}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseWaitingEventMessage(%q) (-want +got):\n%s", note, diff)
		}
	}
	for _, bad := range []string{"", "Took a seat", `Waiting for a seat of product "cad" on assignment render: position 1 of 1; 0/1 seats held`} {
		if _, err := ParseWaitingEventMessage(bad); err == nil {
			t.Errorf("ParseWaitingEventMessage(%q) is not an error", bad)
		}
	}
}

func TestLineOf(t *testing.T) {
	site := Cover{Product: "p", SeatModel: v1.SeatModelSite}
	counted := Cover{Product: "p", Counted: true, Assignment: &v1.LicenseAssignment{ObjectMeta: metav1.ObjectMeta{Name: "a"}}}
	if got := LineOf(nil); got != nil {
		t.Errorf("LineOf(nil) = %v, want nil", got)
	}
	if got := LineOf([]Cover{site, counted}); got != nil {
		t.Errorf("LineOf with an uncounted cover first = %v, want nil: the Pod is admitted at once", got)
	}
	covers := []Cover{counted, counted}
	if got := LineOf(covers); got != &covers[0] {
		t.Errorf("LineOf = %v, want the first cover", got)
	}
}

func TestSeatWaitEnds(t *testing.T) {
	lic := func(state v1.LicenseState) *v1.SoftwareLicense {
		return &v1.SoftwareLicense{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "cad"},
			Status:     v1.SoftwareLicenseStatus{State: state, Seats: v1.LicenseSeatStatus{Total: ptr.To[int32](2), Used: 2}},
		}
	}
	asg := &v1.LicenseAssignment{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "render"}}
	cases := []struct {
		name  string
		state v1.LicenseState
		place LinePlace
		gang  Gang
		want  []string
	}{{
		name:  "at the head of a full line",
		state: v1.LicenseStateActive,
		place: LinePlace{Position: 1, Waiting: 1, Used: 2, Seats: 2, Holders: []string{"r-1", "r-2"}},
		want: []string{
			"a Pod holding a seat of assignment render ends or is deleted (r-1, r-2)",
			"spec.seats of assignment render is raised (licence team-a/cad must have the seats: 2/2 seats used)",
		},
	}, {
		name:  "behind others, holders counted, a gang",
		state: v1.LicenseStateActive,
		place: LinePlace{Position: 3, Waiting: 4, Used: 7, Seats: 7, Holders: []string{"a", "b", "c", "d", "e"}, Unnamed: 2},
		gang:  Gang{Name: "train", Size: 2},
		want: []string{
			"the 2 Pods ahead of it in line take a seat first (higher priority first, then who joined first)",
			"a Pod holding a seat of assignment render ends or is deleted (a, b, c, d, e and 2 more)",
			"spec.seats of assignment render is raised (licence team-a/cad must have the seats: 2/2 seats used)",
			"all 2 Pods of gang train are in line and 2 seats are free together: the gang starts all at once",
		},
	}, {
		name:  "a gang with seats free waits only for its Pods",
		state: v1.LicenseStateActive,
		place: LinePlace{Position: 1, Waiting: 1, Seats: 2, Stopped: "gang train at the head has 1 of its 2 Pods"},
		gang:  Gang{Name: "train", Size: 2},
		want: []string{
			"all 2 Pods of gang train are in line and 2 seats are free together: the gang starts all at once",
		},
	}, {
		name:  "an expired licence stops the line",
		state: v1.LicenseStateExpired,
		place: LinePlace{Position: 1, Waiting: 1, Seats: 2},
		want: []string{
			"the line stopped (licence team-a/cad is Expired) starts again: renew licence team-a/cad (a later spec.expiryDate)",
			"a Pod holding a seat of assignment render ends or is deleted",
			"spec.seats of assignment render is raised (licence team-a/cad must have the seats: 2/2 seats used)",
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := asg.DeepCopy()
			a.Status.State = v1.AssignmentStateBound
			l := lic(tc.state)
			c := Cover{Product: "cad", License: l, Assignment: a, Counted: true, Seats: 2}
			got := SeatWaitEnds(c, tc.place, LineState(tc.place.Used, a, l), tc.gang)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SeatWaitEnds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUseWaitEnds(t *testing.T) {
	reset := metav1.NewTime(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	l := &v1.SoftwareLicense{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "sim"},
		Status:     v1.SoftwareLicenseStatus{State: v1.LicenseStateActive, NextResetTime: &reset},
	}
	want := []string{
		"the consumption period of licence team-a/sim resets at 2026-04-01T00:00:00Z (status.nextResetTime): its uses count from zero again",
		"the limit of licence team-a/sim is raised (spec.overrides.consumption.maxConsumptions, allowOverages, or a feature's maxConsumption)",
	}
	if diff := cmp.Diff(want, UseWaitEnds(l)); diff != "" {
		t.Errorf("UseWaitEnds (-want +got):\n%s", diff)
	}
	l.Status.State, l.Status.NextResetTime = v1.LicenseStateSuspended, nil
	want = []string{
		"set spec.state Active on licence team-a/sim",
		"licence team-a/sim has no consumption.resetPeriod: its uses never reset",
		want[1],
	}
	if diff := cmp.Diff(want, UseWaitEnds(l)); diff != "" {
		t.Errorf("UseWaitEnds of a suspended licence (-want +got):\n%s", diff)
	}
}
