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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/license-operator/license-operator/test/kubecluster"
)

// seatsController is the controllerName of the operator's AdmissionCheck
// (issue 14). Until the operator serves it, nothing sets the check Active.
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

	// What Kueue does with an AdmissionCheck of the operator's controller
	// name: the contract the operator's controller must meet. Nothing serves
	// the check here, so the test plays its controller by hand.
	It("holds a ClusterQueue whose AdmissionCheck no controller serves, and admits once the check is Active and Ready", func() {
		ns := "kueue-check"
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		check := kubecluster.MakeAdmissionCheck("seats", seatsController)
		Expect(k8sClient.Create(ctx, check)).To(Succeed())
		cq := kubecluster.MakeClusterQueue("licensed").CPU("default-flavor", "4").AdmissionChecks(check.Name).Obj()
		Expect(k8sClient.Create(ctx, cq)).To(Succeed())
		Expect(k8sClient.Create(ctx, kubecluster.MakeLocalQueue("queue", ns, cq.Name))).To(Succeed())

		By("with no controller, the check is not Active, so the ClusterQueue is inactive")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cq), cq)).To(Succeed())
			active := apimeta.FindStatusCondition(cq.Status.Conditions, kueue.ClusterQueueActive)
			g.Expect(active).NotTo(BeNil())
			g.Expect(active.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(active.Reason).To(Equal(kueue.ClusterQueueActiveReasonAdmissionCheckInactive), active.Message)
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(check), check)).To(Succeed())
		Expect(apimeta.IsStatusConditionTrue(check.Status.Conditions, kueue.AdmissionCheckActive)).To(BeFalse(), "%+v", check.Status.Conditions)

		job := kubecluster.QueueJob(kubecluster.MakeJob("work", 2, 2, kubecluster.MakePod("", ns).CPURequest("100m")), "queue")
		Expect(k8sClient.Create(ctx, job)).To(Succeed())
		Expect(job.Spec.Suspend).To(HaveValue(BeTrue()))
		By("its Workload waits: no quota reserved, not admitted, the Job suspended")
		var wl *kueue.Workload
		Eventually(func(g Gomega) { wl = workloadOf(g, job) }).Should(Succeed())
		Consistently(func(g Gomega) {
			wl = workloadOf(g, job)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved)).To(BeFalse(), "%+v", wl.Status.Conditions)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeFalse(), "%+v", wl.Status.Conditions)
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
			g.Expect(job.Spec.Suspend).To(HaveValue(BeTrue()))
		}).WithTimeout(5 * time.Second).Should(Succeed())
		AddReportEntry("Workload conditions while the check is inactive", wl.Status.Conditions)

		By("playing the controller: the check Active makes the ClusterQueue active")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(check), check)).To(Succeed())
			apimeta.SetStatusCondition(&check.Status.Conditions, metav1.Condition{
				Type: kueue.AdmissionCheckActive, Status: metav1.ConditionTrue, Reason: "Active",
				Message: "set by the e2e test, standing in for the controller", ObservedGeneration: check.Generation,
			})
			g.Expect(k8sClient.Status().Update(ctx, check)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cq), cq)).To(Succeed())
			g.Expect(apimeta.IsStatusConditionTrue(cq.Status.Conditions, kueue.ClusterQueueActive)).To(BeTrue(), "%+v", cq.Status.Conditions)
		}).Should(Succeed())

		By("Kueue reserves quota and waits for the check, Pending, on the Workload")
		Eventually(func(g Gomega) {
			wl = workloadOf(g, job)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadQuotaReserved)).To(BeTrue(), "%+v", wl.Status.Conditions)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeFalse(), "%+v", wl.Status.Conditions)
			g.Expect(wl.Status.AdmissionChecks).To(ConsistOf(HaveField("State", kueue.CheckStatePending)))
			g.Expect(string(wl.Status.AdmissionChecks[0].Name)).To(Equal(check.Name))
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)).To(Succeed())
		Expect(job.Spec.Suspend).To(HaveValue(BeTrue()))

		By("playing the controller: the check Ready on the Workload admits it, and the Job runs")
		Eventually(func(g Gomega) {
			wl = workloadOf(g, job)
			wl.Status.AdmissionChecks[0].State = kueue.CheckStateReady
			wl.Status.AdmissionChecks[0].Message = "set by the e2e test, standing in for the controller"
			wl.Status.AdmissionChecks[0].LastTransitionTime = metav1.Now()
			g.Expect(k8sClient.Status().Update(ctx, wl)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			wl = workloadOf(g, job)
			g.Expect(apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadAdmitted)).To(BeTrue(), "%+v", wl.Status.Conditions)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			pods := jobPods(g, job)
			g.Expect(pods).To(HaveLen(2))
			for _, p := range pods {
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), p.Name)
			}
		}).WithTimeout(podsRun).Should(Succeed())
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
