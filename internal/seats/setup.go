// Package seats keeps the seats and uses that admission takes: the seat
// ledgers of Concurrent assignments (Ledger) with the line of Pods waiting
// for a seat, the use ledgers of consumption licences (UseLedger), and the
// controllers that keep them true: the seat releaser (a Pod gone or
// finished gives its seat back), the seat recount (the ledgers repaired from
// the live Pods), the use recount, and the queue controller (a freed seat
// goes to the first Pod in line, whose scheduling gate it removes). Who may
// take the next seat is decided by one pure function,
// licensing.TakeSeats; this package reads, stores and swaps. The admission
// webhooks (internal/webhook/workload) and the Kueue integration call it.
package seats

import (
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LedgerGrace is how long a ledger entry is kept for a Pod that does not exist
// yet: the Pod is admitted before it is stored, and a later admission plugin
// may still refuse it.
const LedgerGrace = 30 * time.Second

// Rooms are the ledgers the admission webhooks take seats and uses from.
type Rooms struct {
	Ledger *Ledger
	Uses   *UseLedger
}

// SetupWithManager makes the ledgers, which read and write through lc (a
// client without a cache or a client-side rate limit), and registers the
// seat releaser, the seat recount, the use recount and the queue controller.
func SetupWithManager(mgr ctrl.Manager, lc client.Client, clk clock.Clock) (Rooms, error) {
	ledger := &Ledger{Reader: lc, Writer: lc, Clock: clk, Grace: LedgerGrace}
	uses := &UseLedger{Reader: lc, Writer: lc, Clock: clk, Recorder: mgr.GetEventRecorder("license-operator-admission")}
	rel := &releasing{now: time.Now}
	releaser := &SeatReleaser{Cache: mgr.GetClient(), Reader: lc, Ledger: ledger, Grace: LedgerGrace, releasing: rel}
	if err := releaser.SetupWithManager(mgr); err != nil {
		return Rooms{}, err
	}
	recounter := &SeatRecounter{
		Cache: mgr.GetClient(), Reader: lc, Writer: lc, Clock: clk, Grace: LedgerGrace,
		Recorder:  mgr.GetEventRecorder("license-operator-seat-recount"),
		releasing: rel, licensed: releaser.needsLicence,
	}
	if err := recounter.SetupWithManager(mgr); err != nil {
		return Rooms{}, err
	}
	if err := (&UseRecounter{Cache: mgr.GetClient(), Reader: lc, Writer: lc, Clock: clk, Grace: LedgerGrace}).SetupWithManager(mgr); err != nil {
		return Rooms{}, err
	}
	queue := &QueueController{
		Cache: mgr.GetClient(), Reader: lc, Writer: lc, Ledger: ledger, Clock: clk, Grace: LedgerGrace,
		Recorder: mgr.GetEventRecorder("license-operator-seat-queue"),
	}
	if err := queue.SetupWithManager(mgr); err != nil {
		return Rooms{}, err
	}
	return Rooms{Ledger: ledger, Uses: uses}, nil
}
