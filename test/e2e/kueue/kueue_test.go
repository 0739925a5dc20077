//go:build e2e

/*
Copyright 2026 The license-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package kueue

import (
	"fmt"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// seatsController is the controllerName of the operator's AdmissionCheck
// (issue 14, internal/kueue).
const seatsController = "licensing.license-operator.dev/seats"

// podsRun is how long the Job's Pods may take to be created, scheduled and
// reported Running by the hollow node.
const podsRun = 2 * time.Minute

var _ = Describe("Kueue", Ordered, func() {
	BeforeAll(func() {
		Expect(k8sClient.Create(ctx, kubecluster.MakeResourceFlavor("default-flavor"))).To(Succeed())
	})

	It("suspends a queued Job, admits its Workload, and runs its Pods on the hollow node", func() {
		ns := "kueue-smoke"
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		cq := kubecluster.MakeClusterQueue("smoke").CPU("default-flavor", "4").Obj()
		Expect(k8sClient.Create(ctx, cq)).To(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.MakeLocalQueue("queue", ns, cq.Name))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cq), cq)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(cq.Status.Conditions, kueue.ClusterQueueActive)).To(BeTrue(), "%+v", cq.Status.Conditions)
		}).Should(Succeed())

		job := kubecluster.QueueJob(kubecluster.MakeJob("work", 2, 2, kubecluster.MakePod("", ns).CPURequest("100m")), "queue")
		Expect(k8sClient.Create(ctx, job)).To(Succeed())
		By("Kueue's webhook suspends the Job at creation")
		Expect(job.Spec.Suspend).To(HaveValue(BeTrue()))

		By("its Workload is admitted")
		Eventually(func(g Gomega) {
			wl := workloadOf(g, job)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved)).To(BeTrue(), "%+v", wl.Status.Conditions)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeTrue(), "%+v", wl.Status.Conditions)
			g.Expect(wl.Status.Admission).NotTo(BeNil())
			g.Expect(string(wl.Status.Admission.ClusterQueue)).To(Equal(cq.Name))
		}).Should(Succeed())

		By("Kueue unsuspends the Job, and its two Pods run on the hollow node")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Spec.Suspend).To(HaveValue(BeFalse()))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			pods := jobPods(g, job)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(p.Spec.NodeName).To(Equal("hollow-node-0"), p.Name)
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), p.Name)
			}
		}).WithTimeout(podsRun).Should(Succeed())
	})

	// The operator's AdmissionCheck (issue 14) on a real Kueue: a
	// ClusterQueue that lists it, a LocalQueue, and a licence of 4
	// Concurrent seats (Hard) that the ServiceAccount solvers holds through
	// an assignment of 4. The three specs run in order on the one licence.
	Context("with the operator's AdmissionCheck", Ordered, func() {
		const (
			ns      = "kueue-seats"
			product = "solver"
			sa      = "solvers"
		)
		var first *batchv1.Job

		It("admits a Job within the seats: its Pods run on the reservation, with no seat of their own", func() {
			licensedClusterQueue()
			licensedQueue(ns, product, sa, 4)
			first = licensedJob("first", ns, product, sa, 3)
			Expect(k8sClient.Create(ctx, first)).To(Succeed())
			Expect(first.Spec.Suspend).To(HaveValue(BeTrue()))

			By("Kueue admits the Workload: quota reserved, the check Ready")
			Eventually(func(g Gomega) {
				wl := workloadOf(g, first)
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeTrue(), "%+v", wl.Status.Conditions)
				c := kubecluster.CheckOf(wl, checkName)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.State).To(Equal(kueue.CheckStateReady), c.Message)
				g.Expect(c.Message).To(ContainSubstring(sa))
			}).Should(Succeed())

			By("Kueue unsuspends the Job; its 3 Pods run on the hollow node, none gated")
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(first), first)).To(Succeed())
				g.Expect(first.Spec.Suspend).To(HaveValue(BeFalse()))
			}).Should(Succeed())
			Eventually(func(g Gomega) {
				pods := jobPods(g, first)
				g.Expect(pods).To(HaveLen(3))
				for i := range pods {
					g.Expect(pods[i].Spec.NodeName).To(Equal("hollow-node-0"), pods[i].Name)
					g.Expect(pods[i].Status.Phase).To(Equal(corev1.PodRunning), pods[i].Name)
					g.Expect(pods[i].Spec.SchedulingGates).To(BeEmpty(), pods[i].Name)
				}
			}).WithTimeout(podsRun).Should(Succeed())

			// The licence's seats.used counts the seats of its Bound
			// assignments (4 here), not the seats held at once: those are in
			// the assignment's ledger, where a Pod's seat is an entry and a
			// Workload's a reservation.
			By("the seats are counted once: 3 reserved by the Workload, no Pod holds a second")
			Eventually(func(g Gomega) {
				l := ledgerOf(g, ns, sa)
				g.Expect(l.Spec.Entries).To(BeEmpty())
				g.Expect(licensing.ReservedSeats(&l.Spec)).To(Equal(3))
				g.Expect(licensing.HeldSeats(&l.Spec)).To(Equal(3))
				st := licenceSeats(g, ns)
				g.Expect(st.Used).To(BeEquivalentTo(4), "%+v", st)
				g.Expect(st.ReservedByWorkloads).To(BeEquivalentTo(3), "%+v", st)
			}).Should(Succeed())
		})

		It("holds a second Job over the seats: Pending, then Retry, requeued by Kueue, admitted once the first is gone", func() {
			watch := watchWorkloads(ns)
			second := licensedJob("second", ns, product, sa, 3)
			Expect(k8sClient.Create(ctx, second)).To(Succeed())

			By("its check is Pending with the seats it waits for, then Retry after the seat wait")
			Eventually(func(g Gomega) {
				seen := watch.checks(second)
				g.Expect(seen).To(ContainElement(And(
					HaveField("State", kueue.CheckStatePending), HaveField("Message", ContainSubstring("needs 3 seats of "+product)))))
				g.Expect(seen).To(ContainElement(And(
					HaveField("State", kueue.CheckStateRetry),
					HaveField("Message", ContainSubstring(fmt.Sprintf("waited %s for licence seats", seatWait))),
					HaveField("Message", ContainSubstring("needs 3 seats of "+product)))))
			}).Should(Succeed())
			By("Kueue evicts it for the check and queues it again: quota reserved again, the check Pending again")
			Eventually(func(g Gomega) {
				g.Expect(watch.evictedByCheck(second)).To(BeTrue())
				wl := workloadOf(g, second)
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeFalse())
				g.Expect(wl.Spec.Active).To(HaveValue(BeTrue()))
				g.Expect(watch.reservations(second)).To(BeNumerically(">=", 2), "quota reserved after the Retry")
			}).Should(Succeed())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(second), second)).To(Succeed())
			Expect(second.Spec.Suspend).To(HaveValue(BeTrue()))
			Expect(jobPods(Default, second)).To(BeEmpty())
			AddReportEntry("check states of the second Job's Workload", watch.checks(second))

			By("the first Job is deleted, and its Pods are gone")
			Expect(k8sClient.Delete(ctx, first, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
			Eventually(func(g Gomega) {
				g.Expect(jobPods(g, first)).To(BeEmpty())
			}).WithTimeout(podsRun).Should(Succeed())

			By("the second is admitted, and its 3 Pods run on its reservation")
			Eventually(func(g Gomega) {
				wl := workloadOf(g, second)
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeTrue(), "%+v", wl.Status.Conditions)
				g.Expect(kubecluster.CheckOf(wl, checkName)).To(HaveField("State", kueue.CheckStateReady))
			}).WithTimeout(podsRun).Should(Succeed())
			Eventually(func(g Gomega) {
				pods := jobPods(g, second)
				g.Expect(pods).To(HaveLen(3))
				for i := range pods {
					g.Expect(pods[i].Status.Phase).To(Equal(corev1.PodRunning), pods[i].Name)
					g.Expect(pods[i].Spec.SchedulingGates).To(BeEmpty(), pods[i].Name)
				}
				l := ledgerOf(g, ns, sa)
				g.Expect(l.Spec.Entries).To(BeEmpty())
				g.Expect(licensing.ReservedSeats(&l.Spec)).To(Equal(3))
			}).WithTimeout(podsRun).Should(Succeed())
		})

		It("rejects a Job too big for the seats: Kueue deactivates its Workload and the Job never starts", func() {
			watch := watchWorkloads(ns)
			big := licensedJob("big", ns, product, sa, 5)
			Expect(k8sClient.Create(ctx, big)).To(Succeed())

			// Kueue answers Rejected within milliseconds: it evicts the
			// Workload and resets the check to Pending ("Reset to Pending
			// after eviction. Previously: Rejected"), so the watch sees it.
			By("the check is Rejected, saying why")
			Eventually(func(g Gomega) {
				g.Expect(watch.checks(big)).To(ContainElement(And(
					HaveField("State", kueue.CheckStateRejected),
					HaveField("Message", ContainSubstring("never fits: pod set main needs 5 seats of "+product+"; assignment "+sa+" holds 4")))))
			}).Should(Succeed())

			var wl *kueue.Workload
			// What Kueue v0.17.0 does on Rejected: it sets spec.active false
			// and evicts the Workload, Evicted=True and Requeued=False with
			// reason DeactivatedDueToAdmissionCheck; the Workload is not
			// Finished, and it stays until the Job is deleted.
			By("Kueue deactivates the Workload (spec.active false) and evicts it, not to be requeued: no quota, not admitted")
			Eventually(func(g Gomega) {
				wl = workloadOf(g, big)
				g.Expect(wl.Spec.Active).To(HaveValue(BeFalse()))
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved)).To(BeFalse(), "%+v", wl.Status.Conditions)
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeFalse(), "%+v", wl.Status.Conditions)
				g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadFinished)).To(BeFalse(), "%+v", wl.Status.Conditions)
				g.Expect(apimeta.FindStatusCondition(wl.Status.Conditions, kueue.WorkloadEvicted)).To(And(
					HaveField("Status", metav1.ConditionTrue), HaveField("Reason", "DeactivatedDueToAdmissionCheck")))
				g.Expect(apimeta.FindStatusCondition(wl.Status.Conditions, kueue.WorkloadRequeued)).To(And(
					HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "DeactivatedDueToAdmissionCheck")))
			}).Should(Succeed())
			AddReportEntry("conditions of the rejected Workload", wl.Status.Conditions)
			Expect(eventsOf(Default, wl)).To(ContainElement(And(
				HaveField("Reason", "AdmissionCheckRejected"), HaveField("Message", ContainSubstring("never fits")))))

			By("the Job stays suspended, with no Pod, and the seats are the second Job's alone")
			Consistently(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(big), big)).To(Succeed())
				g.Expect(big.Spec.Suspend).To(HaveValue(BeTrue()))
				g.Expect(jobPods(g, big)).To(BeEmpty())
				g.Expect(licensing.ReservedSeats(&ledgerOf(g, ns, sa).Spec)).To(Equal(3))
			}).WithTimeout(5 * time.Second).Should(Succeed())
		})
	})

	It("never holds more than the licence's seats over 50 mixed creates of Jobs through Kueue and plain Pods", func() {
		const (
			ns        = "kueue-mixed"
			product   = "mixer"
			sa        = "mixers"
			seatCount = 6
		)
		licensedQueue(ns, product, sa, seatCount)

		// Every 100ms: the seats the ledger holds (reservations and Pods'
		// seats); the licence's reservedByWorkloads plus the plain Pods not
		// gated (a reservation or a plain Pod, once there, stays here: a
		// status that lags only undercounts); and the Pods that run or may
		// run (not gated: a Kueue Job's on its reservation, a plain Pod on
		// its seat).
		var (
			mu                             sync.Mutex
			maxHeld, maxStatus, maxRunning int
			polls                          int
			done                           = make(chan struct{})
			watching                       sync.WaitGroup
		)
		watching.Add(1)
		go func() {
			defer watching.Done()
			defer GinkgoRecover()
			for {
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
				}
				l := &licensingv1alpha1.SeatLedger{}
				lic := &licensingv1alpha1.SoftwareLicense{}
				var pods corev1.PodList
				if seats.GetLedger(ctx, k8sClient, ns, sa, l) != nil ||
					k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "lic"}, lic) != nil ||
					k8sClient.List(ctx, &pods, client.InNamespace(ns)) != nil {
					continue
				}
				mu.Lock()
				polls++
				maxHeld = max(maxHeld, licensing.HeldSeats(&l.Spec))
				running := ungated(pods.Items)
				plain := slices.DeleteFunc(slices.Clone(running), func(p corev1.Pod) bool { return p.Labels[batchv1.JobNameLabel] != "" })
				maxStatus = max(maxStatus, int(lic.Status.Seats.ReservedByWorkloads)+len(plain))
				maxRunning = max(maxRunning, len(running))
				mu.Unlock()
			}
		}()

		// One Job holds seats before the mix starts: a plain Pod's admission
		// is quicker than a Job's way through Kueue and the check, and the
		// plain Pods could take every seat before any Job asked. The Pods and
		// Jobs of the mix then compete for the rest beside a reservation.
		first := licensedJob("mixed-first", ns, product, sa, 2)
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(kubecluster.CheckOf(workloadOf(g, first), checkName)).To(HaveField("State", kueue.CheckStateReady))
		}).WithTimeout(podsRun).Should(Succeed())

		var (
			wg     sync.WaitGroup
			jmu    sync.Mutex
			jobs   = []*batchv1.Job{first}
			plains int
		)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer GinkgoRecover()
				// Staggered, so that Pods and Jobs arrive mixed.
				time.Sleep(time.Duration(i) * 50 * time.Millisecond)
				if i%2 == 0 {
					p := kubecluster.MakePod(fmt.Sprintf("plain-%d", i), ns).Product(product).ServiceAccount(sa).Refuse().Obj()
					if k8sClient.Create(ctx, p) == nil { // refused when no seat is free
						jmu.Lock()
						plains++
						jmu.Unlock()
					}
					return
				}
				j := licensedJob(fmt.Sprintf("mixed-%d", i), ns, product, sa, int32(1+i%3))
				Expect(k8sClient.Create(ctx, j)).To(Succeed())
				jmu.Lock()
				jobs = append(jobs, j)
				jmu.Unlock()
			}()
		}
		wg.Wait()

		By("every Job's Workload has its check set, and the Jobs whose check is Ready run on their reservations")
		var ready, reserved int
		Eventually(func(g Gomega) {
			ready, reserved = 0, 0
			for _, j := range jobs {
				wl := workloadOf(g, j)
				c := kubecluster.CheckOf(wl, checkName)
				g.Expect(c).NotTo(BeNil(), j.Name)
				if c.State == kueue.CheckStateReady {
					ready++
					reserved += int(*j.Spec.Parallelism)
				}
			}
			l := ledgerOf(g, ns, sa)
			g.Expect(licensing.ReservedSeats(&l.Spec)).To(Equal(reserved))
			g.Expect(licenceSeats(g, ns).ReservedByWorkloads).To(BeEquivalentTo(reserved))
		}).Should(Succeed())
		close(done)
		watching.Wait()

		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
		l := ledgerOf(Default, ns, sa)
		AddReportEntry("the mix", fmt.Sprintf("%d plain Pods admitted, %d Jobs of %d Ready holding %d seats of %d; over %d polls at most %d seats held, %d reserved and plain, %d Pods not gated",
			plains, ready, len(jobs), reserved, seatCount, polls, maxHeld, maxStatus, maxRunning))
		Expect(polls).To(BeNumerically(">", 10))
		Expect(plains + reserved).To(BeNumerically("<=", seatCount))
		Expect(licensing.HeldSeats(&l.Spec)).To(Equal(plains + reserved))
		Expect(len(ungated(pods.Items))).To(BeNumerically("<=", seatCount))
		Expect(maxHeld).To(BeNumerically("<=", seatCount))
		Expect(maxStatus).To(BeNumerically("<=", seatCount))
		Expect(maxRunning).To(BeNumerically("<=", seatCount))
		Expect(ready).To(BeNumerically(">", 0), "the first Job still holds its seats")
		Expect(plains).To(BeNumerically(">", 0), "the mix exercised plain Pods")
	})
})

// workloadOf returns the Workload Kueue made for job (the one it owns).
func workloadOf(g Gomega, job *batchv1.Job) *kueue.Workload {
	var list kueue.WorkloadList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(job.Namespace))).To(Succeed())
	for i := range list.Items {
		for _, ref := range list.Items[i].OwnerReferences {
			if ref.UID == job.UID {
				return &list.Items[i]
			}
		}
	}
	g.Expect(list.Items).To(ContainElement(HaveField("OwnerReferences", ContainElement(HaveField("UID", job.UID)))),
		"no Workload of the Job %s/%s yet", job.Namespace, job.Name)
	return nil
}

// jobPods lists the Pods of job.
func jobPods(g Gomega, job *batchv1.Job) []corev1.Pod {
	var pods corev1.PodList
	g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(job.Namespace),
		client.MatchingLabels{batchv1.JobNameLabel: job.Name})).To(Succeed())
	return pods.Items
}

// checkName is the AdmissionCheck of the operator's controller the
// ClusterQueue licensed lists.
const checkName = "seats"

// licensedClusterQueue makes the AdmissionCheck seats of the operator's
// controller and the ClusterQueue licensed that lists it (cpu enough that
// quota never holds a Job back here: the seats do), and waits for the
// operator to make the check Active and Kueue the ClusterQueue active.
func licensedClusterQueue() {
	check := kubecluster.MakeAdmissionCheck(checkName, seatsController)
	Expect(k8sClient.Create(ctx, check)).To(Succeed())
	cq := kubecluster.MakeClusterQueue("licensed").CPU("default-flavor", "100").AdmissionChecks(check.Name).Obj()
	Expect(k8sClient.Create(ctx, cq)).To(Succeed())
	By("the operator makes its check Active, so Kueue makes the ClusterQueue active")
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(check), check)).To(Succeed())
		active := apimeta.FindStatusCondition(check.Status.Conditions, kueue.AdmissionCheckActive)
		g.Expect(active).NotTo(BeNil())
		g.Expect(active.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(active.Message).To(ContainSubstring("license-operator"))
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cq), cq)).To(Succeed())
		g.Expect(apimeta.IsStatusConditionTrue(cq.Status.Conditions, kueue.ClusterQueueActive)).To(BeTrue(), "%+v", cq.Status.Conditions)
	}).Should(Succeed())
}

// licensedQueue makes the namespace ns with the LocalQueue queue of the
// ClusterQueue licensed, and a licence lic of seatCount Concurrent seats
// (Hard) of product, all held by the ServiceAccount sa through the
// assignment sa; it returns once the operator has bound the assignment.
func licensedQueue(ns, product, sa string, seatCount int32) {
	Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
	Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}})).To(Succeed())
	Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).
		Policy(utiltesting.MakePolicy("std").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
		DefaultPolicy("std").Obj())).To(Succeed())
	Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("lic", ns).Product(product).Seats(seatCount).Obj())).To(Succeed())
	asg := utiltesting.MakeAssignment(sa, ns).License("lic").ServiceAccount(sa).Seats(seatCount).Obj()
	Expect(k8sClient.Create(ctx, asg)).To(Succeed())
	Expect(k8sClient.Create(ctx, kubecluster.MakeLocalQueue("queue", ns, "licensed"))).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
		g.Expect(asg.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound), "%+v", asg.Status)
	}).Should(Succeed())
}

// licensedJob is a Job of n Pods at once (n completions) of product, run
// as sa, through the LocalQueue queue.
func licensedJob(name, ns, product, sa string, n int32) *batchv1.Job {
	return kubecluster.QueueJob(kubecluster.MakeJob(name, n, n,
		kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa).CPURequest("100m")), "queue")
}

// ledgerOf reads the seat ledger of the assignment asg (empty before the
// operator made it).
func ledgerOf(g Gomega, ns, asg string) *licensingv1alpha1.SeatLedger {
	l := &licensingv1alpha1.SeatLedger{}
	err := seats.GetLedger(ctx, k8sClient, ns, asg, l)
	if apierrors.IsNotFound(err) {
		return &licensingv1alpha1.SeatLedger{}
	}
	g.Expect(err).NotTo(HaveOccurred())
	return l
}

// licenceSeats is the seat status of the licence lic of ns.
func licenceSeats(g Gomega, ns string) licensingv1alpha1.LicenseSeatStatus {
	lic := &licensingv1alpha1.SoftwareLicense{}
	g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "lic"}, lic)).To(Succeed())
	return lic.Status.Seats
}

// ungated are the Pods that run or may run: not being deleted, and without
// a scheduling gate (neither the operator's seat gate nor Kueue's).
func ungated(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for i := range pods {
		if pods[i].DeletionTimestamp == nil && len(pods[i].Spec.SchedulingGates) == 0 {
			out = append(out, pods[i])
		}
	}
	return out
}

// eventsOf lists the Events about obj.
func eventsOf(g Gomega, obj client.Object) []corev1.Event {
	var list corev1.EventList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.UID == obj.GetUID() {
			out = append(out, e)
		}
	}
	return out
}

// workloadWatch keeps every version of the Workloads of a namespace the API
// server sends: a check state Kueue changes within milliseconds (Retry, that
// it answers with an eviction) is seen there, where polling may miss it.
type workloadWatch struct {
	mu   sync.Mutex
	seen []*kueue.Workload
}

// watchWorkloads starts a workloadWatch of ns; it ends with the spec.
func watchWorkloads(ns string) *workloadWatch {
	wc, err := client.NewWithWatch(cluster.Config, client.Options{Scheme: kubecluster.KueueScheme()})
	Expect(err).NotTo(HaveOccurred())
	w, err := wc.Watch(ctx, &kueue.WorkloadList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	ww := &workloadWatch{}
	go func() {
		for ev := range w.ResultChan() {
			if wl, ok := ev.Object.(*kueue.Workload); ok && ev.Type != watch.Error {
				ww.mu.Lock()
				ww.seen = append(ww.seen, wl)
				ww.mu.Unlock()
			}
		}
	}()
	return ww
}

// versions are the versions seen of the Workload of job, in order.
func (w *workloadWatch) versions(job *batchv1.Job) []*kueue.Workload {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*kueue.Workload
	for _, wl := range w.seen {
		if slices.ContainsFunc(wl.OwnerReferences, func(r metav1.OwnerReference) bool { return r.UID == job.UID }) {
			out = append(out, wl)
		}
	}
	return out
}

// checks are the states of the check seats of the Workload of job, each
// change once, in order.
func (w *workloadWatch) checks(job *batchv1.Job) []kueue.AdmissionCheckState {
	var out []kueue.AdmissionCheckState
	for _, wl := range w.versions(job) {
		c := kubecluster.CheckOf(wl, checkName)
		if c != nil && (len(out) == 0 || out[len(out)-1].State != c.State || out[len(out)-1].Message != c.Message) {
			out = append(out, *c)
		}
	}
	return out
}

// evictedByCheck says whether Kueue evicted the Workload of job for its
// admission checks.
func (w *workloadWatch) evictedByCheck(job *batchv1.Job) bool {
	return slices.ContainsFunc(w.versions(job), func(wl *kueue.Workload) bool {
		c := apimeta.FindStatusCondition(wl.Status.Conditions, kueue.WorkloadEvicted)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == kueue.WorkloadEvictedByAdmissionCheck
	})
}

// reservations counts the times Kueue reserved quota for the Workload of
// job.
func (w *workloadWatch) reservations(job *batchv1.Job) int {
	n, reserved := 0, false
	for _, wl := range w.versions(job) {
		now := apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved)
		if now && !reserved {
			n++
		}
		reserved = now
	}
	return n
}
