package kubectllicense

import (
	"regexp"
	"strconv"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The queue controller writes an event on each Pod whose place in a line
// changes (seats.EventWaitingForSeat, with licensing.WaitingEventMessage)
// and on each Pod whose seat it took (seats.EventSeatTaken). They are the
// only record, outside the internal ledger, of which assignment's line a
// Pod is in: holders reads them, and its tests check the parsing against
// the functions that write the notes.

// The reasons of the queue controller's events (seats.EventWaitingForSeat
// and seats.EventSeatTaken; a test keeps them equal, so that the plugin
// need not link the operator's seat machinery).
const (
	EventWaitingForSeat = "WaitingForSeat"
	EventSeatTaken      = "SeatTaken"
)

// SeatEvent is what the latest seat event of a Pod says.
type SeatEvent struct {
	// Reason is EventWaitingForSeat or EventSeatTaken.
	Reason string
	// Assignment is the name of the assignment whose seat the Pod waits for or took.
	Assignment string
	// Position and Waiting are the place in line and its length (WaitingForSeat).
	Position, Waiting int
	// Time is when the event was last observed.
	Time time.Time
}

var (
	assignmentInNote = regexp.MustCompile(`on assignment ([^\s()]+)`)
	positionInNote   = regexp.MustCompile(`position (\d+) of (\d+)`)
)

// ParseSeatEvent reads a seat event of the queue controller; false for any
// other event.
func ParseSeatEvent(e *eventsv1.Event) (SeatEvent, bool) {
	if e.Reason != EventWaitingForSeat && e.Reason != EventSeatTaken {
		return SeatEvent{}, false
	}
	m := assignmentInNote.FindStringSubmatch(e.Note)
	if m == nil {
		return SeatEvent{}, false
	}
	out := SeatEvent{Reason: e.Reason, Assignment: m[1], Time: eventTime(e)}
	if p := positionInNote.FindStringSubmatch(e.Note); p != nil && e.Reason == EventWaitingForSeat {
		out.Position, _ = strconv.Atoi(p[1])
		out.Waiting, _ = strconv.Atoi(p[2])
	}
	return out, true
}

// LatestSeatEvents is the latest seat event of each Pod, by the Pod's UID
// (a Pod of the same name created later is another Pod).
func LatestSeatEvents(events []eventsv1.Event) map[types.UID]SeatEvent {
	out := map[types.UID]SeatEvent{}
	for i := range events {
		e := &events[i]
		if e.Regarding.Kind != "Pod" {
			continue
		}
		s, ok := ParseSeatEvent(e)
		if !ok {
			continue
		}
		if prev, ok := out[e.Regarding.UID]; !ok || s.Time.After(prev.Time) {
			out[e.Regarding.UID] = s
		}
	}
	return out
}

// eventTime is when an event (or the last of its series) was observed.
func eventTime(e *eventsv1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}
