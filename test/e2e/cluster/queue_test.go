//go:build e2e

package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// concurrentSeats makes a namespace ns whose ServiceAccount sa holds seats
// Concurrent seats (Hard enforcement) of product, through an assignment
// named sa of a licence of licenceSeats; it returns the assignment once the
// operator has bound it.
func concurrentSeats(ns, product, sa string, licenceSeats, asgSeats int32) *licensingv1alpha1.LicenseAssignment {
	Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})).To(Succeed())
	Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).
		Policy(utiltesting.MakePolicy("std").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
		DefaultPolicy("std").Obj())).To(Succeed())
	Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("lic", ns).Product(product).Seats(licenceSeats).Obj())).To(Succeed())
	asg := utiltesting.MakeAssignment(sa, ns).License("lic").ServiceAccount(sa).Seats(asgSeats).Obj()
	Expect(k8sClient.Create(ctx, asg)).To(Succeed())
	By("waiting for the operator to bind the assignment")
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
		g.Expect(asg.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound), "assignment status: %+v", asg.Status)
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
	return asg
}

// ledgerOf reads the seat ledger of assignment asg live (empty before the
// first Pod created it).
func ledgerOf(g Gomega, ns, asg string) *licensingv1alpha1.SeatLedger {
	l := &licensingv1alpha1.SeatLedger{}
	err := seats.GetLedger(ctx, k8sClient, ns, asg, l)
	if apierrors.IsNotFound(err) {
		return &licensingv1alpha1.SeatLedger{}
	}
	g.Expect(err).NotTo(HaveOccurred())
	return l
}

// waitsForSeat says whether the Pod carries the seat gate and the scheduler
// reports it held back by its gates, as `kubectl get pods` shows it
// (SchedulingGated).
func waitsForSeat(p *corev1.Pod) bool {
	if !licensing.SeatGated(p) {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonSchedulingGated
		}
	}
	return false
}

// podEvents are the messages of the events of reason about the Pod pod.
func podEvents(g Gomega, ns, pod, reason string) []string {
	evs := &corev1.EventList{}
	g.Expect(k8sClient.List(ctx, evs, client.InNamespace(ns))).To(Succeed())
	var msgs []string
	for _, e := range evs.Items {
		if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == pod && e.Reason == reason {
			msgs = append(msgs, e.Message)
		}
	}
	return msgs
}

// ungatedAfter reads the Pod every 10 ms until its seat gate is gone and
// returns how long after start that was seen.
func ungatedAfter(ns, pod string, start time.Time) time.Duration {
	Eventually(func(g Gomega) bool {
		p := &corev1.Pod{}
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: pod}, p)).To(Succeed())
		return licensing.SeatGated(p)
	}).WithTimeout(30*time.Second).WithPolling(10*time.Millisecond).Should(BeFalse(), func() string {
		return fmt.Sprintf("Pod %s/%s still has the seat gate\n%s", ns, pod, podsState(ns))
	})
	return time.Since(start)
}

// holdsSeat says whether a Pod holds a seat as the cluster sees it: it was
// admitted without the seat gate or lost it, and it neither finished nor is
// being deleted.
func holdsSeat(p *corev1.Pod) bool {
	return !licensing.SeatGated(p) && p.DeletionTimestamp == nil && !licensing.PodTerminal(p)
}

// seatWatch follows Pods through one watch, so it sees their changes in
// the order the API server stored them, and records the most Pods holding
// a seat at once, the Pods that ever held one, and the order in which
// waiting Pods lost the seat gate.
type seatWatch struct {
	mu       sync.Mutex
	pods     map[string]*corev1.Pod
	seen     map[string]bool
	wasGated map[string]bool
	held     map[string]bool
	most     int
	ungated  []string
	ended    bool
}

