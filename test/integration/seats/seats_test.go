package seats

import (
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/rand"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

const (
	timeout  = 90 * time.Second
	interval = 100 * time.Millisecond
)

// licence is an Active licence of seats that started a day ago and holds
// as many assignments as it likes (maxActivations is 1 by default).
func licence(ns, name string, seats int32) *ut.LicenseWrapper {
	return ut.MakeLicense(name, ns).Seats(seats).MaxActivations(1_000_000).Start(time.Now().Add(-24 * time.Hour))
}

// assignments are n one-seat assignments of a service account on the
// licence "cad", named a-000, a-001, …, in a shuffled order.
func assignments(ns string, n int) []client.Object {
	objs := make([]client.Object, n)
	for i, j := range rand.Perm(n) {
		objs[i] = ut.MakeAssignment(fmt.Sprintf("a-%03d", j), ns).ServiceAccount("runner").License("cad").Obj()
	}
	return objs
}

func getAssignment(g Gomega, ns, name string) *v1.LicenseAssignment {
	var a v1.LicenseAssignment
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &a)).To(Succeed())
	return &a
}

func getLicence(g Gomega, ns, name string) *v1.SoftwareLicense {
	var l v1.SoftwareLicense
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &l)).To(Succeed())
	return &l
}

// boundReason is the reason of the assignment's Bound condition.
func boundReason(a *v1.LicenseAssignment) string {
	if c := meta.FindStatusCondition(a.Status.Conditions, v1.ConditionBound); c != nil {
		return c.Reason
	}
	return ""
}

// queue is the seat picture of a namespace's assignments.
type queue struct {
	bound   []*v1.LicenseAssignment
	pending []*v1.LicenseAssignment // first come, first served
}

