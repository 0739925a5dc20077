package diagnose

import (
	"fmt"
	"regexp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var _ = Describe("kubectl license why POD", func() {
	It("names the gate, the line and the place of a waiting Pod in the webhook's words, and what would free a seat", func() {
		ns := newNamespace()
		product := ns + "-cad"
		lic, asg := licensed(ns, product, 1, nil)
		holder := kubecluster.MakePod("holder", ns).Product(product).Obj()
		createPod(holder)
		Expect(licensing.SeatGated(holder)).To(BeFalse(), "the first Pod takes the seat")

		waiter := kubecluster.MakePod("waiter", ns).Product(product).Obj()
		admission := createPod(waiter)
		Expect(licensing.SeatGated(waiter)).To(BeTrue(), "the second Pod waits in line")
		warning := containing(admission, "waits in line")

		By("the webhook's warning is licensing.WaitingMessage of the Pod, its line and its place")
		w := licensing.WorkloadFromPodSpec("Pod", waiter.Name, ns, waiter.ObjectMeta, &waiter.Spec, nil)
		need := licensing.ProductNeed{Product: product, Reason: "annotation " + licensingv1alpha1.ProductAnnotation}
		cover := licensing.Cover{Product: product, License: lic, Assignment: asg, Counted: true, Seats: 1}
		place := licensing.LinePlace{Position: 1, Waiting: 1, Used: 1, Seats: 1, Holders: []string{"holder"}}
		Expect(warning).To(Equal(licensing.WaitingMessage(&w, need, cover, place)))

		By("why starts with the same words, from the place the operator told the Pod")
		Eventually(eventsOf(waiter, seats.EventWaitingForSeat)).ShouldNot(BeEmpty())
		out, _, code := run(ns, "", "why", "waiter")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(out).To(HavePrefix(warning + "\n"))
		Expect(out).To(ContainSubstring("Gate:          " + licensingv1alpha1.SeatGate))
		Expect(out).To(ContainSubstring("Assignment:    render: Bound, 1 seat, 1 Pod waiting"))
		Expect(out).To(ContainSubstring(fmt.Sprintf("Licence:       %s/cad: Active, Concurrent, Hard enforcement, 1/1 seats used", ns)))
		Expect(out).To(ContainSubstring("Place:         position 1 of 1; 1/1 seats held by holder (told "))
		Expect(out).To(ContainSubstring("  - a Pod holding a seat of assignment render ends or is deleted (holder)\n"))
		Expect(out).To(ContainSubstring("  - spec.seats of assignment render is raised"))

		By("the shell completes Pod names and workload types")
		words := complete(ns, "why", "")
		Expect(words).To(ContainSubstring("waiter\n"))
		Expect(words).To(ContainSubstring("deployment/\n"))

		By("pod/NAME is the same question")
		again, _, _ := run(ns, "", "why", "pod/waiter")
		Expect(again).To(HavePrefix(warning + "\n"))

		By("once the holder is gone, the Pod holds the seat, and why says so")
		Expect(personClient.Delete(ctx, holder)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(waiter), waiter)).To(Succeed())
			g.Expect(licensing.SeatGated(waiter)).To(BeFalse())
		}).Should(Succeed())
		Eventually(eventsOf(waiter, seats.EventSeatTaken)).ShouldNot(BeEmpty())
		out, _, code = run(ns, "", "why", "waiter")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(out).To(ContainSubstring(fmt.Sprintf("Pod %s/waiter is admitted with its licence", ns)))
		Expect(out).To(ContainSubstring("It waited in line: Took a seat of product"))
	})

	It("says how large a gang is and how many of it wait", func() {
		ns := newNamespace()
		product := ns + "-cad"
		licensed(ns, product, 2, nil)
		first := kubecluster.MakePod("train-0", ns).Product(product).Annotation(licensingv1alpha1.GangAnnotation, "train/2").Obj()
		createPod(first)
		Expect(licensing.SeatGated(first)).To(BeTrue(), "a gang waits for all its Pods, even with seats free")
		Eventually(eventsOf(first, seats.EventWaitingForSeat)).ShouldNot(BeEmpty())
		out, _, _ := run(ns, "", "why", "train-0")
		Expect(out).To(ContainSubstring("position 1 of 1; 0/2 seats held; the line waits: gang train at the head has 1 of its 2 Pods"))
		Expect(out).To(ContainSubstring("Gang:          train: 2 Pods start together or not at all (annotation " +
			licensingv1alpha1.GangAnnotation + "); 1 of them wait in line"))
		Expect(out).To(HaveSuffix("It starts when one of these happens:\n"+
			"  - all 2 Pods of gang train are in line and 2 seats are free together: the gang starts all at once\n"), "seats are free: only the gang holds it back")
	})

	It("tells that a Pod the webhook refused never exists", func() {
		ns := newNamespace()
		_, stderr, code := run(ns, "", "why", "nothing-here")
		Expect(code).To(Equal(diagnose.ExitError))
		Expect(stderr).To(ContainSubstring("a Pod the webhook refused never exists"))
	})
})