// watchSeats starts a seatWatch of the Pods of ns matching labels; it ends
// with the spec.
func watchSeats(ns string, labels client.MatchingLabels) *seatWatch {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	wctx, stop := context.WithCancel(ctx)
	DeferCleanup(stop)
	w, err := wc.Watch(wctx, &corev1.PodList{}, client.InNamespace(ns), labels)
	Expect(err).NotTo(HaveOccurred())
	s := &seatWatch{pods: map[string]*corev1.Pod{}, seen: map[string]bool{}, wasGated: map[string]bool{}, held: map[string]bool{}}
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok {
				s.observe(ev.Type, p)
			}
		}
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
	}()
	return s
}

func (s *seatWatch) observe(t watch.EventType, p *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t == watch.Deleted {
		delete(s.pods, p.Name)
		return
	}
	s.pods[p.Name], s.seen[p.Name] = p, true
	if licensing.SeatGated(p) {
		s.wasGated[p.Name] = true
	} else if !s.held[p.Name] {
		s.held[p.Name] = true
		if s.wasGated[p.Name] {
			s.ungated = append(s.ungated, p.Name)
		}
	}
	n := 0
	for _, p := range s.pods {
		if holdsSeat(p) {
			n++
		}
	}
	s.most = max(s.most, n)
}

// seatRecord is what a seatWatch saw.
type seatRecord struct {
	// Most is the most Pods holding a seat at once.
	Most int
	// Seen are the Pods it saw, and Held those that held a seat, sorted.
	Seen, Held []string
	// Ungated are the Pods that waited in line, in the order they lost the gate.
	Ungated []string
	// Open says whether the watch is still open: the record is complete.
	Open bool
}

func (s *seatWatch) report() seatRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := seatRecord{Most: s.most, Ungated: slices.Clone(s.ungated), Open: !s.ended}
	for name := range s.seen {
		r.Seen = append(r.Seen, name)
	}
	for name := range s.held {
		r.Held = append(r.Held, name)
	}
	slices.Sort(r.Seen)
	slices.Sort(r.Held)
	return r
}

