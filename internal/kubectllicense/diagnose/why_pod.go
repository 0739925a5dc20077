package diagnose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
)

// whyPod explains one Pod: the line it waits in, the line of uses it
// waits in, or why it does not wait for the operator.
func whyPod(ctx context.Context, r client.Reader, pod *corev1.Pod, now time.Time, out io.Writer) error {
	events, err := eventsOf(ctx, r, pod.Namespace, pod.UID)
	if err != nil {
		return err
	}
	v, err := readView(ctx, r, pod.Namespace)
	if err != nil {
		return err
	}
	w := licensing.WorkloadFromPodSpec(kindPod, pod.Name, pod.Namespace, pod.ObjectMeta, &pod.Spec, nil)
	switch {
	case licensing.SeatGated(pod):
		return whySeatWait(ctx, r, v, pod, &w, events, now, out)
	case licensing.HasSchedulingGate(pod, licensingv1alpha1.UseGate):
		return whyUseWait(v, pod, &w, out)
	}
	return whyNotWaiting(v, pod, &w, events, now, out)
}

// seatLine is the line a Pod waits in: the cover, and its place as the
// operator last told it (nil when it has not).
type seatLine struct {
	need  licensing.ProductNeed
	cover licensing.Cover
	// licence is the key of the cover's licence, also when the reader may not read it.
	licence string
	place   *licensing.LinePlace
	told    *corev1.Event
}

// findSeatLine finds the line of a gated Pod: the one its newest
// WaitingForSeat event names, else the one the webhook puts a Pod of its
// products in (licensing.LineOf of the covers from status).
func findSeatLine(v *view, w *licensing.Workload, events []corev1.Event) (seatLine, bool) {
	needs := v.needs(w)
	for _, e := range withReason(events, seats.EventWaitingForSeat) {
		ev, err := licensing.ParseWaitingEventMessage(e.Message)
		if err != nil {
			continue
		}
		need := licensing.ProductNeed{Product: ev.Product, Reason: "named by the operator's WaitingForSeat event"}
		for _, n := range needs {
			if n.Product == ev.Product {
				need = n
			}
		}
		c := v.lineCover(ev)
		licence := ev.Licence
		if c.License != nil {
			licence = licensing.LicenseKey(c.License)
		}
		return seatLine{need: need, cover: c, licence: licence, place: &ev.Place, told: &e}, true
	}
	for _, n := range needs {
		if line := licensing.LineOf(v.covers(w, n.Product)); line != nil {
			return seatLine{need: n, cover: *line, licence: licensing.LicenseKey(line.License)}, true
		}
	}
	return seatLine{}, false
}

func whySeatWait(ctx context.Context, r client.Reader, v *view, pod *corev1.Pod, w *licensing.Workload, events []corev1.Event, now time.Time, out io.Writer) error {
	line, ok := findSeatLine(v, w, events)
	if !ok {
		_, _ = fmt.Fprintf(out, "Pod %s/%s waits for a seat (scheduling gate %s), but its line is not known: the operator has written no WaitingForSeat event on it, "+
			"and no Bound LicenseAssignment of namespace %s covers it now (products needed: %s).\n"+
			"The operator removes the gate when it takes a seat for the Pod; if no assignment covers it, create one (kubectl license can-i -f says what the webhook would answer now).\n",
			pod.Namespace, pod.Name, licensingv1alpha1.SeatGate, pod.Namespace, productNames(v.needs(w)))
		return nil
	}
	c := line.cover
	place := licensing.LinePlace{}
	if line.place != nil {
		place = *line.place
		// The webhook's words for the place, with what the operator told it last.
		_, _ = fmt.Fprintln(out, licensing.WaitingMessage(w, line.need, c, place))
	} else {
		_, _ = fmt.Fprintf(out, "%s. Its place in line is not known: the operator has written no WaitingForSeat event on it yet (or the event expired).\n",
			licensing.WaitsInLine(w, line.need, c))
	}
	_, _ = fmt.Fprintln(out)

	gang, _ := licensing.ParseGang(pod.Annotations)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { _, _ = fmt.Fprintf(tw, "  %s:\t%s\n", k, v) }
	row("Gate", gateText(pod))
	row("Product", fmt.Sprintf("%s (%s)", line.need.Product, line.need.Reason))
	row("Assignment", assignmentText(v, c))
	row("Licence", licenceText(c.License, line.licence))
	if line.told != nil {
		row("Place", fmt.Sprintf("%s (told %s, event %s)", licensing.PlaceText(place), ago(now, eventTime(line.told)), seats.EventWaitingForSeat))
	}
	if gang.Size > 0 {
		row("Gang", gangText(ctx, r, pod, gang))
	}
	row("When no seat", fmt.Sprintf("%s (the licence's whenNoSeat, or the Pod's annotation %s)",
		licensing.WhenNoSeatOf(c.License, pod.Annotations), licensingv1alpha1.WhenNoSeatAnnotation))
	_ = tw.Flush()

	// What stops the line, as the queue controller decides it; a licence
	// the reader may not read stops nothing the reader can see.
	a := v.assignment(c.Assignment.Name)
	state := licensing.LineState(place.Used, a, c.License)
	if c.License == nil && a != nil && a.Status.State == licensingv1alpha1.AssignmentStateBound {
		state.Blocked = ""
	}
	_, _ = fmt.Fprintln(out, "\nIt starts when one of these happens:")
	for _, s := range licensing.SeatWaitEnds(c, place, state, gang) {
		_, _ = fmt.Fprintf(out, "  - %s\n", s)
	}
	return nil
}

