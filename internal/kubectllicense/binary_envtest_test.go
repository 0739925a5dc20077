package kubectllicense

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// The built binary, run the way a user runs it: a kubeconfig file, the
// real clock, stdout, stderr and the exit status.
var _ = Describe("the kubectl-license binary", Ordered, func() {
	var bin string

	run := func(env []string, args ...string) (string, string, int) {
		return runBinary(env, "", args...)
	}
	plugin := func(args ...string) (string, string, int) {
		return run(nil, append([]string{"--kubeconfig", adminKubeconfig}, args...)...)
	}

	BeforeAll(func() {
		bin = pluginBinary()
		createNamespace("bin-a")
		today := time.Now().UTC()
		// The currency BIN is this test's own: -A sees every test's licences.
		createLicence(utiltesting.MakeLicense("soon", "bin-a").Product("bin-cad").Seats(3).
			ResolvedProduct("bin-cad", "CAD Pro", "Acme", "CAD-1").EffectiveSeatModel(licensingv1alpha1.SeatModelConcurrent).
			Computed(licensingv1alpha1.LicenseStateExpiringSoon, 2, 2).StatusWaiting(1, 0).
			Term(today.AddDate(-1, 0, 10), today.AddDate(0, 0, 10), nil).CostStatus("100.00", "300.00", "BIN", "1m").Obj())
		createLicence(utiltesting.MakeLicense("later", "bin-a").Product("bin-cad").Seats(4).
			ResolvedProduct("bin-cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateActive, 1, 1).
			Term(today.AddDate(0, -1, 0), today.AddDate(1, 0, 0), nil).CostStatus("25.00", "100.00", "BIN", "1m").Obj())
	})

	It("reports the namespace's licences", func() {
		out, errOut, code := plugin("report", "-n", "bin-a")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(MatchRegexp(`(?m)^NAME\s+PRODUCT\s+STATE\s+SEATS\s+WAITING\s+EXPIRES\s+COST$`))
		Expect(out).To(MatchRegexp(`(?m)^later\s+bin-cad\s+Active\s+1/4\s+0\s+\d{4}-\d\d-\d\d \(in \d+d\)\s+100\.00 BIN/1m$`))
		Expect(out).To(MatchRegexp(`(?m)^soon\s+bin-cad\s+ExpiringSoon\s+2/3\s+1\s+\d{4}-\d\d-\d\d \(in \d+d\)\s+300\.00 BIN/1m$`))
		Expect(out).To(MatchRegexp(`(?m)^bin-cad\s+2\s+3/7\s+1$`))
		Expect(out).To(MatchRegexp(`(?m)^BIN\s+1m\s+400\.00\s+2$`))
	})

	It("runs as kubectl license, through kubectl", func() {
		// kubectl finds kubectl-license on the PATH and hands it every
		// argument after "license".
		assets, err := utiltesting.EnvtestAssets()
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.Command(filepath.Join(assets, "kubectl"), "license", "report", "-n", "bin-a", "--kubeconfig", adminKubeconfig)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(MatchRegexp(`(?m)^soon\s+bin-cad\s+ExpiringSoon\s+2/3\s+1\s`))
	})

	It("keeps what expires within 30 days, in every namespace, as CSV", func() {
		out, errOut, code := plugin("report", "-A", "--expiring", "30d", "-o", "csv")
		Expect(code).To(BeZero(), errOut)
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		Expect(err).NotTo(HaveOccurred())
		var ours []string
		for _, r := range rows[1:] {
			if r[0] == "bin-a" {
				ours = append(ours, r[1]+" "+r[13]+" "+r[14])
			}
		}
		Expect(ours).To(Equal([]string{"soon 300.00 BIN"}))
	})

	It("exports seed 000 records, as JSON and as CSV", func() {
		out, errOut, code := plugin("export", "-n", "bin-a")
		Expect(code).To(BeZero(), errOut)
		var records []Record
		Expect(json.Unmarshal([]byte(out), &records)).To(Succeed())
		Expect(records).To(HaveLen(2))
		for _, r := range records {
			Expect(r.TenantID).To(Equal("bin-a"))
			Expect(*r.Vendor).To(Equal("Acme"))
		}
		out, errOut, code = plugin("export", "-n", "bin-a", "-o", "csv")
		Expect(code).To(BeZero(), errOut)
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		Expect(err).NotTo(HaveOccurred())
		Expect(rows[0]).To(Equal(RecordColumns()))
		byID := map[string]map[string]string{}
		for _, r := range rows[1:] {
			cells := map[string]string{}
			for i, c := range rows[0] {
				cells[c] = r[i]
			}
			byID[cells["id"]] = cells
		}
		var soon map[string]string
		for _, r := range records {
			if *r.Status == "expiring_soon" {
				soon = byID[r.ID]
			}
		}
		Expect(soon).To(HaveKeyWithValue("used_seats", "2"))
		Expect(soon).To(HaveKeyWithValue("total_seats", "3"))
		Expect(soon).To(HaveKeyWithValue("available_seats", "1"))
		Expect(soon).To(HaveKeyWithValue("license_type", "concurrent"))
		Expect(soon).To(HaveKeyWithValue("compliance_status", "compliant"))
	})

	It("says what is wrong on stderr and exits 1", func() {
		out, errOut, code := plugin("holders")
		Expect(code).To(Equal(1))
		Expect(out).To(BeEmpty())
		Expect(errOut).To(Equal("error: name a licence, or a product with --product (not both)\n"))
		_, errOut, code = run(nil, "--kubeconfig", filepath.Join(kubeconfigDir, "missing"), "report")
		Expect(code).To(Equal(1))
		Expect(errOut).To(HavePrefix("error: "))
	})

	It("completes licence names for kubectl through kubectl_complete-license", func() {
		// kubectl runs kubectl_complete-license from the PATH with the words
		// typed after "kubectl license".
		dir := filepath.Dir(bin)
		script, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "cmd", "kubectl-license", "kubectl_complete-license"))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dir, "kubectl_complete-license"), script, 0o755)).To(Succeed())
		cmd := exec.Command(filepath.Join(dir, "kubectl_complete-license"), "holders", "-n", "bin-a", "")
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+adminKubeconfig)
		out, err := cmd.Output()
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Split(string(out), "\n")[:3]).To(Equal([]string{"later", "soon", ":4"}))

		out2, errOut, code := plugin("completion", "bash")
		Expect(code).To(BeZero(), errOut)
		Expect(out2).To(ContainSubstring("__start_kubectl-license"))
	})
})
