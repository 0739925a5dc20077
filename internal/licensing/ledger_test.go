package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

const ledgerGrace = 30 * time.Second

func TestStaleLedgerEntries(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	old := now.Add(-time.Minute)
	young := now.Add(-ledgerGrace / 2)
	pod := func(name, uid string, created time.Time) *corev1.Pod {
		return utiltesting.MakePod(name, "team", uid, created).Obj()
	}
	cases := map[string]struct {
		entries licensingv1alpha1.SeatLedger
		pods    []*corev1.Pod
		want    map[string]DropReason
	}{
		"live Pod keeps its seat": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", old).Obj(),
			pods:    []*corev1.Pod{pod("p", "u1", old)},
		},
		"gone Pod past the grace is dropped": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", old).Obj(),
			want:    map[string]DropReason{"p": DropPodGone},
		},
		"gone Pod inside the grace is spared (it may still be on its way to storage)": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", young).Obj(),
		},
		"terminal Pod past the grace is dropped": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", old).Obj(),
			pods:    []*corev1.Pod{utiltesting.MakePod("p", "team", "u1", old).Phase(corev1.PodSucceeded).Obj()},
			want:    map[string]DropReason{"p": DropPodTerminal},
		},
		"failed Pod inside the grace is spared": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", young).Obj(),
			pods:    []*corev1.Pod{utiltesting.MakePod("p", "team", "u1", young).Phase(corev1.PodFailed).Obj()},
		},
		"Pod of the name created after entry+grace replaces it": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", old).Obj(),
			pods:    []*corev1.Pod{pod("p", "u2", now)},
			want:    map[string]DropReason{"p": DropPodReplaced},
		},
		"Pod of the name created before entry+grace may be the holder": {
			entries: *utiltesting.MakeSeatLedger("l", "team", "a").Entry("p", "u1", old).Obj(),
			pods:    []*corev1.Pod{pod("p", "u2", old.Add(-time.Second))},
		},
	}
	for name, c := range cases {
		byName := map[string]*corev1.Pod{}
		for _, p := range c.pods {
			byName[p.Name] = p
		}
		got := map[string]DropReason{}
		for _, d := range StaleLedgerEntries(c.entries.Spec.Entries, byName, now, ledgerGrace) {
			got[d.Entry.Pod] = d.Why
		}
		if c.want == nil {
			c.want = map[string]DropReason{}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: StaleLedgerEntries (-want +got):\n%s", name, diff)
		}
	}
}