var _ = Describe("kubectl license why deployment/NAME", func() {
	It("shows the webhook's refusal of the Pods its ReplicaSet could not create, in the webhook's words", func() {
		ns := newNamespace()
		product := ns + "-cad"
		_, _ = licensed(ns, product, 1, &licensingv1alpha1.PolicySettings{WhenNoSeat: ptr.To(licensingv1alpha1.WhenNoSeatRefuse)})
		createPod(kubecluster.MakePod("holder", ns).Product(product).Obj())

		dep := kubecluster.MakeDeployment("web", 1, kubecluster.MakePod("web", ns).Product(product))
		Expect(personClient.Create(ctx, dep)).To(Succeed())

		// envtest runs no kube-controller-manager: this spec does what the
		// Deployment and ReplicaSet controllers do, as the controller
		// manager's user (a trusted workload controller for the webhook).
		// The Deployment controller creates a ReplicaSet it controls ...
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Name: "web-6d4f8b", Namespace: ns,
				Labels:          map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "6d4f8b"},
				Annotations:     map[string]string{"deployment.kubernetes.io/revision": "1"},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
			},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "6d4f8b"}},
				Template: *dep.Spec.Template.DeepCopy(),
			},
		}
		rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "6d4f8b"
		Expect(kcmClient.Create(ctx, rs)).To(Succeed())
		// ... whose controller creates a Pod from its template, which the
		// webhook refuses: every seat is taken and the policy says Refuse ...
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: rs.Name + "-", Namespace: ns,
				Labels: rs.Spec.Template.Labels, Annotations: rs.Spec.Template.Annotations,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
			},
			Spec: rs.Spec.Template.Spec,
		}
		err := kcmClient.Create(ctx, pod)
		Expect(err).To(HaveOccurred())
		refusal, ok := diagnose.ParseRefusal(err.Error())
		Expect(ok).To(BeTrue(), "a webhook refusal: %v", err)
		Expect(refusal.IsLicensing()).To(BeTrue())

		By("the refusal is licensing.DenialMessage of the Pod, its covers and the seats in use")
		Expect(refusal.Message).To(Equal(denialMessage(ns, product, refusal.Message, rs)))

		// ... and writes the event the ReplicaSet controller writes
		// (pkg/controller/replicaset: Eventf(rs, Warning, "FailedCreate", "Error creating: %v", err)).
		now := metav1.NewTime(time.Now())
		Expect(k8sClient.Create(ctx, &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: rs.Name + ".", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{
				Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: ns, Name: rs.Name, UID: rs.UID, ResourceVersion: rs.ResourceVersion,
			},
			Reason: "FailedCreate", Type: corev1.EventTypeWarning, Message: "Error creating: " + err.Error(),
			Source:         corev1.EventSource{Component: "replicaset-controller"},
			FirstTimestamp: now, LastTimestamp: now, Count: 1,
		})).To(Succeed())

		By("why shows the webhook's words, unchanged")
		out, _, code := run(ns, "", "why", "deployment/web")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(out).To(ContainSubstring(fmt.Sprintf("Deployment %s/web: its Pods need a seat of %s.", ns, product)))
		Expect(out).To(ContainSubstring("ReplicaSet web-6d4f8b could not create Pods: the licensing webhook pods.workloads.licensing.license-operator.dev refused them (1 FailedCreate event"))
		Expect(out).To(ContainSubstring("\n  " + refusal.Message + "\n"))

		Expect(complete(ns, "why", "deploy/")).To(ContainSubstring("deploy/web\n"))

		By("the ReplicaSet is asked about the same way")
		out, _, _ = run(ns, "", "why", "rs", "web-6d4f8b")
		Expect(out).To(ContainSubstring("\n  " + refusal.Message + "\n"))
	})
})

