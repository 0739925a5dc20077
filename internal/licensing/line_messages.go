package licensing

import (
	"fmt"
	"regexp"
	"strconv"
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
	// Unnamed counts holders beyond Holders that are not named: a place
	// read back from its text (ParsePlaceText), which names the first
	// maxHoldersNamed holders and counts the rest.
	Unnamed int
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
		more := p.Unnamed
		if len(h) > maxHoldersNamed {
			more += len(h) - maxHoldersNamed
			h = h[:maxHoldersNamed]
		}
		fmt.Fprintf(&b, " by %s", strings.Join(h, ", "))
		if more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	if p.Stopped != "" && !strings.HasPrefix(p.Stopped, noSeatFree) {
		// Full seats are said already; a gang or a blocked licence is not.
		fmt.Fprintf(&b, "; the line waits: %s", p.Stopped)
	}
	return b.String()
}

// placeTextRE matches what PlaceText writes. Pod names hold no space, comma or semicolon.
var placeTextRE = regexp.MustCompile(`^position (\d+) of (\d+); (\d+)/(\d+) seats held` +
	`(?: by ([^ ,;]+(?:, [^ ,;]+)*)(?: and (\d+) more)?)?(?:; the line waits: (.*))?$`)

// ParsePlaceText reads a place back from the text PlaceText wrote: the
// place the queue controller told a waiting Pod in its WaitingForSeat
// event, for `kubectl license why` to word again with PlaceText and
// WaitingMessage (the CLI never reads the seat ledger). The holders beyond
// the named ones come back counted in Unnamed; a Stopped that PlaceText
// leaves out (every seat held) comes back empty. For every place p,
// PlaceText(ParsePlaceText(PlaceText(p))) is PlaceText(p).
func ParsePlaceText(s string) (LinePlace, error) {
	m := placeTextRE.FindStringSubmatch(s)
	if m == nil {
		return LinePlace{}, fmt.Errorf("not a place in line: %q", s)
	}
	var nums [5]int64
	for i, g := range []string{m[1], m[2], m[3], m[4], m[6]} {
		if g == "" {
			continue
		}
		n, err := strconv.ParseInt(g, 10, 32)
		if err != nil {
			return LinePlace{}, fmt.Errorf("not a place in line: %q: %w", s, err)
		}
		nums[i] = n
	}
	p := LinePlace{
		Position: int(nums[0]), Waiting: int(nums[1]), Used: int(nums[2]), Seats: int32(nums[3]),
		Unnamed: int(nums[4]), Stopped: m[7],
	}
	if m[5] != "" {
		p.Holders = strings.Split(m[5], ", ")
	}
	return p, nil
}

// WaitingMessage tells a Pod admitted into the line where it stands and
// what happens next: the admission warning of a Pod that waits, and the
// first words of `kubectl license why` on it.
func WaitingMessage(w *Workload, need ProductNeed, c Cover, p LinePlace) string {
	if p.Seats == 0 {
		p.Seats = c.Seats
	}
	return fmt.Sprintf("%s: %s. "+
		"It is admitted with the scheduling gate %s and starts when a seat frees; "+
		"to be refused instead, annotate it %s: Refuse",
		WaitsInLine(w, need, c), PlaceText(p), SeatGateName, WhenNoSeatAnnotationName)
}

// WaitsInLine says in whose line the workload waits: "Pod team-a/web-2
// waits in line for a seat of product "cad" on assignment render (licence
// team-a/cad)". c.License may be nil (a licence the reader cannot read).
func WaitsInLine(w *Workload, need ProductNeed, c Cover) string {
	licence := "unknown"
	if c.License != nil {
		licence = LicenseKey(c.License)
	}
	return fmt.Sprintf("%s %s/%s waits in line for a seat of product %q on assignment %s (licence %s)",
		w.Kind, w.Namespace, w.Name, need.Product, c.Assignment.Name, licence)
}

// WaitingEventMessage is the note of the event on a waiting Pod.
func WaitingEventMessage(product, assignment, licence string, p LinePlace) string {
	return fmt.Sprintf(waitingEventPrefix+"%q on assignment %s (licence %s): %s", product, assignment, licence, PlaceText(p))
}

const waitingEventPrefix = "Waiting for a seat of product "

// WaitingEvent is what a WaitingForSeat event tells a Pod: the line it
// waits in and its place there.
type WaitingEvent struct {
	Product, Assignment string
	// Licence is namespace/name, "" when the queue controller did not find it.
	Licence string
	Place   LinePlace
}

var waitingEventRE = regexp.MustCompile(`^ on assignment (\S+) \(licence (\S*)\): (.*)$`)