// whyUseWait explains a Pod waiting in the line of a licence's uses.
func whyUseWait(v *view, pod *corev1.Pod, w *licensing.Workload, out io.Writer) error {
	var lic *licensingv1alpha1.SoftwareLicense
	for _, n := range v.needs(w) {
		for _, c := range v.covers(w, n.Product) {
			if lic == nil && licensing.CountsUses(c.License, w.Features) {
				lic = c.License
			}
		}
	}
	if lic == nil {
		_, _ = fmt.Fprintf(out, "Pod %s/%s waits for a use of a consumption licence (scheduling gate %s), but no licence that counts uses covers it now as far as you may read.\n",
			pod.Namespace, pod.Name, licensingv1alpha1.UseGate)
		return nil
	}
	_, _ = fmt.Fprintf(out, "Pod %s/%s waits in line for a use of licence %s: the licence's uses for this consumption period are all taken. "+
		"It is admitted with the scheduling gate %s, and the operator removes it when it takes a use for the Pod.\n\n",
		pod.Namespace, pod.Name, licensing.LicenseKey(lic), licensingv1alpha1.UseGate)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { _, _ = fmt.Fprintf(tw, "  %s:\t%s\n", k, v) }
	row("Gate", gateText(pod))
	row("Licence", licenceText(lic, licensing.LicenseKey(lic)))
	if cs := lic.Status.Consumption; cs != nil {
		row("Used", fmt.Sprintf("%d in this period (%d admitted, %d reported)", cs.Used, cs.Admitted, cs.Reported))
	}
	if t := lic.Status.NextResetTime; t != nil {
		row("Next reset", t.UTC().Format(time.RFC3339))
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(out, "\nIt starts when one of these happens:")
	for _, s := range licensing.UseWaitEnds(lic) {
		_, _ = fmt.Fprintf(out, "  - %s\n", s)
	}
	return nil
}

// whyNotWaiting explains a Pod without the operator's gates.
func whyNotWaiting(v *view, pod *corev1.Pod, w *licensing.Workload, events []corev1.Event, now time.Time, out io.Writer) error {
	key := pod.Namespace + "/" + pod.Name
	needs := v.needs(w)
	switch {
	case pod.Labels[licensingv1alpha1.LicensedLabel] == licensingv1alpha1.LicensedLabelValue:
		_, _ = fmt.Fprintf(out, "Pod %s is admitted with its licence (label %s=%s): it does not wait for a seat. Products: %s.\n",
			key, licensingv1alpha1.LicensedLabel, licensingv1alpha1.LicensedLabelValue, productNames(needs))
	case len(needs) == 0:
		_, _ = fmt.Fprintf(out, "Pod %s needs no licence: no annotation %s, and none of its images matches a product's spec.workloads.images.\n",
			key, licensingv1alpha1.ProductAnnotation)
	default:
		_, _ = fmt.Fprintf(out, "Pod %s needs products %s but was not admitted by the licensing webhook (no label %s): "+
			"it was created before the operator was installed, in a namespace the webhook does not see, or is managed by Kueue.\n",
			key, productNames(needs), licensingv1alpha1.LicensedLabel)
	}
	for _, reason := range []string{seats.EventSeatTaken, seats.EventUseTaken} {
		if taken := withReason(events, reason); len(taken) > 0 {
			_, _ = fmt.Fprintf(out, "It waited in line: %s (%s).\n", taken[0].Message, ago(now, eventTime(&taken[0])))
		}
	}
	others := make([]string, 0, len(pod.Spec.SchedulingGates))
	for _, g := range pod.Spec.SchedulingGates {
		others = append(others, g.Name)
	}
	if len(others) > 0 {
		_, _ = fmt.Fprintf(out, "It carries scheduling gates that are not the licensing operator's: %s.\n", strings.Join(others, ", "))
	}
	if pod.Status.Phase == corev1.PodPending {
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue && c.Message != "" {
				_, _ = fmt.Fprintf(out, "It is Pending for another reason: %s: %s\n", c.Reason, c.Message)
			}
		}
	}
	return nil
}

