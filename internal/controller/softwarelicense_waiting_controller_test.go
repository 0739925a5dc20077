package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

var _ = Describe("Pods waiting in line for a seat", func() {
	It("shows the length of an assignment's line on the assignment and its licence, following the seat ledger", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad", ns).Seats(2).Start(fakeClock.Now().Add(-time.Hour)).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("web", ns).ServiceAccount("web").License("cad").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("batch", ns).ServiceAccount("batch").License("cad").Obj())).To(Succeed())
		waiting := func(web, batch, licence int32) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				for name, want := range map[string]int32{"web": web, "batch": batch} {
					a := &v1.LicenseAssignment{}
					g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, a)).To(Succeed())
					g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound), "assignment %s", name)
					g.Expect(a.Status.WaitingPods).To(Equal(want), "status.waitingPods of assignment %s", name)
				}
				l, err := getLicense(ns, "cad")()
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(l.Status.Seats.WaitingPods).To(Equal(licence), "status.seats.waitingPods of the licence")
			}).Should(Succeed())
		}
		waiting(0, 0, 0)

		// Nothing but the ledgers changes from here on: the licence follows
		// them through its watch, without a touch.
		web := waitingLedger(ns, "web", "web-1", "web-2", "web-3")
		Expect(k8sClient.Create(ctx, web)).To(Succeed())
		Expect(k8sClient.Create(ctx, waitingLedger(ns, "batch", "batch-1"))).To(Succeed())
		waiting(3, 1, 4)

		// Two Pods of web's line take seats.
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(web), web)).To(Succeed())
		web.Spec.Waiting = web.Spec.Waiting[2:]
		Expect(k8sClient.Update(ctx, web)).To(Succeed())
		waiting(1, 1, 2)

		Expect(k8sClient.Delete(ctx, web)).To(Succeed())
		waiting(0, 1, 1)
	})
})
