package roundtrip

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense"
	"github.com/license-operator/license-operator/internal/kubectllicense/importer"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// seedExample is the seed 001 example, verbatim (TestSeedExampleIsTheSeeds
// in internal/kubectllicense/importer checks it against the seed).
var seedExample = filepath.Join(utiltesting.RepoRoot(), "internal", "kubectllicense", "importer", "testdata", "seed001-example.json")

// example is the variant that is the seed example itself.
const example = ""

// variants are copies of the seed example that differ in one field each:
// the values of the seed's enums, and a field its example cannot import
// (a machine fingerprint cut short), go through the round trip too.
var variants = map[string]func(e map[string]any){
	"floating":    func(e map[string]any) { e["license_type"] = "floating" },
	"named-user":  func(e map[string]any) { e["license_type"] = "named-user" },
	"node-locked": func(e map[string]any) { e["license_type"] = "node-locked" },
	"site":        func(e map[string]any) { e["license_type"] = "site" },
	"trial":       func(e map[string]any) { e["license_type"] = "trial" },
	"suspended":   func(e map[string]any) { e["status"] = "suspended" },
	"revoked":     func(e map[string]any) { e["status"] = "revoked" },
	"fingerprint": func(e map[string]any) {
		e["activation"].(map[string]any)["machine_fingerprint"] = "sha256:" + strings.Repeat("9f86d081", 8)
	},
}

// values are what the round trip gave, by variant: the entitlements, the
// licences as the API server stores them (status included) and the records
// export wrote. Each accessor notes the field it was asked for, so that a
// row is known to check every field it names.
type values struct {
	read     map[string]bool
	ent      map[string]map[string]any
	lic      map[string]*unstructured.Unstructured
	rec      map[string]map[string]any
	exported string
	notes    string
}

func (v *values) forRow() *values {
	c := *v
	c.read = map[string]bool{}
	return &c
}

// seed001 is the entitlement's field at path.
func (v *values) seed001(variant, path string) any {
	v.read["seed 001 "+path] = true
	return at(v.ent[variant], path)
}

// crd is the licence's field at path, as stored.
func (v *values) crd(variant, path string) any {
	v.read["CRD "+path] = true
	return at(v.lic[variant].Object, path)
}

// seed000 is the record's field.
func (v *values) seed000(variant, field string) any {
	v.read["seed 000 "+field] = true
	rec, ok := v.rec[variant]
	Expect(ok).To(BeTrue(), "no record of variant %q", variant)
	Expect(rec).To(HaveKey(field))
	return rec[field]
}

// flow is the value of an enum of seed 001 in each place of a row: "" for a
// spec field left out.
type flow struct{ seed001, spec, status, seed000 string }

// flows checks, for each variant, that its seed 001 field f001 holds
// want's value and that the value flows to the licence's spec and status
// fields and to the record's field f000.
func (v *values) flows(g Gomega, f001, spec, status, f000 string, want map[string]flow) {
	for variant, w := range want {
		g.Expect(v.seed001(variant, f001)).To(Equal(w.seed001), variant)
		if w.spec == "" {
			g.Expect(v.crd(variant, spec)).To(BeNil(), variant)
		} else {
			g.Expect(v.crd(variant, spec)).To(Equal(w.spec), variant)
		}
		g.Expect(v.crd(variant, status)).To(Equal(w.status), variant)
		g.Expect(v.seed000(variant, f000)).To(Equal(w.seed000), variant)
	}
}

// notExported says that no record carries the text s.
func (v *values) notExported(g Gomega, s string) {
	g.Expect(v.exported).NotTo(ContainSubstring(s), "export writes %q, which no seed 000 field maps", s)
}

