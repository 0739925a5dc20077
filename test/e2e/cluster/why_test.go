//go:build e2e

package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// kubectlLicense runs a diagnose subcommand under a root wired as the
// plugin's root wires it, with the cluster's admin kubeconfig file, and
// returns its standard output and exit code.
func kubectlLicense(ns string, args ...string) (string, int) {
	var out, errOut bytes.Buffer
	flags := genericclioptions.NewConfigFlags(true)
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := &cobra.Command{Use: "kubectl-license", SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(diagnose.NewWhyCmd(flags, streams), diagnose.NewCanICmd(flags, streams))
	root.SetArgs(append(args, "--kubeconfig", cluster.KubeconfigPath, "-n", ns))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := diagnose.ExitCode(root.ExecuteContext(ctx))
	GinkgoWriter.Printf("$ kubectl license %s -n %s\n%s%s(exit %d)\n", strings.Join(args, " "), ns, out.String(), errOut.String(), code)
	return out.String(), code
}

// The ReplicaSet controller of kube-controller-manager creates the Pods
// here, meets the webhook's refusal and writes its FailedCreate event: the
// situation `why deployment/NAME` reads, with nothing played by the test.
var _ = Describe("kubectl license why deployment/NAME, with the real ReplicaSet controller", func() {
	const (
		ns      = "e2e-why"
		product = "e2e-why-cad"
		sa      = "render"
	)

	It("shows the refusal the ReplicaSet controller met, in the webhook's words, and can-i agrees", func() {
		concurrentSeats(ns, product, sa, 1, 1)
		By("a Pod holds the only seat")
		Eventually(func() error {
			return k8sClient.Create(ctx, kubecluster.MakePod("holder", ns).Product(product).ServiceAccount(sa).Obj())
		}).Should(Succeed())

		By("a Deployment whose Pods ask to be refused rather than wait: admitted, its Pod refused")
		pod := kubecluster.MakePod("", ns).Product(product).ServiceAccount(sa).Refuse()
		dep := kubecluster.MakeDeployment("web", 1, pod)
		Expect(k8sClient.Create(ctx, dep)).To(Succeed())
		var rs appsv1.ReplicaSet
		var failed corev1.Event
		Eventually(func(g Gomega) {
			list := &appsv1.ReplicaSetList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(1))
			rs = list.Items[0]
			events := &corev1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace(ns),
				client.MatchingFields{"involvedObject.uid": string(rs.UID), "reason": "FailedCreate"})).To(Succeed())
			g.Expect(events.Items).NotTo(BeEmpty())
			failed = events.Items[0]
		}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())
		refusal, ok := diagnose.ParseRefusal(failed.Message)
		Expect(ok).To(BeTrue(), "the ReplicaSet controller's event carries the webhook's refusal: %s", failed.Message)
		Expect(refusal.Message).To(HavePrefix(fmt.Sprintf("Pod %s/%s-", ns, rs.Name)))
		Expect(refusal.Message).To(ContainSubstring("every seat that covers it is taken"))

		By("why shows the newest of those refusals unchanged")
		out, code := kubectlLicense(ns, "why", "deployment/web")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(out).To(ContainSubstring(fmt.Sprintf("ReplicaSet %s could not create Pods: the licensing webhook %s refused them", rs.Name, refusal.Webhook)))
		// The controller retries, and each refusal names the Pod name it
		// generated: the one shown is one of the events'.
		shown := regexp.MustCompile(`Its words:\n  (.*)\n`).FindStringSubmatch(out)
		Expect(shown).NotTo(BeNil())
		events := &corev1.EventList{}
		Expect(k8sClient.List(ctx, events, client.InNamespace(ns),
			client.MatchingFields{"involvedObject.uid": string(rs.UID), "reason": "FailedCreate"})).To(Succeed())
		var refusals []string
		for _, e := range events.Items {
			if r, ok := diagnose.ParseRefusal(e.Message); ok {
				refusals = append(refusals, r.Message)
			}
		}
		Expect(refusals).To(ContainElement(shown[1]))

		By("can-i answers no for the same manifest, and creates nothing")
		manifest := filepath.Join(GinkgoT().TempDir(), "web.yaml")
		Expect(os.WriteFile(manifest, []byte(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web-2}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-2}}
  template:
    metadata:
      labels: {app: web-2}
      annotations: {%s: %s, %s: Refuse}
    spec:
      serviceAccountName: %s
      containers: [{name: main, image: busybox:1.36}]
`, licensingv1alpha1.ProductAnnotation, product, licensingv1alpha1.WhenNoSeatAnnotation, sa)), 0o600)).To(Succeed())
		out, code = kubectlLicense(ns, "can-i", "-f", manifest)
		Expect(code).To(Equal(diagnose.ExitNo))
		Expect(out).To(MatchRegexp(`Deployment %s/web-2: no\n  Pod %s/web-2-\S+ needs a seat of product %q`, ns, ns, product))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-2"}, &appsv1.Deployment{})).NotTo(Succeed())
	})
})
