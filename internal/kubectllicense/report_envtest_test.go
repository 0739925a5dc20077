package kubectllicense

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

var _ = Describe("kubectl license report", Ordered, func() {
	at := func(days int) time.Time { return now.AddDate(0, 0, days) }

	BeforeAll(func() {
		createNamespace("rpt-a", "rpt-b")
		// The currency RPX is this test's own: -A sees every test's licences.
		createLicence(utiltesting.MakeLicense("cad-old", "rpt-a").Product("rpt-cad").Seats(2).
			ResolvedProduct("rpt-cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateExpiringSoon, 3, 3).
			Term(at(-345), at(20), nil).CostStatus("50.50", "101.00", "RPX", "1y").Obj())
		createLicence(utiltesting.MakeLicense("viewer", "rpt-a").Product("rpt-viewer").
			ResolvedProduct("rpt-viewer", "Viewer", "Acme", "").Computed(licensingv1alpha1.LicenseStateActive, 7, 7).Obj())
		createLicence(utiltesting.MakeLicense("cad-2026", "rpt-b").Product("rpt-cad").Seats(5).
			ResolvedProduct("rpt-cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateActive, 3, 2).
			StatusWaiting(1, 0).Term(at(-100), at(200), nil).CostStatus("100.00", "500.00", "RPX", "1y").Obj())
	})

	It("prints the licences of the namespace with the totals", func() {
		out, errOut, err := runPlugin(adminKubeconfig, "report", "-n", "rpt-a")
		Expect(err).NotTo(HaveOccurred())
		Expect(errOut).To(BeEmpty())
		Expect(out).To(Equal(`NAME      PRODUCT      STATE          SEATS         WAITING   EXPIRES               COST
cad-old   rpt-cad      ExpiringSoon   3/2           0         2026-03-21 (in 20d)   101.00 RPX/1y
viewer    rpt-viewer   Active         7/unlimited   0         never                 -

Totals per product
PRODUCT      LICENCES   SEATS         WAITING
rpt-cad      1          3/2           0
rpt-viewer   1          7/unlimited   0

Totals per currency
CURRENCY   PERIOD   COST     LICENCES
RPX        1y       101.00   1
`))
	})

	It("sums every namespace's licences per product and currency with -A", func() {
		out, _, err := runPlugin(adminKubeconfig, "report", "-A", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		var r LicenseReport
		Expect(json.Unmarshal([]byte(out), &r)).To(Succeed())
		Expect(r.Totals.ByProduct).To(ContainElement(ProductTotal{Product: "rpt-cad", Licenses: 2, Used: 6, Total: ptr.To[int64](7), WaitingPods: 1}))
		Expect(r.Totals.ByCurrency).To(ContainElement(CurrencyTotal{Currency: "RPX", Period: "1y", Total: "601.00", Licenses: 2}))
	})

	It("keeps the licences of a product category with --category, and shows the products' record fields in the totals", func() {
		viewer := utiltesting.MakeProduct("rpt-viewer").Obj()
		viewer.Spec.Category, viewer.Spec.Description = "rpt-viewers", "Read-only viewer"
		Expect(k8sClient.Create(ctx, viewer)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, viewer)).To(Succeed()) })
		out, _, err := runPlugin(adminKubeconfig, "report", "-A", "--category", "rpt-viewers", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		var r LicenseReport
		Expect(json.Unmarshal([]byte(out), &r)).To(Succeed())
		Expect(r.Licenses).To(HaveLen(1))
		Expect(r.Licenses[0].Name).To(Equal("viewer"))
		Expect(r.Totals.ByProduct).To(ConsistOf(ProductTotal{Product: "rpt-viewer", Category: "rpt-viewers",
			Description: "Read-only viewer", Licenses: 1, Used: 7}))
	})

	It("keeps what expires within --expiring, in yaml", func() {
		out, _, err := runPlugin(adminKubeconfig, "report", "-A", "--expiring", "30d", "-o", "yaml")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("name: cad-old"))
		Expect(out).NotTo(ContainSubstring("name: cad-2026"))
		Expect(out).To(ContainSubstring("totals:"))
	})

	It("keeps the over-allocated ones with --over-allocated, as CSV", func() {
		out, _, err := runPlugin(adminKubeconfig, "report", "-A", "--over-allocated", "-o", "csv")
		Expect(err).NotTo(HaveOccurred())
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		Expect(err).NotTo(HaveOccurred())
		Expect(rows[0][:9]).To(Equal([]string{"namespace", "name", "product", "vendor", "state", "compliance", "used", "total", "available"}))
		var ours [][]string
		for _, r := range rows[1:] {
			if strings.HasPrefix(r[0], "rpt-") {
				ours = append(ours, r[:9])
			}
		}
		Expect(ours).To(Equal([][]string{{"rpt-a", "cad-old", "rpt-cad", "Acme", "ExpiringSoon", "OverAllocated", "3", "2", "0"}}))
	})

	It("refuses a duration that is not one, in the project's words", func() {
		_, _, err := runPlugin(adminKubeconfig, "report", "--expiring", "30 days")
		Expect(err).To(MatchError(ContainSubstring("--expiring")))
		_, _, err = runPlugin(adminKubeconfig, "report", "-o", "wide-ish")
		Expect(err).To(MatchError(ContainSubstring("allowed formats are: table,json,yaml,csv")))
	})

	It("says so when a namespace has no licence", func() {
		createNamespace("rpt-empty")
		out, _, err := runPlugin(adminKubeconfig, "report", "-n", "rpt-empty")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("No licences found in namespace rpt-empty.\n"))
	})
})
