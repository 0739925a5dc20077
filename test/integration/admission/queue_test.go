package admission

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// The line of issue 11 against the real API server: Pods that find no free
// Concurrent seat are admitted with the seat's scheduling gate and wait in
// the line of their assignment's SeatLedger; the queue controllers of both
// replicas serve it as seats free. Pods never run here (no scheduler, no
// kubelet): "ungated" is a Pod without the seat gate, "deleted" is gone at
// once (an unscheduled Pod has nothing to wait for).

// queueSA is the ServiceAccount whose Pods the assignment of a queue covers.
const queueSA = "runner"

// queue is a namespace with a product, a Hard Concurrent licence and the
// Bound assignment of queueSA whose line the tests fill.
type queue struct {
	ns, product, asg string
	lic              *licensingv1alpha1.SoftwareLicense
}

// newQueue makes a queue whose assignment holds asgSeats seats (as many as
// its licence), and waits until both replicas admit
// its Pods.
func newQueue(asgSeats int32) *queue {
	ns := newNamespace()
	q := &queue{ns: ns, product: ns + "-q", asg: "runners"}
	total := asgSeats
	createProduct(utiltesting.MakeProduct(q.product).Obj())
	q.lic = createLicence(utiltesting.MakeLicense("q", ns).Product(q.product).Obj(),
		kubecluster.LicenseStatus(active, conc, hard, ptr.To(total), q.product))
	createAssignment(utiltesting.MakeAssignment(q.asg, ns).License("q").ServiceAccount(queueSA).Seats(asgSeats).Obj(), kubecluster.BoundStatus(ns+"/q", asgSeats))
	eventuallyBothReplicasAdmit(func() client.Object { return q.pod("probe").Obj() })
	return q
}

// eventuallyBothReplicasAdmit waits until a dry run of the object is
// admitted four times in a row: the proxy alternates between the replicas,
// so both caches see what admits it.
func eventuallyBothReplicasAdmit(mk func() client.Object) {
	Eventually(func() error {
		for range 4 {
			if err := admitErr(mk(), client.DryRunAll); err != nil {
				return err
			}
		}
		return nil
	}).WithTimeout(timeout).Should(Succeed())
}

// pod is a Pod of the queue's product run by queueSA.
func (q *queue) pod(name string) *kubecluster.PodWrapper {
	return kubecluster.MakePod(name, q.ns).Product(q.product).ServiceAccount(queueSA)
}

// create creates the Pod, expects it admitted and returns the admission warnings.
func (q *queue) create(p *kubecluster.PodWrapper) []string {
	warnings, err := createWithWarnings(k8sClient, p.Obj())
	Expect(err).NotTo(HaveOccurred())
	return warnings
}

// createRetryingBusy creates the object; an answer that the ledger is busy
// (a request that waited out the webhook's deadline behind others on a
// loaded machine, which tells the client to retry) is retried, as a
// controller would.
func createRetryingBusy(o client.Object) (busy int, err error) {
	err = k8sClient.Create(ctx, o.DeepCopyObject().(client.Object))
	for ; err != nil && strings.Contains(err.Error(), "many admissions at once") && busy < 20; busy++ {
		err = k8sClient.Create(ctx, o.DeepCopyObject().(client.Object))
	}
	return busy, err
}

// pods are the names of the queue's Pods that have not finished, without
// and with the seat gate, sorted.
func (q *queue) pods() (ungated, gated []string) {
	list := &corev1.PodList{}
	Expect(k8sClient.List(ctx, list, client.InNamespace(q.ns))).To(Succeed())
	return splitGated(list)
}

func splitGated(list *corev1.PodList) (ungated, gated []string) {
	for i := range list.Items {
		p := &list.Items[i]
		switch {
		case licensing.PodTerminal(p):
		case licensing.SeatGated(p):
			gated = append(gated, p.Name)
		default:
			ungated = append(ungated, p.Name)
		}
	}
	slices.Sort(ungated)
	slices.Sort(gated)
	return ungated, gated
}

// line is the queue's line in order (licensing.LineOrder over spec.waiting).
func (q *queue) line() []string {
	w := seats.Line(seatLedgerOf(q.ns, q.asg), "")
	licensing.LineOrder(w)
	out := make([]string, 0, len(w))
	for _, x := range w {
		out = append(out, x.Pod)
	}
	return out
}

