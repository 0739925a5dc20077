package diagnose

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/clitest"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// can-i and why, the built binary run as a user runs it: a kubeconfig
// file, stdout, stderr and the exit status that cmd/kubectl-license's main
// gives (diagnose.ExitCode). can-i's answer is printed once, on stdout: no
// and wait say it again only in the exit status, never on stderr.
var _ = Describe("the kubectl-license binary: can-i and why", Ordered, func() {
	var bin, ns, product, deployment string

	plugin := func(stdin string, args ...string) (string, string, int) {
		out, errOut, code, err := clitest.RunBinary(bin, nil, stdin, append(args, "--kubeconfig", kubeconfig, "-n", ns)...)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("$ kubectl license %s -n %s\n%s%s(exit %d)\n", strings.Join(args, " "), ns, out, errOut, code)
		return out, errOut, code
	}

	BeforeAll(func() {
		var err error
		bin, err = clitest.BuildPlugin(utiltesting.RepoRoot(), GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred())
		// Names of its own, as a person would pick them (the other specs'
		// namespaces and products are random): the README shows this output.
		ns, product = "team-a", "cad"
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		licensed(ns, product, 1, nil)
		deployment = writeFile("web.yaml", deploymentYAML(product))
	})

	It("can-i exits 0 for yes: a seat is free", func() {
		var out, errOut string
		Eventually(func(g Gomega) {
			var code int
			out, errOut, code = plugin("", "can-i", "-f", deployment)
			g.Expect(code).To(Equal(diagnose.ExitYes), "the webhook's cache may not have the assignment yet")
		}).Should(Succeed())
		Expect(out).To(HavePrefix(fmt.Sprintf("Deployment %s/web: yes\n", ns)))
		Expect(errOut).To(BeEmpty())
	})

	It("can-i exits 3 for wait: the seat is held, and a Pod of the Deployment would wait in line", func() {
		holder := kubecluster.MakePod("holder", ns).Product(product).Obj()
		createPod(holder)
		Expect(licensing.SeatGated(holder)).To(BeFalse(), "the holder takes the seat")

		out, errOut, code := plugin("", "can-i", "-f", deployment)
		Expect(code).To(Equal(diagnose.ExitWait))
		Expect(out).To(HavePrefix(fmt.Sprintf("Deployment %s/web: wait\n", ns)))
		Expect(out).To(ContainSubstring("waits in line for a seat of product"))
		Expect(errOut).To(BeEmpty(), "the answer is not repeated as an error")
	})

	It("can-i exits 2 for no: a Pod that asks to be refused rather than wait, read from standard input", func() {
		out, errOut, code := plugin(podYAML(product), "can-i", "-f", "-")
		Expect(code).To(Equal(diagnose.ExitNo))
		Expect(out).To(HavePrefix(fmt.Sprintf("Pod %s/once: no\n  Pod %s/once needs a seat of product %q", ns, ns, product)))
		Expect(errOut).To(BeEmpty(), "the answer is not repeated as an error")
	})

	It("can-i exits 1 when it cannot answer, and says why on stderr", func() {
		out, errOut, code := plugin("", "can-i")
		Expect(code).To(Equal(diagnose.ExitError))
		Expect(out).To(BeEmpty())
		Expect(errOut).To(Equal("error: required flag(s) \"filename\" not set\n"))
	})

	It("why explains a waiting Pod in the webhook's words, and exits 0", func() {
		waiter := kubecluster.MakePod("waiter", ns).Product(product).Obj()
		warning := containing(createPod(waiter), "waits in line")
		Expect(licensing.SeatGated(waiter)).To(BeTrue())
		Eventually(eventsOf(waiter, seats.EventWaitingForSeat)).ShouldNot(BeEmpty())

		out, errOut, code := plugin("", "why", "waiter")
		Expect(code).To(Equal(diagnose.ExitYes))
		Expect(errOut).To(BeEmpty())
		Expect(out).To(HavePrefix(warning + "\n"))
		Expect(out).To(ContainSubstring("Gate:          " + licensingv1alpha1.SeatGate))
		Expect(out).To(ContainSubstring("Place:         position 1 of 1; 1/1 seats held by holder (told "))
		Expect(out).To(ContainSubstring("  - a Pod holding a seat of assignment render ends or is deleted (holder)\n"))
	})

	It("report and holders show the seat held and the Pod in line, as the operator wrote them", func() {
		Eventually(func(g Gomega) {
			out, errOut, code := plugin("", "report")
			g.Expect(code).To(BeZero(), errOut)
			g.Expect(out).To(MatchRegexp(`(?m)^cad\s+%s\s+Active\s+1/1\s+1\s+never\s+-$`, product), "the waiting Pod counted in the licence's status")
		}).Should(Succeed())

		out, errOut, code := plugin("", "holders", "cad")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(MatchRegexp(`(?m)^%s/cad\s+%s\s+Active\s+1/1\s+1\s+1$`, ns, product))
		Expect(out).To(MatchRegexp(`(?m)^%s\s+render\s+%s/cad\s+sa/default\s+Bound\s+1/1\s+1\s+-\s+-$`, ns, ns))
		Expect(out).To(MatchRegexp(`(?m)^%s\s+holder\s+render\s+Holding\s`, ns))
		Expect(out).To(MatchRegexp(`(?m)^%s\s+waiter\s+render\s+Waiting\s+1 of 1\s`, ns))
	})

	It("why exits 1 for a Pod that does not exist, and says why on stderr", func() {
		out, errOut, code := plugin("", "why", "nothing-here")
		Expect(code).To(Equal(diagnose.ExitError))
		Expect(out).To(BeEmpty())
		Expect(errOut).To(HavePrefix("error: "))
		Expect(errOut).To(ContainSubstring("a Pod the webhook refused never exists"))
	})
})
