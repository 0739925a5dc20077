package diagnose

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// involvedUID is the field selector of the events of one object. The
// events of the events.k8s.io API (the operator's recorder) are core
// events too: their regarding object is involvedObject there.
const involvedUID = "involvedObject.uid"

// eventsOf lists the events of the object uid in namespace, newest first.
func eventsOf(ctx context.Context, r client.Reader, namespace string, uid types.UID) ([]corev1.Event, error) {
	list := &corev1.EventList{}
	if err := r.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{involvedUID: string(uid)}); err != nil {
		return nil, fmt.Errorf("listing the events of %s in namespace %s: %w", uid, namespace, err)
	}
	sort.SliceStable(list.Items, func(i, j int) bool { return eventTime(&list.Items[i]).After(eventTime(&list.Items[j])) })
	return list.Items, nil
}

// eventTime is when an event was last seen: the newest of its series, its
// last timestamp and its event time (legacy and events.k8s.io recorders
// fill different fields).
func eventTime(e *corev1.Event) time.Time {
	t := e.CreationTimestamp.Time
	for _, c := range []time.Time{e.FirstTimestamp.Time, e.LastTimestamp.Time, e.EventTime.Time} {
		if c.After(t) {
			t = c
		}
	}
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	return t
}

// eventCount is how many times an event was seen.
func eventCount(e *corev1.Event) int32 {
	switch {
	case e.Series != nil && e.Series.Count > 0:
		return e.Series.Count
	case e.Count > 0:
		return e.Count
	}
	return 1
}

// withReason are the events of reason, in their order.
func withReason(events []corev1.Event, reason string) []corev1.Event {
	var out []corev1.Event
	for _, e := range events {
		if e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// ago says how long before now t was, in whole seconds ("12s", "3m4s").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

// Refusal is an admission refusal found in a workload controller's
// FailedCreate event (the API server's error, which the controller writes
// after "Error creating: ").
type Refusal struct {
	// Webhook is the name of the webhook that refused ("" for a policy).
	Webhook string
	// Message is the webhook's own text.
	Message string
}

// deniedMarker is how the API server words a webhook's refusal: admission
// webhook "NAME" denied the request: MESSAGE.
const (
	deniedPrefix = `admission webhook "`
	deniedMarker = `" denied the request: `
)

// ParseRefusal finds the webhook's refusal in text (an API error, or an
// event note that carries one) and returns it; ok is false when text holds
// none.
func ParseRefusal(text string) (r Refusal, ok bool) {
	i := strings.Index(text, deniedPrefix)
	if i < 0 {
		return Refusal{}, false
	}
	rest := text[i+len(deniedPrefix):]
	name, msg, found := strings.Cut(rest, deniedMarker)
	if !found || strings.Contains(name, `"`) {
		return Refusal{}, false
	}
	return Refusal{Webhook: name, Message: msg}, true
}

// licensingWebhookSuffix ends the names of the operator's webhooks
// (config/webhook).
const licensingWebhookSuffix = ".licensing.license-operator.dev"

// IsLicensing says whether the refusal is the licensing operator's.
func (r Refusal) IsLicensing() bool { return strings.HasSuffix(r.Webhook, licensingWebhookSuffix) }