// holders are the Pods holding the queue's seats, sorted.
func (q *queue) holders() []string {
	var out []string
	for _, e := range seatLedgerOf(q.ns, q.asg).Spec.Entries {
		out = append(out, e.Pod)
	}
	slices.Sort(out)
	return out
}

func (q *queue) delete(names ...string) {
	for _, n := range names {
		Expect(k8sClient.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: q.ns}})).To(Succeed())
	}
}

// eventuallyUngated waits until exactly the named Pods are ungated.
func (q *queue) eventuallyUngated(names ...string) {
	want := slices.Sorted(slices.Values(names))
	Eventually(func() []string { u, _ := q.pods(); return u }).WithTimeout(timeout).Should(Equal(want))
}

// consistentlyGated checks for two seconds that the named Pods keep their gate.
func (q *queue) consistentlyGated(names ...string) {
	Consistently(func() []string {
		_, g := q.pods()
		return g
	}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(ContainElements(names))
}

// observer polls the Pods and the ledger of a queue in the background and
// keeps the first observation that check finds wrong.
type observer struct {
	stop, done chan struct{}
	mu         sync.Mutex
	violation  string
	polls      int
}

// observe starts polling q until Stop; check gets the ungated live Pods and
// the ledger and says what is wrong ("" when nothing).
func observe(q *queue, check func(ungated []string, l *licensingv1alpha1.SeatLedger) string) *observer {
	o := &observer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(o.done)
		for {
			list := &corev1.PodList{}
			l := &licensingv1alpha1.SeatLedger{}
			if k8sClient.List(ctx, list, client.InNamespace(q.ns)) == nil &&
				client.IgnoreNotFound(seats.GetLedger(ctx, k8sClient, q.ns, q.asg, l)) == nil {
				ungated, _ := splitGated(list)
				o.mu.Lock()
				o.polls++
				if v := check(ungated, l); v != "" && o.violation == "" {
					o.violation = v
				}
				o.mu.Unlock()
			}
			select {
			case <-o.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return o
}

// Stop ends the polling and expects it to have seen nothing wrong.
func (o *observer) Stop() {
	close(o.stop)
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	GinkgoWriter.Printf("observer: %d polls\n", o.polls)
	Expect(o.polls).To(BeNumerically(">", 0))
	Expect(o.violation).To(BeEmpty())
}

// atMost finds more than n ungated Pods or ledger entries wrong.
func atMost(n int) func([]string, *licensingv1alpha1.SeatLedger) string {
	return func(ungated []string, l *licensingv1alpha1.SeatLedger) string {
		if len(ungated) > n || len(l.Spec.Entries) > n {
			return fmt.Sprintf("%d ungated Pods (%v) and %d ledger entries, more than %d seats", len(ungated), ungated, len(l.Spec.Entries), n)
		}
		return ""
	}
}

var _ = Describe("Queueing for Concurrent seats", func() {
	Context("50 Pods against 10 seats", Ordered, func() {
		var q *queue
		var created []string
		BeforeAll(func() { q = newQueue(10) })

		It("admits the first 10 ungated and lines up the other 40 gated in creation order, each told its position", func() {
			for i := range 50 {
				// Names in another order than creation: the line must follow creation.
				name := fmt.Sprintf("p-%02d", (i*37)%50)
				warnings := q.create(q.pod(name))
				created = append(created, name)
				if i >= 10 {
					Expect(strings.Join(warnings, "\n")).To(ContainSubstring("position %d of %d;", i-9, i-9), "warning of %s", name)
				}
			}
			ungated, gated := q.pods()
			Expect(ungated).To(ConsistOf(created[:10]))
			Expect(gated).To(ConsistOf(created[10:]))
			Expect(q.holders()).To(ConsistOf(created[:10]))
			Expect(q.line()).To(Equal(created[10:]))
		})

		It("ungates exactly the next 3 in line when 3 holders are deleted, never more than 10 at once", func() {
			o := observe(q, atMost(10))
			start := time.Now()
			q.delete(created[:3]...)
			q.eventuallyUngated(created[3:13]...)
			GinkgoWriter.Printf("3 seats freed and taken in %s\n", time.Since(start))
			Expect(time.Since(start)).To(BeNumerically("<", 10*time.Second))
			o.Stop()
			Expect(q.holders()).To(ConsistOf(created[3:13]))
			Expect(q.line()).To(Equal(created[13:]))
		})
	})

	It("never lets more than 10 Pods hold the 10 seats across two replicas, under bursts of creates and deletes", func() {
		q := newQueue(10)
		served0, served1 := proxy.Requests[0].Load(), proxy.Requests[1].Load()
		o := observe(q, atMost(10))

		By("60 Pods created at once")
		var busy, failed atomic.Int32
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				defer GinkgoRecover()
				b, err := createRetryingBusy(q.pod(fmt.Sprintf("b-%02d", i)).Obj())
				busy.Add(int32(b))
				if err != nil {
					failed.Add(1)
					GinkgoWriter.Println("unexpected:", err)
				}
			})
		}
		wg.Wait()
		GinkgoWriter.Printf("%d busy answers retried\n", busy.Load())
		Expect(failed.Load()).To(BeZero(), "every Pod is admitted, holding a seat or in line")
		ungated, gated := q.pods()
		Expect(ungated).To(HaveLen(10))
		Expect(gated).To(HaveLen(50))
		Expect(proxy.Requests[0].Load()).To(BeNumerically(">", served0), "replica 0 served")
		Expect(proxy.Requests[1].Load()).To(BeNumerically(">", served1), "replica 1 served")

		deleteAll := func(names []string) {
			var wg sync.WaitGroup
			for _, n := range names {
				wg.Go(func() {
					defer GinkgoRecover()
					q.delete(n)
				})
			}
			wg.Wait()
		}
		By("5 holders deleted at once: 55 left, 10 of them hold the seats")
		deleteAll(ungated[:5])
		Eventually(func() []string { u, _ := q.pods(); return u }).WithTimeout(timeout).Should(HaveLen(10))

		By("48 more deleted at once, holders and waiters alike: the 7 left all hold a seat")
		ungated, gated = q.pods()
		deleteAll(append(ungated[:8:8], gated[:40]...))
		Eventually(func(g Gomega) {
			u, gt := q.pods()
			g.Expect(gt).To(BeEmpty())
			g.Expect(u).To(HaveLen(7))
		}).WithTimeout(timeout).Should(Succeed())
		// The releaser gives back the seats of the deleted holders as it sees them go.
		Eventually(q.holders).WithTimeout(timeout).Should(HaveLen(7))
		o.Stop()
		// And the places in line of the deleted waiters, each its own object,
		// as it sees them go.
		Eventually(q.line).WithTimeout(timeout).Should(BeEmpty())
	})

	Context("gangs", func() {
		gang := func(q *queue, name string, size, member int) *kubecluster.PodWrapper {
			return q.pod(fmt.Sprintf("%s-%d", name, member)).Annotation(licensingv1alpha1.GangAnnotation, fmt.Sprintf("%s/%d", name, size))
		}

		It("refuses at admission a gang larger than its assignment's seats, naming the gang annotation", func() {
			q := newQueue(3)
			msg := eventuallyDenied(func() client.Object { return gang(q, "big", 4, 0).Obj() },
				"gang big of 4 Pods", licensingv1alpha1.GangAnnotation, "has 3")
			GinkgoWriter.Println("denial:", msg)
			Expect(seatLedgerOf(q.ns, q.asg).Spec.Waiting).To(BeEmpty())

			By("a Job whose template makes every Pod such a gang member is refused too, and so is a malformed gang")
			job := func(name, gang string) client.Object {
				t := q.pod("").Annotation(licensingv1alpha1.GangAnnotation, gang).Template()
				t.Spec.RestartPolicy = corev1.RestartPolicyNever
				return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: q.ns},
					Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](4), Completions: ptr.To[int32](4), Template: t}}
			}
			Expect(admitErr(job("big", "big/4"))).To(MatchError(SatisfyAll(ContainSubstring("gang big of 4 Pods"), ContainSubstring("has 3"))))
			Expect(admitErr(job("bad", "big"))).To(MatchError(ContainSubstring("is not <name>/<size>")))
			Expect(admitErr(job("fits", "fits/3"))).To(Succeed())
		})

		It("keeps a gang of 4 gated while only 3 of 4 seats are free, and starts all 4 together once the fourth frees", func() {
			q := newQueue(4)
			q.create(q.pod("holder"))
			var members []string
			for i := range 4 {
				q.create(gang(q, "g", 4, i))
				members = append(members, fmt.Sprintf("g-%d", i))
			}
			q.consistentlyGated(members...)
			Expect(q.holders()).To(Equal([]string{"holder"}))

			// The seats are taken for the whole gang (one seat object each,
			// created together and undone together) before any of its Pods
			// is ungated.
			o := observe(q, func(ungated []string, l *licensingv1alpha1.SeatLedger) string {
				held, started := 0, 0
				for _, e := range l.Spec.Entries {
					if slices.Contains(members, e.Pod) {
						held++
					}
				}
				for _, p := range ungated {
					if slices.Contains(members, p) {
						started++
					}
				}
				if started > 0 && held != 4 {
					return fmt.Sprintf("%d of the gang's Pods ungated while %d of its 4 hold a seat", started, held)
				}
				return ""
			})
			q.delete("holder")
			q.eventuallyUngated(members...)
			o.Stop()
			Expect(q.holders()).To(Equal(members))
		})

		It("starts exactly one of two gangs of 3 on 4 free seats: the first to complete", func() {
			q := newQueue(4)
			for _, m := range []struct {
				gang   string
				member int
			}{{"a", 0}, {"b", 0}, {"a", 1}, {"b", 1}, {"a", 2}, {"b", 2}} {
				q.create(gang(q, m.gang, 3, m.member))
			}
			q.eventuallyUngated("a-0", "a-1", "a-2")
			q.consistentlyGated("b-0", "b-1", "b-2")
			u, _ := q.pods()
			Expect(u).To(Equal([]string{"a-0", "a-1", "a-2"}))
			Expect(q.holders()).To(Equal([]string{"a-0", "a-1", "a-2"}))
			Expect(q.line()).To(Equal([]string{"b-0", "b-1", "b-2"}))
		})
	})

	It("gives a freed seat to a higher-priority Pod that queued after a lower-priority one", func() {
		q := newQueue(1)
		low, high := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: q.ns + "-low"}, Value: 10},
			&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: q.ns + "-high"}, Value: 1000}
		for _, pc := range []*schedulingv1.PriorityClass{low, high} {
			Expect(k8sClient.Create(ctx, pc)).To(Succeed())
			DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, pc))).To(Succeed()) })
		}
		q.create(q.pod("holder"))
		lowPod := q.pod("low").Obj()
		lowPod.Spec.PriorityClassName = low.Name
		highPod := q.pod("high").Obj()
		highPod.Spec.PriorityClassName = high.Name
		Expect(k8sClient.Create(ctx, lowPod)).To(Succeed())
		Expect(k8sClient.Create(ctx, highPod)).To(Succeed())
		// The Priority admission plugin (on in envtest) set spec.priority from the class.
		Expect(highPod.Spec.Priority).To(HaveValue(BeEquivalentTo(1000)))
		Expect(lowPod.Spec.Priority).To(HaveValue(BeEquivalentTo(10)))
		Expect(q.line()).To(Equal([]string{"high", "low"}))

		q.delete("holder")
		q.eventuallyUngated("high")
		q.consistentlyGated("low")
		Expect(q.holders()).To(Equal([]string{"high"}))
	})

	It("keeps the line of an expired licence gated with the reason in spec.blocked, and serves it once Active again", func() {
		q := newQueue(1)
		q.create(q.pod("holder"))
		q.create(q.pod("waiter"))
		setLicenceState(q.lic, licensingv1alpha1.LicenseStateExpired)
		Eventually(func() string { return seatLedgerOf(q.ns, q.asg).Spec.Blocked }).WithTimeout(timeout).
			Should(Equal(fmt.Sprintf("licence %s/q is Expired", q.ns)))

		q.delete("holder")
		Eventually(func() []string { return q.holders() }).WithTimeout(timeout).Should(BeEmpty())
		q.consistentlyGated("waiter")
		Expect(q.holders()).To(BeEmpty())
		Expect(q.line()).To(Equal([]string{"waiter"}))
		Expect(seatLedgerOf(q.ns, q.asg).Spec.Blocked).To(ContainSubstring("is Expired"))

		setLicenceState(q.lic, active)
		q.eventuallyUngated("waiter")
		Expect(q.holders()).To(Equal([]string{"waiter"}))
		Expect(seatLedgerOf(q.ns, q.asg).Spec.Blocked).To(BeEmpty())
	})

	// The queue controller writes the ledger first and removes the gate
	// second. A replica that stopped between the two leaves a seat taken for
	// a gated Pod; every ledger is served when a replica starts (its create
	// event), so the seat is given to the Pod. The ledger created here with
	// that entry stands for the ledger a starting replica finds.
	It("removes the gate of a gated Pod that a ledger entry says holds a seat (crash between the ledger write and the ungating)", func() {
		q := newQueue(2)
		// The operator's own Pod writes skip the webhooks (not-the-operator),
		// as the gate and label it sets do.
		op, err := testEnv.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		opClient, err := client.New(op.Config(), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		stranded := q.pod("stranded").SchedulingGate(licensingv1alpha1.SeatGate).Label(licensingv1alpha1.LicensedLabel, "true").Obj()
		Expect(opClient.Create(ctx, stranded)).To(Succeed())
		Expect(licensing.SeatGated(stranded)).To(BeTrue(), "no webhook removed the gate")
		Expect(q.holders()).To(BeEmpty(), "no webhook took a seat")

		asg := &licensingv1alpha1.LicenseAssignment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: q.ns, Name: q.asg}, asg)).To(Succeed())
		l := seats.NewSeatLedger(asg, seats.LedgerName(q.asg))
		l.Spec.Entries = []licensingv1alpha1.SeatLedgerEntry{{Pod: stranded.Name, UID: string(stranded.UID), Admitted: metav1.Now()}}
		Expect(operatorClient.Create(ctx, l)).To(Succeed())
		q.eventuallyUngated("stranded")
		Expect(q.holders()).To(Equal([]string{"stranded"}))
	})

	It("refuses instead of queueing a Pod that asks for it, and every Pod when the policy says Refuse, which no Pod can turn into Queue", func() {
		q := newQueue(1)
		q.create(q.pod("holder"))
		err := admitErr(q.pod("refuser").Refuse().Obj())
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("1/1 seats in use"))
		Expect(q.line()).To(BeEmpty())

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(q.lic), q.lic)).To(Succeed())
		q.lic.Status.EffectivePolicy.WhenNoSeat = ptr.To(licensingv1alpha1.WhenNoSeatRefuse)
		Expect(k8sClient.Status().Update(ctx, q.lic)).To(Succeed())
		// Both replicas' caches must see the policy: refused four times in a
		// row. The probe is a dry run: a real create that a replica still on
		// Queue admitted would put a Pod "plain" in the line, and every later
		// "plain" would be refused for its name instead (a CI flake).
		Eventually(func(g Gomega) {
			for range 4 {
				g.Expect(admitErr(q.pod("plain").Obj(), client.DryRunAll)).To(MatchError(ContainSubstring("1/1 seats in use")))
			}
		}).WithTimeout(timeout).Should(Succeed())
		Expect(admitErr(q.pod("plain").Obj())).To(MatchError(ContainSubstring("1/1 seats in use")))
		err = admitErr(q.pod("asks-queue").Annotation(licensingv1alpha1.WhenNoSeatAnnotation, string(licensingv1alpha1.WhenNoSeatQueue)).Obj())
		Expect(err).To(MatchError(ContainSubstring("1/1 seats in use")))
		Expect(q.line()).To(BeEmpty())
		_, gated := q.pods()
		Expect(gated).To(BeEmpty())
	})

	It("tells a waiting Pod its position and the holders in a WaitingForSeat event, and again when its position changes", func() {
		q := newQueue(2)
		for _, n := range []string{"h-a", "h-b", "w-1", "w-2", "w-3"} {
			q.create(q.pod(n))
		}
		notes := func(pod string) []string {
			evs := &eventsv1.EventList{}
			Expect(k8sClient.List(ctx, evs, client.InNamespace(q.ns))).To(Succeed())
			var out []string
			for _, e := range evs.Items {
				if e.Regarding.Kind == "Pod" && e.Regarding.Name == pod && e.Reason == seats.EventWaitingForSeat {
					out = append(out, e.Note)
				}
			}
			return out
		}
		Eventually(func() []string { return notes("w-3") }).WithTimeout(timeout).Should(ContainElement(
			And(ContainSubstring("position 3 of 3;"), ContainSubstring("2/2 seats held by h-a, h-b"))))

		q.delete("h-a")
		q.eventuallyUngated("h-b", "w-1")
		Eventually(func() []string { return notes("w-3") }).WithTimeout(timeout).Should(ContainElement(
			And(ContainSubstring("position 2 of 2;"), ContainSubstring("2/2 seats held by h-b, w-1"))))
	})
})
