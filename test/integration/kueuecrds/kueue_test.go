package kueuecrds

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kueue"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// team is a namespace with a licence of seats Concurrent Hard seats of its
// product, and the assignment "solvers" of them all to the ServiceAccount
// sim, Bound by the operator's controllers.
type team struct {
	ns, product, licence string
	asg                  *licensingv1alpha1.LicenseAssignment
}

func newTeam(seatCount int32) team {
	ns := newNamespace()
	t := team{ns: ns, product: ns + "-cfd-solver", licence: "hpc-2026"}
	Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(t.product).
		Policy(utiltesting.MakePolicy("float").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
		DefaultPolicy("float").Obj())).To(Succeed())
	Expect(k8sClient.Create(ctx, utiltesting.MakeLicense(t.licence, ns).Product(t.product).Seats(seatCount).Obj())).To(Succeed())
	t.asg = utiltesting.MakeAssignment("solvers", ns).License(t.licence).ServiceAccount("sim").Seats(seatCount).Obj()
	Expect(k8sClient.Create(ctx, t.asg)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(t.asg), t.asg)).To(Succeed())
		g.Expect(t.asg.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound))
	}).Should(Succeed())
	Expect(k8sClient.Create(ctx, kubecluster.MakeLocalQueue("batch", ns, "batch"))).To(Succeed())
	return t
}

// pod is a Pod of the team's ServiceAccount that needs its product.
func (t team) pod(name string) *kubecluster.PodWrapper {
	return kubecluster.MakePod(name, t.ns).Product(t.product).ServiceAccount("sim")
}

// job creates a suspended Job of parallelism Pods, as Kueue keeps one
// until its Workload is admitted, and its Workload (as Kueue makes it),
// queued on the ClusterQueue whose check is checkName.
func (t team) job(name string, parallelism int32) (*batchv1.Job, *kueuev1beta2.Workload) {
	job := kubecluster.MakeJob(name, parallelism, parallelism, t.pod(""))
	job.Spec.Suspend = ptr.To(true)
	job.Labels = map[string]string{kueue.QueueNameLabel: "batch"}
	Expect(k8sClient.Create(ctx, job)).To(Succeed())
	wl := kubecluster.MakeWorkload("job-"+name, t.ns, "batch").PodSet("main", parallelism, t.pod("")).
		ControlledBy("batch/v1", "Job", job.Name, job.UID).Obj()
	Expect(k8sClient.Create(ctx, wl)).To(Succeed())
	asKueue(wl, func(w *kueuev1beta2.Workload) { kubecluster.KueueQueued(w, time.Now(), checkName) })
	return job, wl
}

// asKueue changes a Workload's status as Kueue would, retried on conflicts
// with the operator's own writes.
func asKueue(wl *kueuev1beta2.Workload, change func(*kueuev1beta2.Workload)) {
	Eventually(func() error {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(wl), wl); err != nil {
			return err
		}
		change(wl)
		return k8sClient.Status().Update(ctx, wl)
	}).Should(Succeed())
}

// reserveQuota is Kueue reserving quota for the Workload on ClusterQueue batch.
func reserveQuota(wl *kueuev1beta2.Workload) {
	asKueue(wl, func(w *kueuev1beta2.Workload) { kubecluster.KueueReserveQuota(w, "batch", time.Now(), nil) })
}

// check is the Workload's state of checkName.
func check(g Gomega, wl *kueuev1beta2.Workload) kueuev1beta2.AdmissionCheckState {
	got := &kueuev1beta2.Workload{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(wl), got)).To(Succeed())
	c := kubecluster.CheckOf(got, checkName)
	g.Expect(c).NotTo(BeNil())
	return *c
}

func expectCheck(wl *kueuev1beta2.Workload, state kueuev1beta2.CheckState, message ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		c := check(g, wl)
		g.Expect(c.State).To(Equal(state), c.Message)
		for _, m := range message {
			g.Expect(c.Message).To(ContainSubstring(m))
		}
	}).Should(Succeed())
}

// ledger is the team's assignment's seat ledger, read live (merged from its
// objects; empty when no object of it exists: no seat is held).
func (t team) ledger(g Gomega) *licensingv1alpha1.SeatLedger {
	l := &licensingv1alpha1.SeatLedger{}
	if err := seats.GetLedger(ctx, k8sClient, t.ns, "solvers", l); !apierrors.IsNotFound(err) {
		g.Expect(err).To(Succeed())
	}
	return l
}