func at(obj map[string]any, path string) any {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// text is a value as the JSON it is written as (a string as it is), so that
// 25 read from JSON, from the API server and from export compare equal.
func text(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	b, err := json.Marshal(x)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// instant is a date of seed 001, the CRD or seed 000 as the instant it names.
func instant(x any) string {
	s, ok := x.(string)
	Expect(ok).To(BeTrue(), "%v is not a date", x)
	t, err := licensingv1alpha1.ParseDate(s)
	Expect(err).NotTo(HaveOccurred())
	return t.UTC().Format("2006-01-02T15:04:05Z07:00")
}

// mapping is a row of the table "Import (seed 001)" of docs/kubectl-license.md:
// the seed 001 fields, the CRD fields they become, the seed 000 fields they
// are exported as (none for a field no seed 000 field maps), and the check
// that the values flow along it.
type mapping struct {
	seed001, crd, seed000 []string
	holds                 func(g Gomega, v *values)
}

func mappings(product *licensingv1alpha1.LicenseProduct) []mapping {
	return []mapping{
		{
			seed001: []string{"entitlement_id"},
			crd:     []string{"metadata.name", "spec.entitlement.entitlementID"},
			holds: func(g Gomega, v *values) {
				id := v.seed001(example, "entitlement_id").(string)
				g.Expect(v.crd(example, "metadata.name")).To(Equal("ent-01hkzp3j7q9v2z8b4k5n6m7p8r"))
				g.Expect(v.crd(example, "spec.entitlement.entitlementID")).To(Equal(id))
				v.notExported(g, id)
			},
		},
		{
			seed001: []string{"product"},
			crd:     []string{"spec.productName", "spec.productRef.name", "status.product.displayName", "status.product.vendor", "status.product.sku"},
			seed000: []string{"product_name", "vendor", "product_sku"},
			holds: func(g Gomega, v *values) {
				p := v.seed001(example, "product")
				g.Expect(v.crd(example, "spec.productName")).To(Equal(p))
				g.Expect(v.crd(example, "spec.productRef.name")).To(Equal(product.Name), "the product whose displayName it is")
				g.Expect(v.crd(example, "status.product.displayName")).To(Equal(p))
				g.Expect(v.seed000(example, "product_name")).To(Equal(p))
				g.Expect(v.crd(example, "status.product.vendor")).To(Equal(product.Spec.Vendor))
				g.Expect(v.seed000(example, "vendor")).To(Equal(product.Spec.Vendor))
				g.Expect(v.crd(example, "status.product.sku")).To(Equal(product.Spec.SKU))
				g.Expect(v.seed000(example, "product_sku")).To(Equal(product.Spec.SKU))
			},
		},
		{
			seed001: []string{"product_version"},
			crd:     []string{"spec.entitlement.productVersion"},
			holds: func(g Gomega, v *values) {
				g.Expect(v.crd(example, "spec.entitlement.productVersion")).To(Equal(v.seed001(example, "product_version")))
				v.notExported(g, v.seed001(example, "product_version").(string))
			},
		},
		{
			seed001: []string{"license_type"},
			crd: []string{"spec.policyCode", "spec.overrides.type", "spec.overrides.trial", "spec.overrides.seatModel",
				"status.effectivePolicy.type", "status.effectivePolicy.seatModel"},
			seed000: []string{"license_type"},
			holds: func(g Gomega, v *values) {
				By("subscription: the product's policy of type Subscription")
				g.Expect(v.seed001(example, "license_type")).To(Equal("subscription"))
				g.Expect(v.crd(example, "spec.policyCode")).To(Equal("annual"))
				g.Expect(v.crd(example, "status.effectivePolicy.type")).To(Equal("Subscription"))
				g.Expect(v.crd(example, "status.effectivePolicy.seatModel")).To(Equal("Concurrent"))
				g.Expect(v.seed000(example, "license_type")).To(Equal("concurrent"), "the seat model of the product's policy")

				By("trial: type TimeLimited and trial")
				g.Expect(v.crd("trial", "spec.overrides.type")).To(Equal("TimeLimited"))
				g.Expect(v.crd("trial", "spec.overrides.trial")).To(BeTrue())
				g.Expect(v.crd("trial", "status.effectivePolicy.type")).To(Equal("TimeLimited"))
				g.Expect(v.seed000("trial", "license_type")).To(Equal("concurrent"))

				By("the ways of counting seats: the seat model, and license_type in seed 000")
				v.flows(g, "license_type", "spec.overrides.seatModel", "status.effectivePolicy.seatModel", "license_type", map[string]flow{
					// floating is the product's default policy's model: nothing to override.
					"floating":    {"floating", "", "Concurrent", "concurrent"},
					"named-user":  {"named-user", "NamedUser", "NamedUser", "named_user"},
					"node-locked": {"node-locked", "NodeLocked", "NodeLocked", "node_locked"},
					"site":        {"site", "Site", "Site", "site"},
				})
			},
		},
		{
			seed001: []string{"license_key"},
			crd:     []string{"spec.entitlement.keyFingerprint", "spec.key.secretRef.name"},
			holds: func(g Gomega, v *values) {
				key := v.seed001(example, "license_key").(string)
				sum := sha256.Sum256([]byte(key))
				fingerprint := "sha256:" + hex.EncodeToString(sum[:])
				g.Expect(v.crd(example, "spec.entitlement.keyFingerprint")).To(Equal(fingerprint))
				name := v.crd(example, "spec.key.secretRef.name").(string)
				secret := &corev1.Secret{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: v.lic[example].GetNamespace(), Name: name}, secret)).To(Succeed())
				g.Expect(string(secret.Data["license-key"])).To(Equal(key), "the Secret --with-keys wrote")
				v.notExported(g, key)
				v.notExported(g, fingerprint)
			},
		},
		{
			seed001: []string{"customer.id", "customer.name", "customer.email"},
			crd:     []string{"spec.entitlement.customer.id", "spec.entitlement.customer.name", "spec.entitlement.customer.email"},
			holds: func(g Gomega, v *values) {
				for _, f := range []string{"id", "name", "email"} {
					c := v.seed001(example, "customer."+f)
					g.Expect(v.crd(example, "spec.entitlement.customer."+f)).To(Equal(c))
					v.notExported(g, c.(string))
				}
			},
		},
		{
			seed001: []string{"seats"},
			crd:     []string{"spec.seats", "status.seats.total", "status.seats.available"},
			seed000: []string{"total_seats", "available_seats"},
			holds: func(g Gomega, v *values) {
				seats := text(v.seed001(example, "seats"))
				g.Expect(text(v.crd(example, "spec.seats"))).To(Equal(seats))
				g.Expect(text(v.crd(example, "status.seats.total"))).To(Equal(seats))
				g.Expect(text(v.seed000(example, "total_seats"))).To(Equal(seats))
				// 25 seats, 18 held by the assignment: 7 left.
				g.Expect(text(v.crd(example, "status.seats.available"))).To(Equal("7"))
				g.Expect(text(v.seed000(example, "available_seats"))).To(Equal("7"))
			},
		},
		{
			seed001: []string{"seats_consumed"},
			crd:     []string{"status.seats.used"},
			seed000: []string{"used_seats"},
			holds: func(g Gomega, v *values) {
				// Not imported (a note says so): the operator counts the
				// seats the assignments hold, here an assignment of as
				// many seats as the seed says are consumed.
				g.Expect(v.notes).To(ContainSubstring("seats_consumed: 18 not imported"))
				consumed := text(v.seed001(example, "seats_consumed"))
				g.Expect(text(v.crd(example, "status.seats.used"))).To(Equal(consumed))
				g.Expect(text(v.seed000(example, "used_seats"))).To(Equal(consumed))
			},
		},
		{
			seed001: []string{"valid_from"},
			crd:     []string{"spec.startDate", "status.validFrom"},
			seed000: []string{"purchase_date"},
			holds: func(g Gomega, v *values) {
				from := instant(v.seed001(example, "valid_from"))
				g.Expect(instant(v.crd(example, "spec.startDate"))).To(Equal(from))
				g.Expect(instant(v.crd(example, "status.validFrom"))).To(Equal(from))
				g.Expect(v.seed000(example, "purchase_date")).To(Equal(from), "no spec.purchaseDate: the subscription began")
			},
		},
		{
			seed001: []string{"valid_until"},
			crd:     []string{"spec.expiryDate", "status.validUntil", "status.renewalTime"},
			seed000: []string{"expiry_date", "renewal_date"},
			holds: func(g Gomega, v *values) {
				until := instant(v.seed001(example, "valid_until"))
				g.Expect(instant(v.crd(example, "spec.expiryDate"))).To(Equal(until))
				g.Expect(instant(v.crd(example, "status.validUntil"))).To(Equal(until))
				g.Expect(instant(v.crd(example, "status.renewalTime"))).To(Equal(until), "no spec.renewalDate: the end of the term")
				g.Expect(v.seed000(example, "expiry_date")).To(Equal(until))
				g.Expect(v.seed000(example, "renewal_date")).To(Equal(until))
			},
		},
		{
			seed001: []string{"status"},
			crd:     []string{"spec.state", "status.state"},
			seed000: []string{"status"},
			holds: func(g Gomega, v *values) {
				v.flows(g, "status", "spec.state", "status.state", "status", map[string]flow{
					// Left out by import, defaulted to Active by the API server; the state computed from the dates.
					example:     {"active", "Active", "Active", "active"},
					"suspended": {"suspended", "Suspended", "Suspended", "suspended"},
					"revoked":   {"revoked", "Revoked", "Revoked", "revoked"},
				})
			},
		},
		{
			seed001: []string{"activation.max_activations"},
			crd:     []string{"spec.overrides.maxActivations", "status.maxActivations"},
			holds: func(g Gomega, v *values) {
				n := text(v.seed001(example, "activation.max_activations"))
				g.Expect(text(v.crd(example, "spec.overrides.maxActivations"))).To(Equal(n))
				g.Expect(text(v.crd(example, "status.maxActivations"))).To(Equal(n))
			},
		},
		{
			seed001: []string{"activation.machine_fingerprint"},
			crd:     []string{"spec.entitlement.machineFingerprints"},
			holds: func(g Gomega, v *values) {
				cut := v.seed001(example, "activation.machine_fingerprint").(string)
				g.Expect(v.crd(example, "spec.entitlement.machineFingerprints")).To(BeNil(), "the seed's own example is cut short")
				g.Expect(v.notes).To(ContainSubstring(fmt.Sprintf("activation.machine_fingerprint: %q not imported: cut short", cut)))
				full := v.seed001("fingerprint", "activation.machine_fingerprint").(string)
				g.Expect(v.crd("fingerprint", "spec.entitlement.machineFingerprints")).To(Equal([]any{full}))
				v.notExported(g, full)
			},
		},
		{
			seed001: []string{"activation.offline_grace_period_days"},
			crd:     []string{"spec.entitlement.offlineGracePeriod"},
			holds: func(g Gomega, v *values) {
				days := text(v.seed001(example, "activation.offline_grace_period_days"))
				g.Expect(v.crd(example, "spec.entitlement.offlineGracePeriod")).To(Equal(days + "d"))
			},
		},
		{
			seed001: []string{"issuer"},
			crd:     []string{"spec.entitlement.issuer"},
			holds: func(g Gomega, v *values) {
				issuer := v.seed001(example, "issuer")
				g.Expect(v.crd(example, "spec.entitlement.issuer")).To(Equal(issuer))
				v.notExported(g, issuer.(string))
			},
		},
	}
}

