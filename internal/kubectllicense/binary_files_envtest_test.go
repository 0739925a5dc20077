package kubectllicense

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// validate and import, the built binary run as a user runs them: on files,
// with no cluster. KUBECONFIG names a file that does not exist, so that a
// subcommand that reached for a cluster would fail.
var _ = Describe("the kubectl-license binary on files, without a cluster", func() {
	var dir string
	offline := func(stdin string, args ...string) (string, string, int) {
		return runBinary([]string{"KUBECONFIG=" + filepath.Join(dir, "no-cluster")}, stdin, args...)
	}
	write := func(rel, content string) string {
		path := filepath.Join(dir, rel)
		Expect(os.MkdirAll(filepath.Dir(path), 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte(content), 0o644)).To(Succeed())
		return path
	}
	seedExample := filepath.Join(utiltesting.RepoRoot(), "internal", "kubectllicense", "importer", "testdata", "seed001-example.json")
	// The seed example's plain licence key: never written but into a Secret.
	const seedKey = "ACME-XK4T-9PQ2-LM7R-WV3N"

	BeforeEach(func() {
		dir = GinkgoT().TempDir()
	})

	It("validate: passes a good folder, and fails a bad file with exit status 1 and file:Kind/namespace/name:field: message", func() {
		write("repo/engineering/cad.yaml", `apiVersion: licensing.license-operator.dev/v1alpha1
kind: SoftwareLicense
metadata:
  name: cad-2026
  namespace: engineering
spec:
  productName: Acme CAD Pro
  seats: 25
  startDate: "2026-05-19"
  expiryDate: "2027-05-19"
`)
		write("repo/README.md", "not a manifest\n")
		out, errOut, code := offline("", "validate", filepath.Join(dir, "repo"))
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(BeEmpty())
		Expect(errOut).To(Equal("1 licensing object(s) checked, 0 refused by the schemas and CEL rules (0 error(s)), 0 cross-object error(s), 0 warning(s)\n"))

		bad := write("bad.yaml", `apiVersion: licensing.license-operator.dev/v1alpha1
kind: SoftwareLicense
metadata:
  name: cad-2025
  namespace: engineering
spec:
  productName: Acme CAD Pro
  seat: 25
  startDate: "2026-05-19"
  expiryDate: "2025-05-19"
`)
		out, errOut, code = offline("", "validate", filepath.Join(dir, "repo"), bad)
		Expect(code).To(Equal(1))
		Expect(out).To(Equal(bad + ":SoftwareLicense/engineering/cad-2025:spec: Invalid value: spec.expiryDate must be after spec.startDate\n" +
			bad + `:SoftwareLicense/engineering/cad-2025:spec.seat: unknown field "spec.seat": the schema has no such field (refused with kubectl's default --validate=strict)` + "\n"))
		Expect(errOut).To(Equal("2 licensing object(s) checked, 1 refused by the schemas and CEL rules (2 error(s)), 0 cross-object error(s), 0 warning(s)\n" +
			"error: refused: 2 error(s) in 1 of 2 object(s)\n"))
	})

	It("import: writes the seed example as YAML to stdout, which validate accepts from stdin, and never the key", func() {
		out, errOut, code := offline("", "import", "-f", seedExample, "-n", "engineering")
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(HavePrefix("# Imported by kubectl license import from " + seedExample + " (entitlement ent_01HKZP3J7Q9V2Z8B4K5N6M7P8R of cryptlex).\n"))
		l := &licensingv1alpha1.SoftwareLicense{}
		Expect(yaml.UnmarshalStrict([]byte(out), l)).To(Succeed())
		Expect(l.Kind).To(Equal("SoftwareLicense"))
		Expect(l.Namespace + "/" + l.Name).To(Equal("engineering/ent-01hkzp3j7q9v2z8b4k5n6m7p8r"))
		Expect(*l.Spec.Seats).To(BeEquivalentTo(25))
		Expect(l.Spec.Entitlement.KeyFingerprint).To(HavePrefix("sha256:"))
		Expect(out).NotTo(ContainSubstring(seedKey))
		Expect(errOut).To(ContainSubstring("note: " + seedExample + ": seats_consumed: 18 not imported"))
		Expect(errOut).To(ContainSubstring("note: " + seedExample + ": license_key: a plain key: not written"))
		Expect(errOut).To(HaveSuffix("imported 1 of 1 entitlement(s)\n"))

		_, errOut, code = offline(out, "validate", "-")
		Expect(code).To(BeZero(), errOut)
	})

	It("import --out: lays the licences and, with --with-keys, the key Secrets out for Git", func() {
		tree := filepath.Join(dir, "licensing")
		out, errOut, code := offline("", "import", "-f", seedExample, "-n", "engineering", "--with-keys", "--out", tree)
		Expect(code).To(BeZero(), errOut)
		Expect(out).To(BeEmpty())
		licence := filepath.Join(tree, "engineering", "licenses", "ent-01hkzp3j7q9v2z8b4k5n6m7p8r.yaml")
		secret := filepath.Join(tree, "engineering", "secrets", "ent-01hkzp3j7q9v2z8b4k5n6m7p8r-key.yaml")
		Expect(errOut).To(HavePrefix("wrote " + licence + "\nwrote " + secret + "\n"))
		Expect(errOut).To(ContainSubstring("warning: 1 Secret manifest(s) hold licence keys in plain text: seal them"))

		var files []string
		Expect(filepath.WalkDir(tree, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return err
		})).To(Succeed())
		Expect(files).To(ConsistOf(licence, secret))
		info, err := os.Stat(secret)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)), "the Secret holds the key in plain text")
		data, err := os.ReadFile(secret)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(ContainSubstring("license-key: " + seedKey))
		data, err = os.ReadFile(licence)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).NotTo(ContainSubstring(seedKey))
		Expect(string(data)).To(ContainSubstring("name: ent-01hkzp3j7q9v2z8b4k5n6m7p8r-key"), "spec.key.secretRef names the Secret")

		_, errOut, code = offline("", "validate", tree)
		Expect(code).To(BeZero(), errOut)
	})

	It("import: fails with exit status 1 and says which entitlement it could not import", func() {
		bad := write("bad.json", `[{"entitlement_id": "e-1", "product": "CAD", "license_type": "rental", "status": "active", "issuer": "keygen"}]`)
		out, errOut, code := offline("", "import", "-f", bad)
		Expect(code).To(Equal(1))
		Expect(out).To(BeEmpty())
		Expect(errOut).To(ContainSubstring("error: " + bad + `[0]: license_type: "rental" is not one of perpetual, subscription`))
		Expect(strings.TrimSpace(errOut)).To(HaveSuffix("error: import incomplete: 1 of 1 entitlement(s) not imported"))
	})
})