func readQueue(g Gomega, ns string) queue {
	var list v1.LicenseAssignmentList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var q queue
	for i := range list.Items {
		a := &list.Items[i]
		switch a.Status.State {
		case v1.AssignmentStateBound:
			q.bound = append(q.bound, a)
		case v1.AssignmentStatePending:
			q.pending = append(q.pending, a)
		}
	}
	sort.Slice(q.pending, func(i, j int) bool {
		a, b := q.pending[i], q.pending[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return q
}

// expectQueue checks that bound assignments hold the licence's seats and
// the pending ones wait at positions 1..n in first-come-first-served order.
func expectQueue(g Gomega, ns, lic string, bound, pending int) queue {
	q := readQueue(g, ns)
	g.Expect(q.bound).To(HaveLen(bound), "bound")
	g.Expect(q.pending).To(HaveLen(pending), "pending")
	for _, a := range q.bound {
		g.Expect(a.Status.License).To(Equal(ns+"/"+lic), a.Name)
		g.Expect(a.Status.Seats).To(Equal(int32(1)), a.Name)
		g.Expect(a.Status.BoundTime).NotTo(BeNil(), a.Name)
		g.Expect(a.Status.QueuePosition).To(BeNil(), a.Name)
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation), a.Name)
		g.Expect(meta.IsStatusConditionTrue(a.Status.Conditions, v1.ConditionBound)).To(BeTrue(), a.Name)
	}
	for i, a := range q.pending {
		g.Expect(a.Status.QueuePosition).To(HaveValue(Equal(int32(i+1))), a.Name)
		g.Expect(boundReason(a)).To(Equal(v1.ReasonWaitingForSeats), a.Name)
		g.Expect(a.Status.Message).To(ContainSubstring(fmt.Sprintf("position %d", i+1)), a.Name)
		g.Expect(a.Status.License).To(BeEmpty(), a.Name)
	}
	l := getLicence(g, ns, lic)
	g.Expect(l.Status.Seats.Used).To(Equal(int32(bound)))
	g.Expect(l.Status.Seats.Pending).To(Equal(int32(pending)))
	g.Expect(l.Status.Activations).To(Equal(int32(bound)))
	return q
}

// expectHistory checks the assignment history of a test.
func expectHistory(h *assignmentHistory, wantPeak int) {
	peak, events, violations := h.check()
	Expect(violations).To(BeEmpty())
	Expect(peak).To(Equal(wantPeak))
	GinkgoWriter.Printf("assignment history: %d events, peak %d bound\n", events, peak)
}

// deleteBoundAndExpectNext deletes two Bound assignments and checks that
// the first two of the queue take their seats.
func deleteBoundAndExpectNext(ns, lic string, q queue) {
	next := []string{q.pending[0].Name, q.pending[1].Name}
	for _, a := range q.bound[:2] {
		Expect(k8sClient.Delete(ctx, a)).To(Succeed())
	}
	Eventually(func(g Gomega) {
		q := expectQueue(g, ns, lic, 10, 188)
		var names []string
		for _, a := range q.bound {
			names = append(names, a.Name)
		}
		g.Expect(names).To(ContainElements(next))
	}, timeout, interval).Should(Succeed())
}

var _ = Describe("Hard seats under concurrency", func() {
	It("binds exactly 10 of 200 assignments created at once, queues the rest in order, and the next binds when a seat frees", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		h := watchAssignments(ns, 10)
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 10).Obj())).To(Succeed())

		createConcurrently(assignments(ns, 200), 25, nil)
		var q queue
		Eventually(func(g Gomega) { q = expectQueue(g, ns, "cad", 10, 190) }, timeout, interval).Should(Succeed())
		l := getLicence(Default, ns, "cad")
		Expect(l.Status.Seats.Available).To(HaveValue(Equal(int32(0))))
		Expect(l.Finalizers).To(ContainElement(v1.LicenseFinalizer))

		deleteBoundAndExpectNext(ns, "cad", q)
		expectHistory(h, 10)
	})

	It("still binds exactly 10 when the manager is stopped and started again halfway", func() {
		first := startManager(managerOptions{})
		ns := newNamespace()
		h := watchAssignments(ns, 10)
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 10).Obj())).To(Succeed())

		var created atomic.Int32
		restarted := make(chan *runningManager, 1)
		createConcurrently(assignments(ns, 200), 25, func(int) {
			if created.Add(1) == 100 {
				go func() {
					defer GinkgoRecover()
					first.stop()
					restarted <- startManager(managerOptions{})
				}()
			}
		})
		second := <-restarted
		defer second.stop()

		var q queue
		Eventually(func(g Gomega) { q = expectQueue(g, ns, "cad", 10, 190) }, timeout, interval).Should(Succeed())
		deleteBoundAndExpectNext(ns, "cad", q)
		expectHistory(h, 10)
	})

	It("still binds exactly 10 with two replicas when the leader goes away halfway", func() {
		ns := newNamespace()
		opts := managerOptions{leaderElection: true, leaseID: "seats-" + ns}
		replicas := []*runningManager{startManager(opts), startManager(opts)}
		defer func() {
			for _, r := range replicas {
				r.stop()
			}
		}()
		var leader int
		select {
		case <-replicas[0].elected:
			leader = 0
		case <-replicas[1].elected:
			leader = 1
		case <-time.After(timeout):
			Fail("no replica became the leader")
		}
		h := watchAssignments(ns, 10)
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 10).Obj())).To(Succeed())

		var created atomic.Int32
		createConcurrently(assignments(ns, 200), 25, func(int) {
			if created.Add(1) == 100 {
				// The leader stops without releasing the Lease: the other
				// replica takes over once the Lease expires.
				go replicas[leader].cancel()
			}
		})
		Eventually(replicas[1-leader].elected, timeout).Should(BeClosed())

		var q queue
		Eventually(func(g Gomega) { q = expectQueue(g, ns, "cad", 10, 190) }, timeout, interval).Should(Succeed())
		deleteBoundAndExpectNext(ns, "cad", q)
		expectHistory(h, 10)
	})
})

