package kubectllicense

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	webhookv1alpha1 "github.com/license-operator/license-operator/internal/webhook/v1alpha1"
)

// The plugin reads the operator's events by reason and note; these tests
// keep it reading what the operator writes.

func TestEventReasonsAreTheOperators(t *testing.T) {
	for _, c := range []struct{ plugin, operator string }{
		{EventWaitingForSeat, seats.EventWaitingForSeat},
		{EventSeatTaken, seats.EventSeatTaken},
		{DeletedByEvent, webhookv1alpha1.EventDeleted},
	} {
		if c.plugin != c.operator {
			t.Errorf("the plugin reads events of reason %q, the operator writes %q", c.plugin, c.operator)
		}
	}
}

func podEvent(uid, reason, note string, at time.Time) eventsv1.Event {
	return eventsv1.Event{
		Regarding: corev1.ObjectReference{Kind: "Pod", UID: types.UID(uid)},
		Reason:    reason, Note: note, EventTime: metav1.NewMicroTime(at),
	}
}

func TestParseSeatEvent(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	waiting := licensing.WaitingEventMessage("cad", "cad-seats.v2", "team-a/cad-pro", licensing.LinePlace{
		Position: 2, Waiting: 4, Used: 3, Seats: 3, Holders: []string{"web-a", "web-b", "web-c"},
	})
	// The note of the queue controller's SeatTaken event (internal/seats, QueueController.ungate).
	taken := fmt.Sprintf("Took a seat of product %q on assignment %s after %s in line; scheduling gate %s removed",
		"cad", "cad-seats", 1500*time.Millisecond, licensingv1alpha1.SeatGate)
	cases := map[string]struct {
		event eventsv1.Event
		want  SeatEvent
		ok    bool
	}{
		"waiting: the assignment and the place in line": {
			event: podEvent("u1", EventWaitingForSeat, waiting, at),
			want:  SeatEvent{Reason: EventWaitingForSeat, Assignment: "cad-seats.v2", Position: 2, Waiting: 4, Time: at},
			ok:    true,
		},
		"taken: the assignment, no place": {
			event: podEvent("u1", EventSeatTaken, taken, at),
			want:  SeatEvent{Reason: EventSeatTaken, Assignment: "cad-seats", Time: at},
			ok:    true,
		},
		"another reason":                  {event: podEvent("u1", "Scheduled", "on assignment x", at)},
		"a note that names no assignment": {event: podEvent("u1", EventWaitingForSeat, "something else", at)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseSeatEvent(&c.event)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("ParseSeatEvent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLatestSeatEvents(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	note := func(pos int) string {
		return licensing.WaitingEventMessage("cad", "a1", "ns/l", licensing.LinePlace{Position: pos, Waiting: 3, Seats: 1})
	}
	later := podEvent("u1", EventWaitingForSeat, note(1), t0.Add(time.Minute))
	series := podEvent("u2", EventWaitingForSeat, note(3), t0)
	series.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Hour))}
	notPod := podEvent("u3", EventWaitingForSeat, note(1), t0)
	notPod.Regarding.Kind = "SoftwareLicense"
	got := LatestSeatEvents([]eventsv1.Event{
		later,
		podEvent("u1", EventWaitingForSeat, note(2), t0),
		podEvent("u2", EventWaitingForSeat, note(2), t0.Add(time.Minute)),
		series,
		notPod,
	})
	want := map[types.UID]SeatEvent{
		"u1": {Reason: EventWaitingForSeat, Assignment: "a1", Position: 1, Waiting: 3, Time: t0.Add(time.Minute)},
		"u2": {Reason: EventWaitingForSeat, Assignment: "a1", Position: 3, Waiting: 3, Time: t0.Add(time.Hour)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LatestSeatEvents (-want +got):\n%s", diff)
	}
}

func TestDeletedBy(t *testing.T) {
	deleted := func(uid, note string) eventsv1.Event {
		return eventsv1.Event{Regarding: corev1.ObjectReference{Kind: "SoftwareLicense", UID: types.UID(uid)}, Reason: DeletedByEvent, Note: note}
	}
	events := []eventsv1.Event{
		deleted("other", licensing.DeletedByMessage("SoftwareLicense", "mallory", 0)),
		deleted("l1", licensing.DeletedByMessage("SoftwareLicense", "system:serviceaccount:ci:deployer", 2)),
		deleted("l2", licensing.DeletedByMessage("SoftwareLicense", "alice@example.com", 0)),
	}
	for uid, want := range map[string]string{"l1": "system:serviceaccount:ci:deployer", "l2": "alice@example.com", "l3": ""} {
		if got := DeletedBy(events, uid); got != want {
			t.Errorf("DeletedBy(%s) = %q, want %q", uid, got, want)
		}
	}
}