// ParseWaitingEventMessage reads back the note WaitingEventMessage wrote.
func ParseWaitingEventMessage(note string) (WaitingEvent, error) {
	rest, ok := strings.CutPrefix(note, waitingEventPrefix)
	if !ok {
		return WaitingEvent{}, fmt.Errorf("not a WaitingForSeat note: %q", note)
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return WaitingEvent{}, fmt.Errorf("not a WaitingForSeat note: %q: %w", note, err)
	}
	product, _ := strconv.Unquote(quoted)
	m := waitingEventRE.FindStringSubmatch(rest[len(quoted):])
	if m == nil {
		return WaitingEvent{}, fmt.Errorf("not a WaitingForSeat note: %q", note)
	}
	place, err := ParsePlaceText(m[3])
	if err != nil {
		return WaitingEvent{}, err
	}
	return WaitingEvent{Product: product, Assignment: m[1], Licence: m[2], Place: place}, nil
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

// SeatWaitEnds lists what would let a Pod waiting in the line of cover c
// start, in the words of `kubectl license why`: p is its place as the queue
// controller last told it (Position 0: not told), state the line's state
// (LineState, as the queue controller computes it), gang its gang (Size 0:
// none). A stopped line (its assignment is not Bound, its licence admits
// nothing) comes first, with what restarts it (unusableFix, the words of
// the refusals): nobody in the line starts before.
func SeatWaitEnds(c Cover, p LinePlace, state SeatState, gang Gang) []string {
	asg := c.Assignment.Name
	var out []string
	if state.Blocked != "" {
		fix := ""
		if c.License != nil && !UsableForAdmission(c.License.Status.State) {
			fix = unusableFix(Considered{License: LicenseKey(c.License), State: c.License.Status.State})
		}
		if fix == "" {
			fix = fmt.Sprintf("assignment %s is Bound again (its status.message says why it is not)", asg)
		}
		out = append(out, fmt.Sprintf("the line stopped (%s) starts again: %s", state.Blocked, fix))
	}
	switch ahead := p.Position - 1; {
	case ahead == 1:
		out = append(out, "the Pod ahead of it in line takes a seat first (higher priority first, then who joined first)")
	case ahead > 1:
		out = append(out, fmt.Sprintf("the %d Pods ahead of it in line take a seat first (higher priority first, then who joined first)", ahead))
	}
	if p.Seats > 0 && int(p.Seats)-p.Used >= max(int(gang.Size), 1) && p.Position <= 1 && state.Blocked == "" {
		// Seats are free for it: only its gang holds it back.
		return append(out, gangStarts(gang))
	}
	holders := fmt.Sprintf("a Pod holding a seat of assignment %s ends or is deleted", asg)
	if len(p.Holders) > 0 {
		holders += " (" + strings.Join(p.Holders, ", ")
		if p.Unnamed > 0 {
			holders += fmt.Sprintf(" and %d more", p.Unnamed)
		}
		holders += ")"
	}
	out = append(out, holders)
	raise := fmt.Sprintf("spec.seats of assignment %s is raised", asg)
	if c.License != nil {
		raise += fmt.Sprintf(" (licence %s must have the seats: %s)", LicenseKey(c.License), seatsText(&c.License.Status.Seats))
	}
	out = append(out, raise)
	if gang.Size > 0 {
		out = append(out, gangStarts(gang))
	}
	return out
}

func gangStarts(g Gang) string {
	return fmt.Sprintf("all %d Pods of gang %s are in line and %d seats are free together: the gang starts all at once", g.Size, g.Name, g.Size)
}

// UseWaitEnds lists what would let a Pod waiting in the line of licence
// l's uses (its consumption limit is reached) start, in the words of
// `kubectl license why`.
func UseWaitEnds(l *licensingv1alpha1.SoftwareLicense) []string {
	var out []string
	key := LicenseKey(l)
	if !UsableForAdmission(l.Status.State) {
		if fix := unusableFix(Considered{License: key, State: l.Status.State}); fix != "" {
			out = append(out, fix)
		}
	}
	if t := l.Status.NextResetTime; t != nil {
		out = append(out, fmt.Sprintf("the consumption period of licence %s resets at %s (status.nextResetTime): its uses count from zero again",
			key, t.UTC().Format("2006-01-02T15:04:05Z")))
	} else {
		out = append(out, fmt.Sprintf("licence %s has no consumption.resetPeriod: its uses never reset", key))
	}
	return append(out, fmt.Sprintf("the limit of licence %s is raised (spec.overrides.consumption.maxConsumptions, allowOverages, or a feature's maxConsumption)", key))
}