var _ = Describe("Enforcement and licence changes", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	It("binds all 200 under Soft enforcement and flags the licence OverAllocated with one Warning event", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 10).Enforcement(v1.EnforcementSoft).Obj())).To(Succeed())
		createConcurrently(assignments(ns, 200), 25, nil)

		Eventually(func(g Gomega) {
			q := readQueue(g, ns)
			g.Expect(q.bound).To(HaveLen(200))
			l := getLicence(g, ns, "cad")
			g.Expect(l.Status.Seats.Used).To(Equal(int32(200)))
			g.Expect(l.Status.Compliance).To(Equal(v1.ComplianceOverAllocated))
			g.Expect(meta.IsStatusConditionTrue(l.Status.Conditions, v1.ConditionOverAllocated)).To(BeTrue())
		}, timeout, interval).Should(Succeed())

		overAllocatedEvents := func(g Gomega) int {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			n := 0
			for _, e := range list.Items {
				if e.Regarding.Name == "cad" && e.Reason == "OverAllocated" {
					g.Expect(e.Type).To(Equal(corev1.EventTypeWarning))
					n++
				}
			}
			return n
		}
		Eventually(overAllocatedEvents, timeout, interval).Should(Equal(1))
		Consistently(overAllocatedEvents, 2*time.Second, interval).Should(Equal(1))
	})

	It("lowers the seats below what is bound without unbinding anyone, and keeps bound seats on a suspended licence", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 5).Obj())).To(Succeed())
		createConcurrently(assignments(ns, 5), 5, nil)
		Eventually(func(g Gomega) { expectQueue(g, ns, "cad", 5, 0) }, timeout, interval).Should(Succeed())

		l := getLicence(Default, ns, "cad")
		l.Spec.Seats = ptr.To[int32](3)
		Expect(k8sClient.Update(ctx, l)).To(Succeed())
		late := ut.MakeAssignment("late", ns).ServiceAccount("runner").License("cad").Obj()
		Expect(k8sClient.Create(ctx, late)).To(Succeed())
		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "cad")
			g.Expect(l.Status.Compliance).To(Equal(v1.ComplianceOverAllocated))
			g.Expect(l.Status.Seats.Used).To(Equal(int32(5)))
			a := getAssignment(g, ns, "late")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(a.Status.Message).To(ContainSubstring("5 of 3 seats used"))
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(readQueue(g, ns).bound).To(HaveLen(5)) }, 2*time.Second, interval).Should(Succeed())

		l = getLicence(Default, ns, "cad")
		l.Spec.State = v1.AdminStateSuspended
		Expect(k8sClient.Update(ctx, l)).To(Succeed())
		Eventually(func(g Gomega) {
			q := readQueue(g, ns)
			g.Expect(q.bound).To(HaveLen(5))
			for _, a := range q.bound {
				g.Expect(boundReason(a)).To(Equal(v1.ReasonLicenseNotUsable), a.Name)
				g.Expect(a.Status.Message).To(ContainSubstring("Suspended"), a.Name)
			}
			a := getAssignment(g, ns, "late")
			g.Expect(boundReason(a)).To(Equal(v1.ReasonLicenseNotUsable))
		}, timeout, interval).Should(Succeed())
	})

	It("caps Bound assignments at maxActivations", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 10).MaxActivations(3).Obj())).To(Succeed())
		createConcurrently(assignments(ns, 5), 5, nil)
		Eventually(func(g Gomega) {
			q := readQueue(g, ns)
			g.Expect(q.bound).To(HaveLen(3))
			g.Expect(q.pending).To(HaveLen(2))
			for i, a := range q.pending {
				g.Expect(boundReason(a)).To(Equal(v1.ReasonActivationLimit))
				g.Expect(a.Status.QueuePosition).To(HaveValue(Equal(int32(i + 1))))
				g.Expect(a.Status.Message).To(ContainSubstring("maxActivations 3"))
			}
			g.Expect(getLicence(g, ns, "cad").Status.Activations).To(Equal(int32(3)))
		}, timeout, interval).Should(Succeed())
	})

	It("protects a licence with bound seats from deletion until its holders are released, and keeps their seats meanwhile", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 5).Obj())).To(Succeed())
		createConcurrently(assignments(ns, 2), 2, nil)
		Eventually(func(g Gomega) {
			expectQueue(g, ns, "cad", 2, 0)
			g.Expect(getLicence(g, ns, "cad").Finalizers).To(ContainElement(v1.LicenseFinalizer))
		}, timeout, interval).Should(Succeed())

		Expect(k8sClient.Delete(ctx, getLicence(Default, ns, "cad"))).To(Succeed())
		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "cad")
			g.Expect(l.DeletionTimestamp).NotTo(BeNil())
			c := meta.FindStatusCondition(l.Status.Conditions, v1.ConditionTerminating)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1.ReasonHeldBySeats))
			g.Expect(c.Message).To(ContainSubstring("assignments a-000, a-001"))
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) { expectQueue(g, ns, "cad", 2, 0) }, 2*time.Second, 200*time.Millisecond).Should(Succeed())

		By("a new assignment does not bind to the licence being deleted")
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("late", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "late")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(a.Status.Message).To(ContainSubstring("is being deleted"))
		}, timeout, interval).Should(Succeed())

		By("the last holder released, the licence goes")
		for _, name := range []string{"a-000", "a-001", "late"} {
			Expect(k8sClient.Delete(ctx, getAssignment(Default, ns, name))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, &v1.SoftwareLicense{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the licence is gone")
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("Who may hold a seat", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	It("binds from another namespace only when the licence is shared with it", func() {
		owner, guest := newNamespace(), newNamespace()
		Expect(k8sClient.Create(ctx, licence(owner, "private", 5).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, licence(owner, "shared", 5).SharedWithSelector(map[string]string{"team": "cad"}).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("to-private", guest).ServiceAccount("runner").License("private", owner).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("to-shared", guest).ServiceAccount("runner").License("shared", owner).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			for _, name := range []string{"to-private", "to-shared"} {
				a := getAssignment(g, guest, name)
				g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending), name)
				g.Expect(boundReason(a)).To(Equal(v1.ReasonSharingForbidden), name)
				g.Expect(a.Status.Message).To(ContainSubstring("not shared with namespace "+guest), name)
			}
		}, timeout, interval).Should(Succeed())

		var ns corev1.Namespace
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: guest}, &ns)).To(Succeed())
		ns.Labels = map[string]string{"team": "cad"}
		Expect(k8sClient.Update(ctx, &ns)).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, guest, "to-shared")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(a.Status.License).To(Equal(owner + "/shared"))
			g.Expect(getAssignment(g, guest, "to-private").Status.State).To(Equal(v1.AssignmentStatePending))
		}, timeout, interval).Should(Succeed())
	})

	It("binds named users once each, only the licence's users, and no service accounts", func() {
		ns := newNamespace()
		product := "cad-" + rand.String(5)
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 5).Product(product).SeatModel(v1.SeatModelNamedUser).
			Users("ann@example.com", "bob@example.com").Obj())).To(Succeed())
		for _, a := range []*v1.LicenseAssignment{
			ut.MakeAssignment("ann", ns).User("ann@example.com").License("cad").Obj(),
			ut.MakeAssignment("ann-again", ns).User("ann@example.com").License("cad").Obj(),
			ut.MakeAssignment("eve", ns).User("eve@example.com").License("cad").Obj(),
			ut.MakeAssignment("robot", ns).ServiceAccount("robot").License("cad").Obj(),
		} {
			Expect(k8sClient.Create(ctx, a)).To(Succeed())
			time.Sleep(1100 * time.Millisecond) // distinct creation seconds: ann is first
		}
		Eventually(func(g Gomega) {
			ann, again := getAssignment(g, ns, "ann"), getAssignment(g, ns, "ann-again")
			g.Expect(ann.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(ann.Status.Seats).To(Equal(int32(1)))
			g.Expect(again.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(again.Status.Seats).To(Equal(int32(0)))
			g.Expect(again.Status.Message).To(ContainSubstring("shares the seat of user ann@example.com"))
			eve := getAssignment(g, ns, "eve")
			g.Expect(boundReason(eve)).To(Equal(v1.ReasonAssigneeNotAllowed))
			g.Expect(eve.Status.Message).To(ContainSubstring("add the user to the licence's spec.users"))
			g.Expect(boundReason(getAssignment(g, ns, "robot"))).To(Equal(v1.ReasonAssigneeNotAllowed))
			l := getLicence(g, ns, "cad")
			g.Expect(l.Status.Seats.Used).To(Equal(int32(1)))
			g.Expect(l.Status.Activations).To(Equal(int32(2)))
		}, timeout, interval).Should(Succeed())
	})

	It("locks seats to nodes", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 2).SeatModel(v1.SeatModelNodeLocked).Obj())).To(Succeed())
		createNode(ut.MakeNode(ns + "-1"))
		createNode(ut.MakeNode(ns + "-2"))
		for _, a := range []*v1.LicenseAssignment{
			ut.MakeAssignment("node-1", ns).Node(ns + "-1").License("cad").Obj(),
			ut.MakeAssignment("node-2", ns).Node(ns + "-2").License("cad").Obj(),
			ut.MakeAssignment("robot", ns).ServiceAccount("robot").License("cad").Obj(),
		} {
			Expect(k8sClient.Create(ctx, a)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "node-1").Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(getAssignment(g, ns, "node-2").Status.State).To(Equal(v1.AssignmentStateBound))
			robot := getAssignment(g, ns, "robot")
			g.Expect(boundReason(robot)).To(Equal(v1.ReasonAssigneeNotAllowed))
			g.Expect(robot.Status.Message).To(ContainSubstring("NodeLocked"))
		}, timeout, interval).Should(Succeed())
	})

	It("counts assignee changes as transfers and rejects those beyond maxTransfers, keeping the seat", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 3).SeatModel(v1.SeatModelNamedUser).MaxTransfers(1).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("seat", ns).User("ann@example.com").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "seat").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		setUser := func(email string) {
			Eventually(func(g Gomega) {
				a := getAssignment(g, ns, "seat")
				a.Spec.Assignee = v1.Assignee{User: &v1.UserAssignee{Email: email}}
				g.Expect(k8sClient.Update(ctx, a)).To(Succeed())
			}, timeout, interval).Should(Succeed())
		}
		setUser("bob@example.com")
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "seat")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(a.Status.Transfers).To(Equal(int32(1)))
			g.Expect(a.Status.BoundAssignee.User.Email).To(Equal("bob@example.com"))
			g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
		}, timeout, interval).Should(Succeed())

		setUser("cy@example.com")
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "seat")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateRejected))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonTransferLimit))
			g.Expect(a.Status.Message).To(ContainSubstring("1 of maxTransfers 1"))
			g.Expect(a.Status.BoundAssignee.User.Email).To(Equal("bob@example.com"))
			g.Expect(a.Status.License).To(Equal(ns + "/cad"))
			g.Expect(getLicence(g, ns, "cad").Status.Seats.Used).To(Equal(int32(1)))
		}, timeout, interval).Should(Succeed())

		setUser("bob@example.com")
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "seat")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(a.Status.Transfers).To(Equal(int32(1)))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("Binding by product", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	It("picks the licence with the most free seats, then by name, and waits when the product has no licence", func() {
		ns := newNamespace()
		product := "cad-" + rand.String(5)
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, licence(ns, "small", 2).Product(product).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, licence(ns, "big", 5).Product(product).Obj())).To(Succeed())
		// A licence competes for productRef assignments once its status says it is Ready.
		Eventually(func(g Gomega) {
			for _, name := range []string{"small", "big"} {
				g.Expect(meta.IsStatusConditionTrue(getLicence(g, ns, name).Status.Conditions, v1.ConditionReady)).To(BeTrue(), name)
			}
		}, timeout, interval).Should(Succeed())

		// big 5 free, big 4, big 3, big 2 = small 2 (big by name), small 2 > big 1, big 1 = small 1.
		want := []string{"big", "big", "big", "big", "small", "big"}
		for i, lic := range want {
			name := fmt.Sprintf("p-%d", i)
			Expect(k8sClient.Create(ctx, ut.MakeAssignment(name, ns).ServiceAccount("runner").Product(product).Obj())).To(Succeed())
			Eventually(func(g Gomega) {
				a := getAssignment(g, ns, name)
				g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
				g.Expect(a.Status.License).To(Equal(ns+"/"+lic), name)
			}, timeout, interval).Should(Succeed())
		}

		orphan := "cam-" + rand.String(5)
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("no-product", ns).ServiceAccount("runner").Product(orphan).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "no-product")
			g.Expect(boundReason(a)).To(Equal(v1.ReasonProductNotFound))
			g.Expect(a.Status.Message).To(ContainSubstring("product " + orphan + " does not exist"))
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeProduct(orphan).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, licence(ns, "cam", 1).Product(orphan).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "no-product")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(a.Status.License).To(Equal(ns + "/cam"))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("Consumption", func() {
	It("stops binding when the period's usage is exhausted and binds again after the reset", func() {
		start := time.Now().Add(-time.Hour).Truncate(time.Second)
		clk := clocktesting.NewFakeClock(start.Add(30 * time.Minute))
		m := startManager(managerOptions{clock: clk})
		defer m.stop()
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ut.MakeLicense("meter", ns).Seats(10).MaxActivations(10).Start(start).
			ConsumptionLimit(10, "1d").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("first", ns).ServiceAccount("runner").License("meter").Consumption(0).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "first").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "first")
			a.Spec.Consumption = ptr.To[int64](10)
			g.Expect(k8sClient.Update(ctx, a)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "meter")
			g.Expect(l.Status.Consumption).NotTo(BeNil())
			g.Expect(l.Status.Consumption.Used).To(Equal(int64(10)))
			g.Expect(getAssignment(g, ns, "first").Status.Consumption.Used).To(Equal(int64(10)))
		}, timeout, interval).Should(Succeed())

		Expect(k8sClient.Create(ctx, ut.MakeAssignment("second", ns).ServiceAccount("runner").License("meter").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "second")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonConsumptionExhausted))
			g.Expect(a.Status.Message).To(ContainSubstring("10 used of maxConsumptions 10"))
		}, timeout, interval).Should(Succeed())

		// The next period: the first assignment is rebased and the second binds.
		clk.Step(24 * time.Hour)
		Eventually(func(g Gomega) {
			l := getLicence(g, ns, "meter")
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations["test/touch"] = clk.Now().String()
			g.Expect(k8sClient.Update(ctx, l)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			first := getAssignment(g, ns, "first")
			g.Expect(first.Status.Consumption.Baseline).To(Equal(int64(10)))
			g.Expect(first.Status.Consumption.Used).To(Equal(int64(0)))
			g.Expect(first.Status.Consumption.PeriodStart.Time).To(BeTemporally("==", start.Add(24*time.Hour)))
			g.Expect(getAssignment(g, ns, "second").Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(getLicence(g, ns, "meter").Status.Consumption.Used).To(Equal(int64(0)))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("A licence that does not exist", func() {
	It("keeps its assignments waiting with a message, and binds them once it is created", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("early", ns).ServiceAccount("runner").License("later").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "early")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonLicenseNotFound))
			g.Expect(a.Status.Message).To(Equal(fmt.Sprintf("licence %s/later does not exist: create it, or fix spec.licenseRef", ns)))
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, licence(ns, "later", 1).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "early")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(a.Status.License).To(Equal(ns + "/later"))
		}, timeout, interval).Should(Succeed())
	})
})