// docRow is a row of the doc's table, by the backticked names of its cells.
type docRow struct{ seed001, crd, seed000 []string }

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	crdPath    = regexp.MustCompile(`^(metadata|spec|status)\.[A-Za-z0-9.]+$`)
)

// seed001Fields are the fields of seed 001 that hold values (not objects).
func seed001Fields() []string {
	var all, leaves []string
	for _, f := range importer.SeedFields {
		all = append(all, f.Path())
	}
	for _, p := range all {
		if !slices.ContainsFunc(all, func(q string) bool { return strings.HasPrefix(q, p+".") }) {
			leaves = append(leaves, p)
		}
	}
	return leaves
}

// docTable reads the table under "## Import (seed 001)" of
// docs/kubectl-license.md: in each cell, the backticked names that are
// seed 001 fields, CRD field paths or seed 000 fields (other backticked text,
// such as values, is not a name).
func docTable() []docRow {
	data, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "docs", "kubectl-license.md"))
	Expect(err).NotTo(HaveOccurred())
	_, section, found := strings.Cut(string(data), "\n## Import (seed 001)\n")
	Expect(found).To(BeTrue(), `docs/kubectl-license.md has no "## Import (seed 001)"`)
	section, _, _ = strings.Cut(section, "\n## ")
	_, table, found := strings.Cut(section, "\n| seed 001 field | CRD field | seed 000 field |\n|---|---|---|\n")
	Expect(found).To(BeTrue(), "the section has no table seed 001 field | CRD field | seed 000 field")
	seed000 := kubectllicense.RecordColumns()
	seed001 := seed001Fields()
	var rows []docRow
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		Expect(cells).To(HaveLen(3), "a row of three cells: %s", line)
		names := func(cell string, is func(string) bool) []string {
			var out []string
			for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
				if is(m[1]) && !slices.Contains(out, m[1]) {
					out = append(out, m[1])
				}
			}
			return out
		}
		rows = append(rows, docRow{
			seed001: names(cells[0], func(s string) bool { return slices.Contains(seed001, s) }),
			crd:     names(cells[1], crdPath.MatchString),
			seed000: names(cells[2], func(s string) bool { return slices.Contains(seed000, s) }),
		})
	}
	return rows
}

