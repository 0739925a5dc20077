package diagnose

import (
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// deploymentYAML is a Deployment of one Pod needing product, as a person writes it.
func deploymentYAML(product string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        %s: %s
    spec:
      containers:
      - name: main
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
`, licensingv1alpha1.ProductAnnotation, product)
}

// podYAML is a Pod needing product that asks to be refused rather than wait.
func podYAML(product string) string {
	return fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "once",
  "annotations": {%q: %q, %q: "Refuse"}},
  "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}`,
		licensingv1alpha1.ProductAnnotation, product, licensingv1alpha1.WhenNoSeatAnnotation)
}

var _ = Describe("kubectl license can-i -f", func() {
	It("answers yes, wait and no through the real webhooks, and a dry run takes no seat and no place in line", func() {
		ns := newNamespace()
		product := ns + "-cad"
		_, asg := licensed(ns, product, 1, nil)
		deployment := writeFile("web.yaml", deploymentYAML(product))

		nothingStored := func() {
			GinkgoHelper()
			pods := &corev1.PodList{}
			Expect(k8sClient.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
			Expect(pods.Items).To(BeEmpty(), "a dry run creates no Pod")
			deps := &appsv1.DeploymentList{}
			Expect(k8sClient.List(ctx, deps, client.InNamespace(ns))).To(Succeed())
			Expect(deps.Items).To(BeEmpty(), "a dry run creates no Deployment")
		}
		seatsUnchanged := func() {
			GinkgoHelper()
			Consistently(func(g Gomega) {
				l := &licensingv1alpha1.SoftwareLicense{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, l)).To(Succeed())
				g.Expect(l.Status.Seats.Used).To(Equal(int32(1)))
				g.Expect(l.Status.Seats.WaitingPods).To(BeZero())
				a := &licensingv1alpha1.LicenseAssignment{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), a)).To(Succeed())
				g.Expect(a.Status.WaitingPods).To(BeZero())
			}).WithTimeout(2 * time.Second).Should(Succeed())
		}

		By("yes: a seat is free")
		var out string
		var code int
		Eventually(func(g Gomega) {
			out, _, code = run(ns, "", "can-i", "-f", deployment)
			g.Expect(code).To(Equal(diagnose.ExitYes), "the webhook's cache may not have the assignment yet")
		}).Should(Succeed())
		Expect(out).To(HavePrefix(fmt.Sprintf("Deployment %s/web: yes\n", ns)))
		Expect(out).To(MatchRegexp(`  Pod %s/web-\S+ is admitted by the licensing webhook: a seat covers it now \(the dry run took none\)`, ns))
		Expect(out).NotTo(ContainSubstring("Service"), "kinds that run no Pod are skipped")
		nothingStored()
		seatsUnchanged()

		By("the seat is still free: a real Pod takes it at once")
		holder := kubecluster.MakePod("holder", ns).Product(product).Obj()
		createPod(holder)
		Expect(licensing.SeatGated(holder)).To(BeFalse())

		By("wait: the seat is held, and a Pod of the Deployment would wait in line")
		out, _, code = run(ns, "", "can-i", "-f", deployment)
		Expect(code).To(Equal(diagnose.ExitWait))
		Expect(out).To(HavePrefix(fmt.Sprintf("Deployment %s/web: wait\n", ns)))
		Expect(out).To(MatchRegexp(`\n  Pod %s/web-\S+ waits in line for a seat of product "%s" on assignment render \(licence %s/cad\): `+
			`position 1 of 1; 1/1 seats held by holder\. It is admitted with the scheduling gate %s`, ns, product, ns, licensingv1alpha1.SeatGate))
		Expect(out).To(ContainSubstring("  warning: 1 of 1 replicas will wait for a seat"), "the Deployment's own warning")
		seatsUnchanged()

		By("the dry run took no place in line: a real Pod is first in it")
		waiter := kubecluster.MakePod("waiter", ns).Product(product).Obj()
		Expect(containing(createPod(waiter), "waits in line")).To(ContainSubstring("position 1 of 1;"))

		By("no: a Pod that asks to be refused rather than wait, read from standard input")
		out, _, code = run(ns, podYAML(product), "can-i", "-f", "-")
		Expect(code).To(Equal(diagnose.ExitNo))
		Expect(out).To(HavePrefix(fmt.Sprintf("Pod %s/once: no\n  Pod %s/once needs a seat of product %q (annotation %s), and every seat that covers it is taken: "+
			"assignment render holds 1/1 seats in use", ns, ns, product, licensingv1alpha1.ProductAnnotation)))
		got := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "once"}, got)).NotTo(Succeed(), "a dry run creates no Pod")
	})

	It("answers no for a workload the webhook refuses itself (read from a directory), and fails without a file", func() {
		ns := newNamespace()
		dir := filepath.Dir(writeFile("web.yaml", deploymentYAML(ns+"-nobody-holds-this")))
		out, _, code := run(ns, "", "can-i", "-f", dir)
		Expect(code).To(Equal(diagnose.ExitNo))
		Expect(out).To(ContainSubstring(fmt.Sprintf("Deployment %s/web: no\n  Deployment %s/web needs a seat of product", ns, ns)))
		Expect(out).To(ContainSubstring("and no Bound LicenseAssignment in namespace " + ns + " covers it"))

		_, stderr, code := run(ns, "", "can-i")
		Expect(code).To(Equal(diagnose.ExitError))
		Expect(stderr).To(ContainSubstring(`required flag(s) "filename" not set`))
	})
})
