package seats

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// createNode creates a Node (cluster-scoped, deleted when the test ends)
// and writes its status, as a kubelet would.
func createNode(w *ut.NodeWrapper) *corev1.Node {
	n := w.Obj()
	status := n.Status.DeepCopy()
	Expect(k8sClient.Create(ctx, n)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, n))).To(Succeed()) })
	n.Status = *status
	Expect(k8sClient.Status().Update(ctx, n)).To(Succeed())
	return n
}

// setReady sets the node's Ready condition to status, changed at since.
func setReady(n *corev1.Node, status corev1.ConditionStatus, since time.Time) {
	Eventually(func(g Gomega) {
		var cur corev1.Node
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(n), &cur)).To(Succeed())
		w := &ut.NodeWrapper{Node: cur}
		g.Expect(k8sClient.Status().Update(ctx, w.Ready(status, since).Obj())).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

func boundMessage(a *v1.LicenseAssignment) string { return a.Status.Message }

// expectActivationsUnlimited creates n one-seat assignments of licence lic
// and checks that all n bind: n activations, and no maxActivations besides
// the seats.
func expectActivationsUnlimited(ns, lic string, n int) {
	for i := range n {
		Expect(k8sClient.Create(ctx, ut.MakeAssignment(fmt.Sprintf("a-%02d", i), ns).ServiceAccount("runner").License(lic).Obj())).To(Succeed())
	}
	Eventually(func(g Gomega) {
		expectQueue(g, ns, lic, n, 0)
		l := getLicence(g, ns, lic)
		g.Expect(l.Status.Activations).To(Equal(int32(n)))
		g.Expect(l.Status.MaxActivations).To(BeNil())
		g.Expect(l.Status.EffectivePolicy.MaxActivations).To(BeNil())
	}, timeout, interval).Should(Succeed())
}

var _ = Describe("Activations", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	It("binds 15 one-seat assignments of a 15-seat licence of a non-Key product, and shows 15 activations and no limit", func() {
		ns := newNamespace()
		product := "user-" + ns
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).Obj())).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, ut.MakeProduct(product).Obj())).To(Succeed()) })
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Product(product).Seats(15).
			SeatModel(v1.SeatModelConcurrent).Start(time.Now().Add(-time.Hour)).Obj())).To(Succeed())
		expectActivationsUnlimited(ns, "cad", 15)
	})

	It("shows maxActivations 1 on a licence of a Key product, and keeps its second assignment Pending with ActivationLimit", func() {
		ns := newNamespace()
		product := "key-" + ns
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, ut.MakeProduct(product).Obj())).To(Succeed()) })
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Product(product).Seats(15).
			SeatModel(v1.SeatModelConcurrent).Start(time.Now().Add(-time.Hour)).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("first", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "first").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("second", ns).ServiceAccount("runner").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "second")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonActivationLimit))
			g.Expect(a.Status.Message).To(ContainSubstring("maxActivations 1"))
			l := getLicence(g, ns, "cad")
			g.Expect(l.Status.Activations).To(Equal(int32(1)))
			g.Expect(l.Status.MaxActivations).To(HaveValue(Equal(int32(1))))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("NodeLocked seats and their nodes", func() {
	var m *runningManager
	BeforeEach(func() { m = startManager(managerOptions{}) })
	AfterEach(func() { m.stop() })

	nodeLocked := func(ns string, seats int32) *ut.LicenseWrapper {
		return licence(ns, "cad", seats).SeatModel(v1.SeatModelNodeLocked)
	}

	It("refuses a machine fingerprint that is neither a raw value nor sha256 and 64 hex digits, naming the field", func() {
		ns := newNamespace()
		err := k8sClient.Create(ctx, nodeLocked(ns, 1).MachineFingerprints("sha256:abc").Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.entitlement.machineFingerprints[0]"))
		Expect(err.Error()).To(ContainSubstring("sha256: followed by the 64 hex digits"))
		many := make([]string, 101)
		for i := range many {
			many[i] = fmt.Sprintf("uuid-%d", i)
		}
		err = k8sClient.Create(ctx, nodeLocked(ns, 1).MachineFingerprints(many...).Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.entitlement.machineFingerprints"))
	})

	It("binds only nodes whose systemUUID or machineID matches a fingerprint, raw or sha256, shows a mismatched node's fingerprint, and keeps a missing node Pending until it joins", func() {
		ns := newNamespace()
		uuidA, uuidB, uuidC := "4C4C4544-0042-3510-8052-B4C04F4E"+ns[6:10], "b-"+ns, "c-"+ns
		createNode(ut.MakeNode(ns + "-a").SystemUUID(uuidA))
		createNode(ut.MakeNode(ns + "-b").SystemUUID("other-" + ns).MachineID(uuidB))
		createNode(ut.MakeNode(ns + "-c").SystemUUID(uuidC))
		Expect(k8sClient.Create(ctx, nodeLocked(ns, 5).MachineFingerprints(
			"4c4c4544-0042-3510-8052-b4c04f4e"+ns[6:10], licensing.HashFingerprint(uuidB), "d-"+ns).Obj())).To(Succeed())
		for _, n := range []string{"a", "b", "c", "d"} {
			Expect(k8sClient.Create(ctx, ut.MakeAssignment(n, ns).Node(ns+"-"+n).License("cad").Obj())).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "a").Status.State).To(Equal(v1.AssignmentStateBound))
			g.Expect(getAssignment(g, ns, "b").Status.State).To(Equal(v1.AssignmentStateBound))
			c := getAssignment(g, ns, "c")
			g.Expect(c.Status.State).To(Equal(v1.AssignmentStateRejected))
			g.Expect(boundReason(c)).To(Equal(v1.ReasonFingerprintMismatch))
			g.Expect(c.Status.License).To(BeEmpty())
			g.Expect(boundMessage(c)).To(ContainSubstring("systemUUID " + uuidC + " (" + licensing.HashFingerprint(uuidC) + ")"))
			g.Expect(boundMessage(c)).To(ContainSubstring("spec.entitlement.machineFingerprints"))
			d := getAssignment(g, ns, "d")
			g.Expect(d.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(d)).To(Equal(v1.ReasonNodeNotFound))
			g.Expect(boundMessage(d)).To(ContainSubstring("does not exist"))
			l := getLicence(g, ns, "cad")
			g.Expect(l.Status.Seats.Used).To(Equal(int32(2)))
			g.Expect(l.Status.Activations).To(Equal(int32(2)))
		}, timeout, interval).Should(Succeed())

		By("the missing node joining with a listed fingerprint")
		createNode(ut.MakeNode(ns + "-d").SystemUUID("d-" + ns))
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "d").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
	})

	It("rejects a virtual-machine node under preventVM, saying why, and binds a physical one", func() {
		ns := newNamespace()
		createNode(ut.MakeNode(ns + "-vm").VirtualMachine())
		createNode(ut.MakeNode(ns + "-metal"))
		Expect(k8sClient.Create(ctx, nodeLocked(ns, 5).PreventVM().Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("vm", ns).Node(ns+"-vm").License("cad").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("metal", ns).Node(ns+"-metal").License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			vm := getAssignment(g, ns, "vm")
			g.Expect(vm.Status.State).To(Equal(v1.AssignmentStateRejected))
			g.Expect(boundReason(vm)).To(Equal(v1.ReasonVirtualMachineForbidden))
			g.Expect(boundMessage(vm)).To(ContainSubstring("is a virtual machine"))
			g.Expect(boundMessage(vm)).To(ContainSubstring("preventVM"))
			g.Expect(getAssignment(g, ns, "metal").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
	})

	It("frees the seat of a node NotReady past offlineGracePeriod exactly at the end of it, retakes it when the node returns and the seat is free, and waits when it is not", func() {
		ns := newNamespace()
		down := createNode(ut.MakeNode(ns+"-down").Ready(corev1.ConditionTrue, time.Now().Add(-time.Hour)))
		up := createNode(ut.MakeNode(ns+"-up").Ready(corev1.ConditionTrue, time.Now().Add(-time.Hour)))
		Expect(k8sClient.Create(ctx, nodeLocked(ns, 1).OfflineGracePeriod("1h").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("down", ns).Node(down.Name).License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "down").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		By("the node going NotReady 1h less a few seconds ago: the seat frees when the grace period ends")
		// Nothing but the requeue at the boundary can free the seat: no
		// object changes after this update, whose own reconcile comes
		// before the boundary (the grace period's arithmetic is
		// TestCheckNodeLock's, the requeue TestGrantRequeuesAtTheEndOfAnOfflineGracePeriod's).
		setReady(down, corev1.ConditionUnknown, time.Now().Add(-time.Hour+5*time.Second).Truncate(time.Second))
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "down")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonNodeOffline))
			g.Expect(boundMessage(a)).To(ContainSubstring("offlineGracePeriod 1h"))
			g.Expect(getLicence(g, ns, "cad").Status.Seats.Used).To(Equal(int32(0)))
		}, timeout, interval).Should(Succeed())

		By("the node returning Ready while its seat is free: it takes it again")
		setReady(down, corev1.ConditionTrue, time.Now())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "down").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		By("the node offline again, and another node taking the freed seat")
		setReady(down, corev1.ConditionFalse, time.Now().Add(-2*time.Hour))
		Eventually(func(g Gomega) {
			g.Expect(boundReason(getAssignment(g, ns, "down"))).To(Equal(v1.ReasonNodeOffline))
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("up", ns).Node(up.Name).License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "up").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		By("the node returning while its seat is taken: it waits")
		setReady(down, corev1.ConditionTrue, time.Now())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "down")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonWaitingForSeats))
			g.Expect(a.Status.QueuePosition).To(HaveValue(Equal(int32(1))))
			g.Expect(getAssignment(g, ns, "up").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
	})

	It("keeps the seat of a NotReady node without offlineGracePeriod, and frees it at once when the node is deleted", func() {
		ns := newNamespace()
		n := createNode(ut.MakeNode(ns+"-n").Ready(corev1.ConditionTrue, time.Now().Add(-time.Hour)))
		Expect(k8sClient.Create(ctx, nodeLocked(ns, 1).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("n", ns).Node(n.Name).License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "n").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
		setReady(n, corev1.ConditionFalse, time.Now().Add(-1000*time.Hour))
		// A second node's assignment, created after the node went NotReady,
		// makes the licence decide again: it waits for the seat the
		// NotReady node still holds.
		other := createNode(ut.MakeNode(ns+"-other").Ready(corev1.ConditionTrue, time.Now()))
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("other", ns).Node(other.Name).License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			o := getAssignment(g, ns, "other")
			g.Expect(boundReason(o)).To(Equal(v1.ReasonWaitingForSeats))
			g.Expect(getAssignment(g, ns, "n").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())

		Expect(k8sClient.Delete(ctx, n)).To(Succeed())
		Eventually(func(g Gomega) {
			a := getAssignment(g, ns, "n")
			g.Expect(a.Status.State).To(Equal(v1.AssignmentStatePending))
			g.Expect(boundReason(a)).To(Equal(v1.ReasonNodeNotFound))
			g.Expect(getAssignment(g, ns, "other").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("Labelling virtual-machine nodes (--label-vm-nodes)", func() {
	It("labels a node whose providerID is a cloud VM, and leaves a label an operator set", func() {
		m := startManager(managerOptions{labelVMNodes: true})
		defer m.stop()
		ns := newNamespace()
		kept := createNode(ut.MakeNode(ns+"-kept").ProviderID("gce://p/z/"+ns).Label(v1.VirtualMachineLabel, "false"))
		metal := createNode(ut.MakeNode(ns + "-metal").ProviderID("metal3://ns/" + ns))
		cloud := createNode(ut.MakeNode(ns + "-cloud").ProviderID("aws:///eu-west-1a/i-0" + ns[6:]))
		Eventually(func(g Gomega) {
			var n corev1.Node
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cloud), &n)).To(Succeed())
			g.Expect(n.Labels).To(HaveKeyWithValue(v1.VirtualMachineLabel, "true"))
		}, timeout, interval).Should(Succeed())
		// The labeller's informer delivered the nodes created before it by
		// now (one watch, in order of creation); they keep what they had.
		for _, want := range []struct {
			node  *corev1.Node
			label *string
		}{{kept, ptr.To("false")}, {metal, nil}} {
			var n corev1.Node
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(want.node), &n)).To(Succeed())
			if want.label == nil {
				Expect(n.Labels).NotTo(HaveKey(v1.VirtualMachineLabel))
			} else {
				Expect(n.Labels).To(HaveKeyWithValue(v1.VirtualMachineLabel, *want.label))
			}
		}
	})

	It("does not run without the flag", func() {
		m := startManager(managerOptions{})
		defer m.stop()
		ns := newNamespace()
		cloud := createNode(ut.MakeNode(ns + "-cloud").ProviderID("aws:///eu-west-1a/i-1" + ns[6:]))
		// A NodeLocked licence reconciled after the node exists proves the
		// manager is running and has seen the node.
		Expect(k8sClient.Create(ctx, licence(ns, "cad", 1).SeatModel(v1.SeatModelNodeLocked).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("n", ns).Node(cloud.Name).License("cad").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getAssignment(g, ns, "n").Status.State).To(Equal(v1.AssignmentStateBound))
		}, timeout, interval).Should(Succeed())
		var n corev1.Node
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cloud), &n)).To(Succeed())
		Expect(n.Labels).NotTo(HaveKey(v1.VirtualMachineLabel))
	})
})