// key names a row by its seed 001 fields.
func key(fields []string) string { return strings.Join(fields, ", ") }

// sorted is a sorted copy (nil for none).
func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

var _ = Describe("kubectl license import, then export", Ordered, ContinueOnFailure, func() {
	const ns = "engineering"
	product := utiltesting.MakeProduct("acme-cad").Vendor("Acme").SKU("ACME-CAD-PRO").
		Policy(utiltesting.MakePolicy("annual").Type(licensingv1alpha1.LicenseTypeSubscription).Obj()).Obj()
	product.Spec.DisplayName = "Acme CAD Pro"
	product.TypeMeta = metav1.TypeMeta{APIVersion: licensingv1alpha1.GroupVersion.String(), Kind: "LicenseProduct"}
	rows := mappings(product)
	v := &values{ent: map[string]map[string]any{}, lic: map[string]*unstructured.Unstructured{}, rec: map[string]map[string]any{}}

	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		By("the seed example, and its variants, as a licensing platform exports them")
		data, err := os.ReadFile(seedExample)
		Expect(err).NotTo(HaveOccurred())
		seed := map[string]any{}
		Expect(json.Unmarshal(data, &seed)).To(Succeed())
		v.ent[example] = seed
		names := map[string]string{}
		var list []map[string]any
		for variant, change := range variants {
			e := map[string]any{}
			Expect(json.Unmarshal(data, &e)).To(Succeed())
			change(e)
			e["entitlement_id"] = fmt.Sprint(e["entitlement_id"], "-", variant)
			v.ent[variant] = e
			list = append(list, e)
		}
		b, err := json.MarshalIndent(list, "", "  ")
		Expect(err).NotTo(HaveOccurred())
		variantsFile := filepath.Join(dir, "variants.json")
		Expect(os.WriteFile(variantsFile, b, 0o600)).To(Succeed())

		By("the product, in the cluster and in a file for --products")
		y, err := yaml.Marshal(product)
		Expect(err).NotTo(HaveOccurred())
		productsFile := filepath.Join(dir, "products.yaml")
		Expect(os.WriteFile(productsFile, y, 0o600)).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(k8sClient.Create(ctx, product.DeepCopy())).To(Succeed())

		By("kubectl license import, with the keys")
		var manifests []string
		for _, file := range []string{seedExample, variantsFile} {
			out, notes, err := plugin("import", "-f", file, "-n", ns, "--products", productsFile, "--with-keys")
			Expect(err).NotTo(HaveOccurred(), notes)
			manifests = append(manifests, out)
			v.notes += notes
		}
		Expect(v.notes).To(ContainSubstring("imported 1 of 1 entitlement(s)"))
		Expect(v.notes).To(ContainSubstring(fmt.Sprintf("imported %d of %d entitlement(s)", len(variants), len(variants))))

		By("applied as a person applies them: what import writes, as it is")
		for _, m := range manifests {
			for _, d := range validate.SplitDocuments("import.yaml", []byte(m)) {
				Expect(d.Err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{}
				Expect(u.UnmarshalJSON(d.JSON)).To(Succeed())
				// The webhooks' caches follow the API server: the product may be new to them.
				Eventually(func() error { return k8sClient.Create(ctx, u.DeepCopy()) }).Should(Succeed())
				if u.GetKind() == "SoftwareLicense" {
					id := u.Object["spec"].(map[string]any)["entitlement"].(map[string]any)["entitlementID"].(string)
					_, variant, _ := strings.Cut(id, "-")
					names[variant] = u.GetName()
				}
			}
		}
		Expect(names).To(HaveLen(len(variants) + 1))

		By("an assignment holding as many seats as the seed says are consumed")
		Expect(k8sClient.Create(ctx, utiltesting.MakeAssignment("cad-users", ns).License(names[example]).
			ServiceAccount("default").Seats(18).Obj())).To(Succeed())

		By("the operator computes every licence's status")
		Eventually(func(g Gomega) {
			for variant, name := range names {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(licensingv1alpha1.GroupVersion.WithKind("SoftwareLicense"))
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u)).To(Succeed())
				g.Expect(at(u.Object, "status.observedGeneration")).To(BeEquivalentTo(u.GetGeneration()), name)
				g.Expect(at(u.Object, "status.state")).NotTo(BeNil(), name)
				v.lic[variant] = u
			}
			g.Expect(at(v.lic[example].Object, "status.seats.used")).To(BeEquivalentTo(18))
		}).Should(Succeed())

		By("kubectl license export -o json")
		out, errOut, err := plugin("export", "-o", "json", "-n", ns, "--kubeconfig", kubeconfig)
		Expect(err).NotTo(HaveOccurred(), errOut)
		v.exported = out
		var records []map[string]any
		Expect(json.Unmarshal([]byte(out), &records)).To(Succeed())
		Expect(records).To(HaveLen(len(names)))
		for _, r := range records {
			for variant, u := range v.lic {
				if r["id"] == string(u.GetUID()) {
					v.rec[variant] = r
				}
			}
			keys := make([]string, 0, len(r))
			for k := range r {
				keys = append(keys, k)
			}
			Expect(sorted(keys)).To(Equal(sorted(kubectllicense.RecordColumns())), "a seed 000 record, every field written")
		}
		Expect(v.rec).To(HaveLen(len(names)))
	})

	It("has a row of the table in docs/kubectl-license.md for each field of seed 001, and the table is this test's", func() {
		doc := docTable()
		var covered []string
		for _, d := range doc {
			covered = append(covered, d.seed001...)
			i := slices.IndexFunc(rows, func(m mapping) bool { return key(m.seed001) == key(d.seed001) })
			Expect(i).NotTo(BeNumerically("<", 0), "the doc's row %q is not checked here", key(d.seed001))
			Expect(sorted(d.crd)).To(Equal(sorted(rows[i].crd)), "CRD fields of %q: the doc's (actual) and the test's", key(d.seed001))
			Expect(sorted(d.seed000)).To(Equal(sorted(rows[i].seed000)), "seed 000 fields of %q: the doc's (actual) and the test's", key(d.seed001))
		}
		Expect(doc).To(HaveLen(len(rows)), "a row of the test that the doc does not have")
		Expect(sorted(covered)).To(Equal(sorted(seed001Fields())), "every field of seed 001 has a row")
	})

	for _, m := range rows {
		It(fmt.Sprintf("takes %s to %s, and to %s", key(m.seed001), key(m.crd), orNone(m.seed000)), func() {
			row := v.forRow()
			m.holds(Default, row)
			for _, f := range m.seed001 {
				Expect(row.read).To(HaveKey("seed 001 "+f), "the row's check reads seed 001's %s", f)
			}
			for _, f := range m.crd {
				Expect(row.read).To(HaveKey("CRD "+f), "the row's check reads the CRD's %s", f)
			}
			for _, f := range m.seed000 {
				Expect(row.read).To(HaveKey("seed 000 "+f), "the row's check reads seed 000's %s", f)
			}
		})
	}
})

func orNone(fields []string) string {
	if len(fields) == 0 {
		return "no seed 000 field"
	}
	return key(fields)
}
