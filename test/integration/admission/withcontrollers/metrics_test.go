package withcontrollers

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// metricName is a metric name of this operator or of controller-runtime's webhooks.
var metricName = regexp.MustCompile(`\b(?:license_operator|controller_runtime_webhook)_[a-z0-9_]+`)

// namesIn are the metric names in text, a histogram's series named by the histogram.
func namesIn(text string) map[string]bool {
	out := map[string]bool{}
	for _, n := range metricName.FindAllString(text, -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if strings.HasSuffix(n, "_seconds"+suffix) {
				n = strings.TrimSuffix(n, suffix)
			}
		}
		out[n] = true
	}
	return out
}

// dashboardQueries are the expressions of the dashboard's panels and variables.
func dashboardQueries(path string) string {
	raw, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	Expect(json.Unmarshal(raw, &d)).To(Succeed())
	var b strings.Builder
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			b.WriteString(t.Expr + "\n")
		}
	}
	for _, v := range d.Templating.List {
		if s, ok := v.Query.(string); ok {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

var _ = Describe("The metrics endpoint", func() {
	It("serves every metric the alerts and the dashboard use", func() {
		port, err := kubecluster.FreePort()
		Expect(err).NotTo(HaveOccurred())
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		srv, err := metricsserver.NewServer(metricsserver.Options{BindAddress: addr}, nil, nil)
		Expect(err).NotTo(HaveOccurred())
		go func() { _ = srv.Start(ctx) }()

		By("a time-limited product with a price and a line, a licence with one seat, its assignment and two Pods: one seated, one waiting")
		ns := newNamespace()
		product := ns + "-cad"
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).Pricing("100", "EUR", "1y").
			Policy(utiltesting.MakePolicy("float").Type(licensingv1alpha1.LicenseTypeTimeLimited).SeatModel(licensingv1alpha1.SeatModelConcurrent).ValidDuration("30d").MaxActivations(3).Obj()).
			DefaultPolicy("float").Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("cad", ns).Product(product).Seats(1).Obj())).To(Succeed())
		asg := utiltesting.MakeAssignment("pods", ns).License("cad").ServiceAccount("default").Obj()
		Expect(k8sClient.Create(ctx, asg)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(asg), asg)).To(Succeed())
			g.Expect(asg.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound))
		}).Should(Succeed())
		first := kubecluster.MakePod("first", ns).Product(product).Obj()
		Eventually(func() error { return k8sClient.Create(ctx, first) }).Should(Succeed())
		Eventually(func() error {
			return k8sClient.Create(ctx, kubecluster.MakePod("second", ns).Product(product).Obj())
		}).Should(Succeed())
		By("the first Pod goes: the second takes its seat after waiting")
		Expect(k8sClient.Delete(ctx, first)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Create(ctx, kubecluster.MakePod("refused", ns).Product(product).Refuse().Obj())).NotTo(Succeed())
		}).Should(Succeed())

		want := namesIn(dashboardQueries("../../../../config/prometheus/dashboard.json"))
		rules, err := os.ReadFile("../../../../config/prometheus/rules.yaml")
		Expect(err).NotTo(HaveOccurred())
		for n := range namesIn(string(rules)) {
			want[n] = true
		}
		Expect(len(want)).To(BeNumerically(">", 10))

		Eventually(func(g Gomega) {
			resp, err := http.Get(fmt.Sprintf("http://%s/metrics", addr))
			g.Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			g.Expect(err).NotTo(HaveOccurred())
			served := map[string]bool{}
			for _, line := range strings.Split(string(body), "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
					served[f[2]] = true
				}
			}
			var missing []string
			for n := range want {
				if !served[n] {
					missing = append(missing, n)
				}
			}
			sort.Strings(missing)
			g.Expect(missing).To(BeEmpty(), "metrics the alerts or the dashboard use that the manager does not serve")
		}).Should(Succeed())
	})
})