var _ = Describe("kubectl license why job/NAME", func() {
	It("lists the workload's Pods that wait in line, with their place", func() {
		ns := newNamespace()
		product := ns + "-cad"
		licensed(ns, product, 1, nil)
		createPod(kubecluster.MakePod("holder", ns).Product(product).Obj())
		job := kubecluster.MakeJob("nightly", 1, 1, kubecluster.MakePod("nightly", ns).Product(product))
		Expect(personClient.Create(ctx, job)).To(Succeed())
		// envtest runs no Job controller: the spec creates the Job's Pod as
		// it would, as the controller manager's user.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: "nightly-x7k2p", Namespace: ns, Labels: job.Spec.Template.Labels, Annotations: job.Spec.Template.Annotations,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
			},
			Spec: job.Spec.Template.Spec,
		}
		Eventually(func() error { return kcmClient.Create(ctx, pod) }).Should(Succeed())
		Expect(licensing.SeatGated(pod)).To(BeTrue())
		Eventually(eventsOf(pod, seats.EventWaitingForSeat)).ShouldNot(BeEmpty())

		out, _, code := run(ns, "", "why", "job/nightly")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(out).To(ContainSubstring(fmt.Sprintf("\n1 Pod of it waiting in line (kubectl license why POD explains each):\n"+
			"  nightly-x7k2p: Waiting for a seat of product %q on assignment render (licence %s/cad): position 1 of 1; 1/1 seats held by holder\n", product, ns)))
	})
})

// denialMessage is licensing.DenialMessage for the Pod of rs's template that
// refusal names, with the covers of product in namespace ns as the cluster
// has them, and the seat of assignment render that Pod "holder" holds.
func denialMessage(ns, product, refusal string, rs *appsv1.ReplicaSet) string {
	m := regexp.MustCompile(`^Pod ` + ns + `/(\S+) needs`).FindStringSubmatch(refusal)
	ExpectWithOffset(1, m).NotTo(BeNil())
	tmpl := rs.Spec.Template
	w := licensing.WorkloadFromPodSpec("Pod", m[1], ns, tmpl.ObjectMeta, &tmpl.Spec, nil)
	licences := &licensingv1alpha1.SoftwareLicenseList{}
	ExpectWithOffset(1, k8sClient.List(ctx, licences)).To(Succeed())
	var covering []licensingv1alpha1.SoftwareLicense
	for _, l := range licences.Items {
		if licensing.LicenseCovers(&l, product) {
			covering = append(covering, l)
		}
	}
	asgs := &licensingv1alpha1.LicenseAssignmentList{}
	ExpectWithOffset(1, k8sClient.List(ctx, asgs, client.InNamespace(ns))).To(Succeed())
	namespace := &corev1.Namespace{}
	ExpectWithOffset(1, k8sClient.Get(ctx, client.ObjectKey{Name: ns}, namespace)).To(Succeed())
	need := licensing.ProductNeed{Product: product, Reason: "annotation " + licensingv1alpha1.ProductAnnotation}
	covers, considered := licensing.FindCovers(licensing.CoverageInput{
		Workload: &w, Product: product, NamespaceLabels: namespace.Labels, Licenses: covering, Assignments: asgs.Items,
	})
	uses := []licensing.LedgerUse{{Assignment: "render", Used: 1, Seats: 1, Holders: []string{"holder"}}}
	return licensing.DenialMessage(&w, need, covers, considered, uses)
}
