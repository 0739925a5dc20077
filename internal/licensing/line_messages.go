package licensing

import (
	"fmt"
	"strings"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// The words of the line: what a Pod that waits for a seat is told at
// admission (a warning), in the events the queue controller writes on it,
// and what a gang that can never start is refused with.

// LinePlace is where a Pod stands in the line of an assignment.
type LinePlace struct {
	// Position from 1, and Waiting the line's length.
	Position, Waiting int
	// Used seats of Seats; Holders name the Pods holding them (all in the
	// assignment's namespace, which is the waiting Pod's).
	Used    int
	Seats   int32
	Holders []string
	// Stopped says why the head of the line is not served.
	Stopped string
}

// maxHoldersNamed is how many holders a line message names.
const maxHoldersNamed = 5

// PlaceText is "position 2 of 4; 3/3 seats held by web-a, web-b, web-c".
func PlaceText(p LinePlace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "position %d of %d; %d/%d seats held", p.Position, p.Waiting, p.Used, p.Seats)
	if len(p.Holders) > 0 {
		h := p.Holders
		more := ""
		if len(h) > maxHoldersNamed {
			more = fmt.Sprintf(" and %d more", len(h)-maxHoldersNamed)
			h = h[:maxHoldersNamed]
		}
		fmt.Fprintf(&b, " by %s%s", strings.Join(h, ", "), more)
	}
	if p.Stopped != "" && !strings.HasPrefix(p.Stopped, noSeatFree) {
		// Full seats are said already; a gang or a blocked licence is not.
		fmt.Fprintf(&b, "; the line waits: %s", p.Stopped)
	}
	return b.String()
}

// WaitingMessage tells a Pod admitted into the line where it stands and
// what happens next.
func WaitingMessage(w *Workload, need ProductNeed, c Cover, p LinePlace) string {
	if p.Seats == 0 {
		p.Seats = c.Seats
	}
	return fmt.Sprintf("%s %s/%s waits in line for a seat of product %q on assignment %s (licence %s): %s. "+
		"It is admitted with the scheduling gate %s and starts when a seat frees; "+
		"to be refused instead, annotate it %s: Refuse",
		w.Kind, w.Namespace, w.Name, need.Product, c.Assignment.Name, LicenseKey(c.License), PlaceText(p),
		SeatGateName, WhenNoSeatAnnotationName)
}

// WaitingEventMessage is the note of the event on a waiting Pod.
func WaitingEventMessage(product, assignment, licence string, p LinePlace) string {
	return fmt.Sprintf("Waiting for a seat of product %q on assignment %s (licence %s): %s", product, assignment, licence, PlaceText(p))
}

// GangTooLargeMessage refuses a gang that asks for more seats at once than
// its assignment has: it could never start.
func GangTooLargeMessage(w *Workload, need ProductNeed, c Cover, g Gang) string {
	return fmt.Sprintf("%s %s/%s belongs to gang %s of %d Pods (annotation %s), which needs %d seats of product %q together, "+
		"but assignment %s (licence %s) has %d: the gang could never start. To fix: raise spec.seats of the assignment to at least %d, or make the gang smaller",
		w.Kind, w.Namespace, w.Name, g.Name, g.Size, GangAnnotationName, g.Size, need.Product,
		c.Assignment.Name, LicenseKey(c.License), c.Seats, g.Size)
}

// UseWaitingMessage tells a Pod admitted into the line of a licence's uses
// (its consumption limit is reached) where it stands and what happens next.
func UseWaitingMessage(w *Workload, l *licensingv1alpha1.SoftwareLicense, d UseDecision) string {
	return fmt.Sprintf("%s %s/%s waits in line for a use of licence %s: %s; position %d of %d. "+
		"It is admitted with the scheduling gate %s and starts when the consumption period resets; "+
		"to be refused instead, annotate it %s: Refuse",
		w.Kind, w.Namespace, w.Name, LicenseKey(l), strings.TrimSuffix(d.Message, "."), d.Position, d.Waiting,
		licensingv1alpha1.UseGate, WhenNoSeatAnnotationName)
}