var _ = Describe("A licensed Job", func() {
	const (
		ns          = "e2e-job"
		product     = "e2e-solver"
		sa          = "solver"
		job         = "solve"
		parallelism = 3
		completions = 5
		seatCount   = 2
	)
	jobPods := client.MatchingLabels{batchv1.JobNameLabel: job}

	It("runs its Pods through the line in order, never more at once than its seats, and completes", func() {
		concurrentSeats(ns, product, sa, 5, seatCount)
		sw := watchSeats(ns, jobPods)
		j := kubecluster.MakeJob(job, parallelism, completions, kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa))
		// A Pod being deleted is replaced once it has finished, not before:
		// the Job controller counts it then, as the kubelet reports it.
		j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		Expect(k8sClient.Create(ctx, j)).To(Succeed())

		// Hollow nodes never finish a Pod. The test ends them by deleting
		// them, one at a time, the holder that took its seat first: the
		// hollow kubelet then reports the Pod Succeeded, and while the Job
		// has completions left the Job controller creates another Pod,
		// which joins the end of the line.
		var heads []string
		for ended := 0; ; ended++ {
			var (
				line    []licensing.Waiter
				holders []licensingv1alpha1.SeatLedgerEntry
				holding int
			)
			By(fmt.Sprintf("%d ended: Pods hold the seats and Run, the others wait in line, SchedulingGated", ended))
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
				active := min(parallelism, completions-int(j.Status.Succeeded))
				holding = min(seatCount, active)
				l := ledgerOf(g, ns, sa)
				holders = slices.Clone(l.Spec.Entries)
				line = seats.Line(l, "")
				licensing.LineOrder(line)
				g.Expect(holders).To(HaveLen(holding))
				g.Expect(line).To(HaveLen(active - holding))
				pods := &corev1.PodList{}
				g.Expect(k8sClient.List(ctx, pods, client.InNamespace(ns), jobPods)).To(Succeed())
				var running, gated []string
				for _, p := range pods.Items {
					switch {
					case waitsForSeat(&p):
						gated = append(gated, p.Name)
					case p.Status.Phase == corev1.PodRunning && holdsSeat(&p):
						running = append(running, p.Name)
					}
				}
				g.Expect(running).To(ConsistOf(podsOf(holders)), "Running Pods against the ledger's holders")
				g.Expect(gated).To(ConsistOf(waitersOf(line)), "gated Pods against the ledger's line")
			}).WithTimeout(2*time.Minute).WithPolling(200*time.Millisecond).Should(Succeed(), func() string { return podsState(ns) })
			if holding == 0 {
				break
			}

			slices.SortFunc(holders, func(a, b licensingv1alpha1.SeatLedgerEntry) int {
				return cmpTimeThenName(a.Admitted.Time, b.Admitted.Time, a.Pod, b.Pod)
			})
			end := holders[0].Pod
			deleted := time.Now()
			Expect(k8sClient.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: end}})).To(Succeed())
			if len(line) > 0 {
				head := line[0].Pod
				heads = append(heads, head)
				took := ungatedAfter(ns, head, deleted)
				AddReportEntry(fmt.Sprintf("%s deleted to %s, the head of the line, ungated", end, head), took, ReportEntryVisibilityAlways)
			}
		}

		By("the Job completes: every one of its Pods held a seat, they left the line in its order, and never more than 2 held seats at once")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(j), j)).To(Succeed())
			g.Expect(j.Status.Succeeded).To(BeEquivalentTo(completions))
			g.Expect(j.Status.Conditions).To(ContainElement(And(
				HaveField("Type", batchv1.JobComplete), HaveField("Status", corev1.ConditionTrue))))
		}).WithTimeout(time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), func() string { return podsState(ns) })
		r := sw.report()
		Expect(r.Open).To(BeTrue(), "the Pod watch ended early: its record is incomplete")
		Expect(r.Seen).To(HaveLen(completions + int(j.Status.Failed)))
		Expect(r.Held).To(Equal(r.Seen))
		Expect(r.Ungated).To(Equal(heads))
		Expect(heads).To(HaveLen(len(r.Seen) - seatCount))
		Expect(r.Most).To(Equal(seatCount))
		l := ledgerOf(Default, ns, sa)
		Expect(l.Spec.Entries).To(BeEmpty())
		Expect(l.Spec.Waiting).To(BeEmpty())
	})
})

// podsState describes the Pods, Jobs and seat ledgers of ns and the events of other kinds, for a failure message.
func podsState(ns string) string {
	var b strings.Builder
	pods := &corev1.PodList{}
	if err := k8sClient.List(ctx, pods, client.InNamespace(ns)); err == nil {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "Pod %s: phase %s, gated %t, deleting %t, finalizers %v\n", p.Name, p.Status.Phase, licensing.SeatGated(&p), p.DeletionTimestamp != nil, p.Finalizers)
		}
	}
	jobs := &batchv1.JobList{}
	if err := k8sClient.List(ctx, jobs, client.InNamespace(ns)); err == nil {
		for _, j := range jobs.Items {
			fmt.Fprintf(&b, "Job %s: %+v\n", j.Name, j.Status)
		}
	}
	evs := &corev1.EventList{}
	if err := k8sClient.List(ctx, evs, client.InNamespace(ns)); err == nil {
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind != "Pod" {
				fmt.Fprintf(&b, "Event on %s %s: %s %s\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
			}
		}
	}
	ledgers := &licensingv1alpha1.SeatLedgerList{}
	if err := k8sClient.List(ctx, ledgers, client.InNamespace(ns)); err == nil {
		for _, l := range ledgers.Items {
			fmt.Fprintf(&b, "SeatLedger %s: %+v\n", l.Name, l.Spec)
		}
	}
	return b.String()
}

func podsOf(entries []licensingv1alpha1.SeatLedgerEntry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Pod)
	}
	return out
}

func waitersOf(line []licensing.Waiter) []string {
	out := make([]string, 0, len(line))
	for _, w := range line {
		out = append(out, w.Pod)
	}
	return out
}

func cmpTimeThenName(a, b time.Time, an, bn string) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	return strings.Compare(an, bn)
}