func TestRecountSeatLedgers(t *testing.T) {
	const ns = "team"
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour)
	young := now.Add(-ledgerGrace / 2)
	conc := licence("conc", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	site := licence("site", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, "cad")
	site.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromAll}
	// a and b both cover Pods of ServiceAccount builder: a first (by name).
	a := bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/conc", 1)
	b := bound(utiltesting.MakeAssignment("b", ns).ServiceAccount("builder"), "team/conc", 2)
	builder := func(name, uid string) corev1.Pod {
		return *utiltesting.MakePod(name, ns, uid, old).Product("cad").ServiceAccount("builder").Obj()
	}
	ledgerA := func() *utiltesting.SeatLedgerWrapper { return utiltesting.MakeSeatLedger("seat-ledger-a", ns, "a") }
	ledgerB := func() *utiltesting.SeatLedgerWrapper { return utiltesting.MakeSeatLedger("seat-ledger-b", ns, "b") }
	added := func(pods ...string) []licensingv1alpha1.SeatLedgerEntry {
		var out []licensingv1alpha1.SeatLedgerEntry
		for _, p := range pods {
			out = append(out, licensingv1alpha1.SeatLedgerEntry{Pod: p, UID: "uid-" + p, Admitted: metav1.NewTime(now)})
		}
		return out
	}
	dropped := func(pod string, at time.Time, why DropReason) DroppedEntry {
		return DroppedEntry{Entry: licensingv1alpha1.SeatLedgerEntry{Pod: pod, UID: "uid-" + pod, Admitted: metav1.NewTime(at)}, Why: why}
	}

	cases := map[string]struct {
		pods    []corev1.Pod
		ledgers []licensingv1alpha1.SeatLedger
		lics    []licensingv1alpha1.SoftwareLicense
		asgs    []licensingv1alpha1.LicenseAssignment
		// releasing are the UIDs the seat releaser is releasing.
		releasing map[string]bool
		want      []LedgerRepair
	}{
		"ledger that matches the live Pods needs no repair": {
			pods:    []corev1.Pod{builder("p1", "uid-p1")},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("p1", "uid-p1", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
		},
		// The mutating Pod path writes the admission UID: the Pod is given
		// the entry it was admitted with, its UID written in, no repair.
		"an entry with the admission UID takes the stored Pod's UID": {
			pods:    []corev1.Pod{*utiltesting.MakePod("p1", ns, "uid-p1", young).Product("cad").ServiceAccount("builder").Obj()},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("p1", AdmissionUID("req-1"), young).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
			want: []LedgerRepair{{Assignment: "a", Holders: 1, Seats: 1,
				Adopted: []licensingv1alpha1.SeatLedgerEntry{{Pod: "p1", UID: "uid-p1", Admitted: metav1.NewTime(young)}}}},
		},
		"an admission UID is not given to a Pod of its name created long after": {
			pods:    []corev1.Pod{*utiltesting.MakePod("p1", ns, "uid-p1", now).Product("cad").ServiceAccount("builder").Obj()},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("p1", AdmissionUID("req-1"), old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
			want: []LedgerRepair{{Assignment: "a", Holders: 1, Seats: 1,
				Dropped: []DroppedEntry{{Entry: licensingv1alpha1.SeatLedgerEntry{Pod: "p1", UID: AdmissionUID("req-1"), Admitted: metav1.NewTime(old)}, Why: DropPodReplaced}},
				Added:   added("p1")}},
		},
		"entries removed by tampering are added back, beyond the seats": {
			pods:    []corev1.Pod{builder("p1", "uid-p1"), builder("p2", "uid-p2"), builder("p3", "uid-p3")},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("p1", "uid-p1", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
			want:    []LedgerRepair{{Assignment: "a", Added: added("p2", "p3"), Holders: 3, Seats: 1}},
		},
		"a deleted ledger is rebuilt for the first counted cover": {
			pods: []corev1.Pod{builder("p1", "uid-p1")},
			asgs: []licensingv1alpha1.LicenseAssignment{b, a},
			want: []LedgerRepair{{Assignment: "a", Added: added("p1"), Holders: 1, Seats: 1}},
		},
		"a Pod in the ledger of a later cover is not counted twice": {
			pods:    []corev1.Pod{builder("p1", "uid-p1")},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerB().Entry("p1", "uid-p1", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a, b},
		},
		"entries of gone Pods are dropped even when the ledger is not full": {
			pods:    []corev1.Pod{builder("p1", "uid-p1")},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerB().Entry("p1", "uid-p1", old).Entry("gone", "uid-gone", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{b},
			want:    []LedgerRepair{{Assignment: "b", Dropped: []DroppedEntry{dropped("gone", old, DropPodGone)}, Holders: 1, Seats: 2}},
		},
		"entries the seat releaser is releasing are left to it": {
			ledgers:   []licensingv1alpha1.SeatLedger{*ledgerB().Entry("gone", "uid-gone", old).Obj()},
			asgs:      []licensingv1alpha1.LicenseAssignment{b},
			releasing: map[string]bool{"uid-gone": true},
		},
		"a Pod the seat releaser has released is not put back although the view of Pods still shows it": {
			pods:      []corev1.Pod{builder("p1", "uid-p1")},
			ledgers:   []licensingv1alpha1.SeatLedger{*ledgerA().Obj()},
			asgs:      []licensingv1alpha1.LicenseAssignment{a},
			releasing: map[string]bool{"uid-p1": true},
		},
		"entries inside the admission grace are spared": {
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("coming", "uid-coming", young).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
		},
		"a replaced Pod's entry is dropped and the new Pod added": {
			pods:    []corev1.Pod{*utiltesting.MakePod("p1", ns, "uid-p1", now).Product("cad").ServiceAccount("builder").Obj()},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("p1", "uid-old", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
			want: []LedgerRepair{{Assignment: "a",
				Dropped: []DroppedEntry{{Entry: licensingv1alpha1.SeatLedgerEntry{Pod: "p1", UID: "uid-old", Admitted: metav1.NewTime(old)}, Why: DropPodReplaced}},
				Added:   added("p1"), Holders: 1, Seats: 1}},
		},
		"terminal Pods are not added and their entries dropped": {
			pods: []corev1.Pod{
				*utiltesting.MakePod("done", ns, "uid-done", old).Product("cad").ServiceAccount("builder").Phase(corev1.PodSucceeded).Obj(),
				*utiltesting.MakePod("failed", ns, "uid-failed", old).Product("cad").ServiceAccount("builder").Phase(corev1.PodFailed).Obj(),
			},
			ledgers: []licensingv1alpha1.SeatLedger{*ledgerA().Entry("done", "uid-done", old).Obj()},
			asgs:    []licensingv1alpha1.LicenseAssignment{a},
			want:    []LedgerRepair{{Assignment: "a", Dropped: []DroppedEntry{dropped("done", old, DropPodTerminal)}, Holders: 0, Seats: 1}},
		},
		"Pods no assignment covers are not added": {
			pods: []corev1.Pod{
				*utiltesting.MakePod("other-sa", ns, "uid-other-sa", old).Product("cad").ServiceAccount("x").Obj(),
				*utiltesting.MakePod("unlicensed", ns, "uid-unlicensed", old).ServiceAccount("builder").Obj(),
			},
			asgs: []licensingv1alpha1.LicenseAssignment{a},
		},
		"Pods that an uncounted cover admits are not added": {
			pods: []corev1.Pod{builder("p1", "uid-p1")},
			lics: []licensingv1alpha1.SoftwareLicense{conc, site},
			asgs: []licensingv1alpha1.LicenseAssignment{a},
		},
	}
	for name, c := range cases {
		lics := c.lics
		if lics == nil {
			lics = []licensingv1alpha1.SoftwareLicense{conc}
		}
		got := RecountSeatLedgers(RecountInput{
			Now: now, Grace: ledgerGrace, Namespace: ns,
			Pods: c.pods, Ledgers: c.ledgers, Releasing: c.releasing, Licenses: lics, Assignments: c.asgs,
		})
		if len(c.want) == 0 {
			c.want = []LedgerRepair{}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: RecountSeatLedgers (-want +got):\n%s", name, diff)
		}
	}
}

func TestRepairMessage(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	entry := func(p string) licensingv1alpha1.SeatLedgerEntry {
		return licensingv1alpha1.SeatLedgerEntry{Pod: p, UID: "u-" + p, Admitted: now}
	}
	cases := map[string]struct {
		r    LedgerRepair
		want []string
	}{
		"tampering undone, over-allocated": {
			r: LedgerRepair{Assignment: "a", Added: []licensingv1alpha1.SeatLedgerEntry{entry("p2"), entry("p3")}, Holders: 3, Seats: 1},
			want: []string{"Seat ledger repaired from the live Pods",
				"added 2 Pods that run on this assignment's seats without an entry (p2, p3)",
				"3 Pods now hold the 1 seat of this assignment: over-allocated by 2"},
		},
		"gone and finished Pods": {
			r:    LedgerRepair{Assignment: "a", Dropped: []DroppedEntry{{Entry: entry("x"), Why: DropPodGone}, {Entry: entry("y"), Why: DropPodTerminal}}, Holders: 1, Seats: 4},
			want: []string{"removed 1 entry of a Pod that does not exist, deleted or refused after its admission (x)", "removed 1 entry of a Pod that has finished (y)", "1 of 4 seats held"},
		},
		"long lists are cut": {
			r: LedgerRepair{Assignment: "a", Added: func() []licensingv1alpha1.SeatLedgerEntry {
				var out []licensingv1alpha1.SeatLedgerEntry
				for _, p := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
					out = append(out, entry(p))
				}
				return out
			}(), Holders: 12, Seats: 20},
			want: []string{"(a, b, c, d, e, f, g, h, i, j and 2 more)", "12 of 20 seats held"},
		},
	}
	for name, c := range cases {
		got := RepairMessage(c.r)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: RepairMessage = %q, want it to contain %q", name, got, w)
			}
		}
	}
}