// reservation is the ledger's reservation of the Workload, or nil.
func reservation(l *licensingv1alpha1.SeatLedger, wl *kueuev1beta2.Workload) *licensingv1alpha1.SeatLedgerReservation {
	for i := range l.Spec.Reservations {
		if types.UID(l.Spec.Reservations[i].UID) == wl.UID {
			return &l.Spec.Reservations[i]
		}
	}
	return nil
}

// podOf is a Pod of the Job, as the Job controller makes it.
func (t team) podOf(job *batchv1.Job, name string) *corev1.Pod {
	p := t.pod(name).Label(kueue.PodSetLabel, "main").Obj()
	p.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	return p
}

// eventsOf are the notes of the events of reason about the object named name.
func eventsOf(g Gomega, ns, name, reason string) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}

func gated(p *corev1.Pod) bool { return licensing.SeatGated(p) }

var _ = Describe("The Kueue AdmissionCheck, against Kueue's CRDs without the Kueue manager (the test writes what Kueue would)", func() {
	It("starts once Kueue's CRDs are installed after the operator, and keeps its AdmissionCheck Active", func() {
		Expect(crdsInstalledAfterStart).To(BeTrue(), "the suite installs Kueue's CRDs after starting the operator")
		Eventually(func(g Gomega) {
			ac := &kueuev1beta2.AdmissionCheck{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Name: checkName}, ac)).To(Succeed())
			c := apimeta.FindStatusCondition(ac.Status.Conditions, kueuev1beta2.AdmissionCheckActive)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(kueue.ReasonActive))
		}).Should(Succeed())

		By("an AdmissionCheck of another controller is left alone")
		other := kubecluster.MakeAdmissionCheck("provisioning", kueue.ControllerName)
		other.Spec.ControllerName = "kueue.x-k8s.io/provisioning-request"
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
			g.Expect(other.Status.Conditions).To(BeEmpty())
		}).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("reserves the seats of a Workload within them once Kueue reserved its quota; its Pods ride them, a Pod beyond them does not", func() {
		t := newTeam(4)
		job, wl := t.job("sim-a", 3)

		By("before Kueue reserves quota, nothing is reserved")
		Consistently(func(g Gomega) {
			g.Expect(check(g, wl).State).To(Equal(kueuev1beta2.CheckStatePending))
		}).WithTimeout(time.Second).Should(Succeed())

		By("Kueue reserves quota: the three seats are reserved together, and the check is Ready")
		reserveQuota(wl)
		expectCheck(wl, kueuev1beta2.CheckStateReady, "licence seats reserved: 3 on assignment solvers")
		Eventually(func(g Gomega) {
			l := t.ledger(g)
			r := reservation(l, wl)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Count).To(Equal(int32(3)))
			g.Expect(r.PodSet).To(Equal("main"))
			g.Expect(l.Spec.Entries).To(BeEmpty())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(wl), wl)).To(Succeed())
			c := apimeta.FindStatusCondition(wl.Status.Conditions, kueue.ConditionSeats)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(eventsOf(g, t.ns, wl.Name, kueue.ReasonSeatsReserved)).NotTo(BeEmpty())
		}).Should(Succeed())

		By("the assignment and the licence show the seats reserved")
		Eventually(func(g Gomega) {
			a := &licensingv1alpha1.LicenseAssignment{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(t.asg), a)).To(Succeed())
			g.Expect(a.Status.ReservedByWorkloads).To(Equal(int32(3)))
			l := &licensingv1alpha1.SoftwareLicense{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: t.ns, Name: t.licence}, l)).To(Succeed())
			g.Expect(l.Status.Seats.ReservedByWorkloads).To(Equal(int32(3)))
		}).Should(Succeed())

		By("the Job's three Pods, created by the Job controller, ride the reservation: no seat of their own, no gate")
		for i := range 3 {
			p := t.podOf(job, fmt.Sprintf("sim-a-%d", i))
			Expect(jobClient.Create(ctx, p)).To(Succeed())
			Expect(gated(p)).To(BeFalse())
			Expect(p.Labels).To(HaveKeyWithValue(licensingv1alpha1.LicensedLabel, licensingv1alpha1.LicensedLabelValue))
		}
		Eventually(func(g Gomega) {
			l := t.ledger(g)
			g.Expect(l.Spec.Entries).To(BeEmpty())
			g.Expect(reservation(l, wl).Rides).To(HaveLen(3))
			g.Expect(licensing.HeldSeats(&l.Spec)).To(Equal(3))
		}).Should(Succeed())

		By("a Pod beyond the count is no free rider: it takes the one free seat, and the next waits in line")
		extra := t.podOf(job, "sim-a-3")
		Expect(jobClient.Create(ctx, extra)).To(Succeed())
		Expect(gated(extra)).To(BeFalse())
		waiting := t.podOf(job, "sim-a-4")
		Expect(jobClient.Create(ctx, waiting)).To(Succeed())
		Expect(gated(waiting)).To(BeTrue())
		l := t.ledger(Default)
		Expect(l.Spec.Entries).To(ConsistOf(HaveField("Pod", "sim-a-3")))
		Expect(reservation(l, wl).Rides).To(HaveLen(3))

		By("a Pod a person creates with the Job as its controller does not ride either")
		Expect(k8sClient.Delete(ctx, extra)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Entries).To(ConsistOf(HaveField("Pod", "sim-a-4"))) }).Should(Succeed())
		forged := t.podOf(job, "forged")
		Expect(k8sClient.Create(ctx, forged)).To(Succeed())
		Expect(gated(forged)).To(BeTrue())
	})

	It("keeps a Workload over the seats Pending, then Retry with the reason; reserves them once they free", func() {
		t := newTeam(4)
		_, first := t.job("first", 3)
		reserveQuota(first)
		expectCheck(first, kueuev1beta2.CheckStateReady)

		_, second := t.job("second", 3)
		reserveQuota(second)
		msg := fmt.Sprintf("needs 3 seats of %s (pod set main); 1 free on licence %s/%s", t.product, t.ns, t.licence)
		expectCheck(second, kueuev1beta2.CheckStatePending, msg)
		Eventually(func(g Gomega) {
			g.Expect(eventsOf(g, t.ns, second.Name, kueue.ReasonWaitingForSeats)).NotTo(BeEmpty())
		}).Should(Succeed())
		Expect(reservation(t.ledger(Default), second)).To(BeNil(), "nothing is held while it waits")

		By("the seat wait passes: Retry, with the reason")
		expectCheck(second, kueuev1beta2.CheckStateRetry, "waited 3s for licence seats", msg)
		Eventually(func(g Gomega) {
			g.Expect(eventsOf(g, t.ns, second.Name, kueue.ReasonSeatsBusy)).NotTo(BeEmpty())
		}).Should(Succeed())

		By("Kueue releases its quota; the first Workload is deleted and its seats go back")
		asKueue(second, func(w *kueuev1beta2.Workload) { kubecluster.KueueReleaseQuota(w, time.Now(), "Pending") })
		Expect(k8sClient.Delete(ctx, first)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Reservations).To(BeEmpty()) }).Should(Succeed())

		By("Kueue reserves quota again: the seats are free, the check is Ready")
		reserveQuota(second)
		expectCheck(second, kueuev1beta2.CheckStateReady)
		Expect(reservation(t.ledger(Default), second)).NotTo(BeNil())
	})

	It("rejects a Workload that needs more seats than its assignment holds", func() {
		t := newTeam(4)
		_, wl := t.job("too-big", 5)
		reserveQuota(wl)
		expectCheck(wl, kueuev1beta2.CheckStateRejected, "pod set main needs 5 seats of "+t.product+"; assignment solvers holds 4")
		Eventually(func(g Gomega) {
			g.Expect(eventsOf(g, t.ns, wl.Name, kueue.ReasonSeatsNeverFit)).NotTo(BeEmpty())
		}).Should(Succeed())
		l := &licensingv1alpha1.SeatLedger{}
		err := seats.GetLedger(ctx, k8sClient, t.ns, "solvers", l)
		if err == nil {
			Expect(l.Spec.Reservations).To(BeEmpty())
		}
	})

	It("releases the seats of a finished Workload only once its Pods are gone, and of a deleted one", func() {
		t := newTeam(4)
		job, wl := t.job("done", 2)
		reserveQuota(wl)
		expectCheck(wl, kueuev1beta2.CheckStateReady)
		pods := []*corev1.Pod{t.podOf(job, "done-0"), t.podOf(job, "done-1")}
		for _, p := range pods {
			Expect(jobClient.Create(ctx, p)).To(Succeed())
		}
		Eventually(func(g Gomega) { g.Expect(reservation(t.ledger(g), wl).Rides).To(HaveLen(2)) }).Should(Succeed())

		By("the Workload finishes while a Pod still terminates: the seats stay")
		Expect(k8sClient.Delete(ctx, pods[0])).To(Succeed())
		asKueue(wl, func(w *kueuev1beta2.Workload) {
			kubecluster.KueueSetCondition(w, kueuev1beta2.WorkloadFinished, kueuev1beta2.WorkloadFinishedReasonSucceeded, time.Now())
		})
		Eventually(func(g Gomega) { g.Expect(reservation(t.ledger(g), wl).Rides).To(HaveLen(1)) }).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(reservation(t.ledger(g), wl)).NotTo(BeNil()) }).WithTimeout(2 * time.Second).Should(Succeed())

		By("its last Pod is gone: the seats go back")
		Expect(k8sClient.Delete(ctx, pods[1])).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Reservations).To(BeEmpty()) }).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(eventsOf(g, t.ns, wl.Name, kueue.ReasonSeatsReleased)).NotTo(BeEmpty())
			a := &licensingv1alpha1.LicenseAssignment{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(t.asg), a)).To(Succeed())
			g.Expect(a.Status.ReservedByWorkloads).To(BeZero())
		}).Should(Succeed())

		By("a Workload deleted while it holds seats and has no Pod gives them back")
		_, gone := t.job("gone", 3)
		reserveQuota(gone)
		expectCheck(gone, kueuev1beta2.CheckStateReady)
		Expect(k8sClient.Delete(ctx, gone)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Reservations).To(BeEmpty()) }).Should(Succeed())

		By("an evicted Workload gives its seats back")
		_, evicted := t.job("evicted", 1)
		reserveQuota(evicted)
		expectCheck(evicted, kueuev1beta2.CheckStateReady)
		asKueue(evicted, func(w *kueuev1beta2.Workload) {
			kubecluster.KueueSetCondition(w, kueuev1beta2.WorkloadEvicted, "Preempted", time.Now())
		})
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Reservations).To(BeEmpty()) }).Should(Succeed())
	})

	It("releases a reservation whose Workload does not exist, as it does at start for Workloads deleted while it was down", func() {
		t := newTeam(4)
		// The ledgers' informer brings every ledger at start; a reservation
		// written now reaches the controller by the same event.
		Eventually(func() error {
			// A main ledger that lists the reservation itself, as an
			// earlier version wrote it.
			l := &licensingv1alpha1.SeatLedger{}
			err := operatorClient.Get(ctx, types.NamespacedName{Namespace: t.ns, Name: seats.LedgerName("solvers")}, l)
			if err != nil {
				l = seats.NewSeatLedger(t.asg, seats.LedgerName("solvers"))
				l.Spec.Reservations = []licensingv1alpha1.SeatLedgerReservation{{Workload: "deleted-meanwhile", UID: "0b7c3d52-0000-4000-8000-000000000000", PodSet: "main", Count: 2, Since: metav1.Now()}}
				return operatorClient.Create(ctx, l)
			}
			l.Spec.Reservations = []licensingv1alpha1.SeatLedgerReservation{{Workload: "deleted-meanwhile", UID: "0b7c3d52-0000-4000-8000-000000000000", PodSet: "main", Count: 2, Since: metav1.Now()}}
			return operatorClient.Update(ctx, l)
		}).Should(Succeed())
		Eventually(func(g Gomega) { g.Expect(t.ledger(g).Spec.Reservations).To(BeEmpty()) }).Should(Succeed())
	})

	It("leaves a plain Pod that Kueue gates to Kueue: no seat and no seat gate at its creation, it rides its Workload's reservation", func() {
		t := newTeam(2)
		p := t.pod("plain").Label(kueue.QueueNameLabel, "batch").SchedulingGate(licensing.KueueGate).Obj()
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Expect(gated(p)).To(BeFalse())
		Expect(p.Labels).To(HaveKeyWithValue(licensingv1alpha1.LicensedLabel, licensingv1alpha1.LicensedLabelValue))
		Consistently(func(g Gomega) {
			l := &licensingv1alpha1.SeatLedger{}
			err := seats.GetLedger(ctx, k8sClient, t.ns, "solvers", l)
			if err == nil {
				g.Expect(l.Spec.Entries).To(BeEmpty(), "the recount does not count a Pod Kueue still gates")
			}
		}).WithTimeout(3 * time.Second).Should(Succeed())

		By("Kueue makes the Pod's Workload and reserves quota: the seat is reserved, the Pod rides it")
		wl := kubecluster.MakeWorkload("pod-plain", t.ns, "batch").PodSet("main", 1, t.pod("")).
			ControlledBy("v1", "Pod", p.Name, p.UID).Obj()
		Expect(k8sClient.Create(ctx, wl)).To(Succeed())
		asKueue(wl, func(w *kueuev1beta2.Workload) { kubecluster.KueueQueued(w, time.Now(), checkName) })
		reserveQuota(wl)
		expectCheck(wl, kueuev1beta2.CheckStateReady)
		Eventually(func(g Gomega) {
			r := reservation(t.ledger(g), wl)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Rides).To(ConsistOf(HaveField("Pod", "plain")))
		}).Should(Succeed())

		By("Kueue removes its gate: the Pod runs on the reservation, the recount adds no entry")
		Eventually(func() error {
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
				return err
			}
			p.Spec.SchedulingGates = nil
			return k8sClient.Update(ctx, p)
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			l := t.ledger(g)
			g.Expect(l.Spec.Entries).To(BeEmpty())
			g.Expect(licensing.HeldSeats(&l.Spec)).To(Equal(1))
		}).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("never holds more than the licence's seats over 50 mixed creates of Kueue Workloads and plain Pods", func() {
		const seatCount = 10
		t := newTeam(seatCount)
		var (
			mu       sync.Mutex
			maxHeld  int
			done     = make(chan struct{})
			watching sync.WaitGroup
		)
		watching.Add(1)
		go func() {
			defer watching.Done()
			defer GinkgoRecover()
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
				l := &licensingv1alpha1.SeatLedger{}
				if err := seats.GetLedger(ctx, k8sClient, t.ns, "solvers", l); err == nil {
					mu.Lock()
					maxHeld = max(maxHeld, licensing.HeldSeats(&l.Spec))
					mu.Unlock()
				}
			}
		}()

		// One Workload holds seats before the mix starts: a plain Pod's
		// admission is quicker than a Workload's way through the check, and
		// the Pods could take every seat before any Workload asked. The Pods
		// and Workloads of the mix then compete for the rest beside a
		// reservation.
		_, first := t.job("mixed-first", 2)
		reserveQuota(first)
		expectCheck(first, kueuev1beta2.CheckStateReady)

		var wg sync.WaitGroup
		workloads := []*kueuev1beta2.Workload{first}
		var wmu sync.Mutex
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer GinkgoRecover()
				// Staggered, so that Pods and Workloads arrive mixed (a
				// Pod's admission is quicker than a Workload's way).
				time.Sleep(time.Duration(i) * 20 * time.Millisecond)
				if i%2 == 0 {
					p := t.pod(fmt.Sprintf("plain-%d", i)).Refuse().Obj()
					_ = k8sClient.Create(ctx, p) // refused when no seat is free
					return
				}
				_, wl := t.job(fmt.Sprintf("mixed-%d", i), int32(1+i%3))
				reserveQuota(wl)
				wmu.Lock()
				workloads = append(workloads, wl)
				wmu.Unlock()
			}()
		}
		wg.Wait()

		By("every Workload's check settles (Ready, or Pending/Retry for want of seats)")
		for _, wl := range workloads {
			Eventually(func(g Gomega) {
				c := check(g, wl)
				g.Expect(c.Message).NotTo(BeEmpty())
			}).Should(Succeed())
		}
		close(done)
		watching.Wait()

		l := t.ledger(Default)
		ready := 0
		for _, wl := range workloads {
			c := check(Default, wl)
			if c.State == kueuev1beta2.CheckStateReady {
				ready++
				Expect(reservation(l, wl)).NotTo(BeNil(), "a Ready Workload holds its seats")
			} else {
				Expect(reservation(l, wl)).To(BeNil(), "a waiting Workload holds nothing")
			}
		}
		pods := &corev1.PodList{}
		Expect(k8sClient.List(ctx, pods, client.InNamespace(t.ns))).To(Succeed())
		running := 0
		for i := range pods.Items {
			if !gated(&pods.Items[i]) {
				running++
			}
		}
		reserved := licensing.ReservedSeats(&l.Spec)
		By(fmt.Sprintf("%d Pods admitted, %d Workloads Ready holding %d seats, at most %d seats held at any time", running, ready, reserved, maxHeld))
		Expect(running + reserved).To(BeNumerically("<=", seatCount))
		Expect(licensing.HeldSeats(&l.Spec)).To(BeNumerically("<=", seatCount))
		Expect(maxHeld).To(BeNumerically("<=", seatCount))
		Expect(ready).To(BeNumerically(">", 0), "the first Workload still holds its seats")
		Expect(running).To(BeNumerically(">", 0), "the mix exercised Pods")
	})
})