// gateText names the Pod's scheduling gates, the operator's first.
func gateText(pod *corev1.Pod) string {
	var ours, others []string
	for _, g := range pod.Spec.SchedulingGates {
		if g.Name == licensingv1alpha1.SeatGate || g.Name == licensingv1alpha1.UseGate {
			ours = append(ours, g.Name)
		} else {
			others = append(others, g.Name)
		}
	}
	text := strings.Join(ours, ", ") + " (removed by the operator when it takes the seat or use for the Pod)"
	if len(others) > 0 {
		text += "; also " + strings.Join(others, ", ")
	}
	return text
}

// assignmentText is "render: Bound, 2 seats, 3 Pods waiting".
func assignmentText(v *view, c licensing.Cover) string {
	a := v.assignment(c.Assignment.Name)
	if a == nil {
		return c.Assignment.Name + ": does not exist (any more)"
	}
	state := string(a.Status.State)
	if state == "" {
		state = "not bound yet"
	}
	text := fmt.Sprintf("%s: %s, %s, %s waiting (status.waitingPods)", a.Name, state,
		plural(int(licensing.AssignmentSeats(a)), "seat"), plural(int(a.Status.WaitingPods), "Pod"))
	if a.Status.State != licensingv1alpha1.AssignmentStateBound && a.Status.Message != "" {
		text += "; " + a.Status.Message
	}
	return text
}

// licenceText is "team-a/cad: Active, Concurrent, Hard enforcement, 2/2 seats used".
func licenceText(l *licensingv1alpha1.SoftwareLicense, key string) string {
	if l == nil {
		return key + ": not readable with your permissions"
	}
	s := l.Status.Seats
	seatsUsed := fmt.Sprintf("%d seats used, unlimited", s.Used)
	if s.Total != nil {
		seatsUsed = fmt.Sprintf("%d/%d seats used", s.Used, *s.Total)
	}
	return fmt.Sprintf("%s: %s, %s, %s enforcement, %s", licensing.LicenseKey(l), l.Status.State,
		licensing.SeatModelOf(l.Status.EffectivePolicy), licensing.EnforcementOf(l), seatsUsed)
}

// gangText is "train: 4 Pods start together; 2 of them wait in line".
func gangText(ctx context.Context, r client.Reader, pod *corev1.Pod, gang licensing.Gang) string {
	text := fmt.Sprintf("%s: %d Pods start together or not at all (annotation %s)", gang.Name, gang.Size, licensingv1alpha1.GangAnnotation)
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(pod.Namespace),
		client.MatchingLabels{licensingv1alpha1.LicensedLabel: licensingv1alpha1.LicensedLabelValue}); err != nil {
		return text
	}
	waiting := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if g, err := licensing.ParseGang(p.Annotations); err == nil && g.Name == gang.Name && licensing.SeatGated(p) {
			waiting++
		}
	}
	return text + fmt.Sprintf("; %d of them wait in line", waiting)
}

// plural is "1 seat" or "2 seats".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func productNames(needs []licensing.ProductNeed) string {
	if len(needs) == 0 {
		return "none found"
	}
	names := make([]string, 0, len(needs))
	for _, n := range needs {
		names = append(names, n.Product)
	}
	return strings.Join(names, ", ")
}
