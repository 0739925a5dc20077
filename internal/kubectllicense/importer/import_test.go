package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/license-operator/license-operator/internal/kubectllicense/clitest"
	"github.com/license-operator/license-operator/internal/kubectllicense/importer"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// runImport runs the command as a user would.
func runImport(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	return clitest.Run(t, importer.NewImportCmd, stdin, args...)
}

func samples() string { return filepath.Join(utiltesting.RepoRoot(), "config", "samples") }

func testdata(name string) string { return filepath.Join("testdata", name) }

// objects reads the YAML import wrote, and checks that validate accepts
// every object of it, with the sample products beside it.
func objects(t *testing.T, yaml string) []*unstructured.Unstructured {
	t.Helper()
	docs := validate.SplitDocuments("import.yaml", []byte(yaml))
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if r := schemas.Validate(context.Background(), docs, validate.Options{}); len(r.Errors) > 0 {
		t.Errorf("kubectl license validate refuses what import wrote: %v", r.Errors)
	}
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(d.JSON); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// at is the value at a dotted path of u ("" when absent), as JSON text for
// anything but a string.
func at(u *unstructured.Unstructured, path string) string {
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, strings.Split(path, ".")...)
	if err != nil || !ok {
		return ""
	}
	if s, isString := v.(string); isString {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSeedExampleIsTheSeeds checks that testdata/seed001-example.json is
// exactly the seed's example: the example of each field of seed 001 (the
// schema, copied as it is into testdata), and that the fields import reads
// are the seed's.
func TestSeedExampleIsTheSeeds(t *testing.T) {
	raw, err := os.ReadFile(testdata("seed001-license-entitlement.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Type       string                     `json:"type"`
		Example    any                        `json:"example"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var paths []string
	var examples func(props map[string]json.RawMessage, prefix string) map[string]any
	examples = func(props map[string]json.RawMessage, prefix string) map[string]any {
		out := map[string]any{}
		for name, r := range props {
			var p prop
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, prefix+name)
			if p.Type == "object" {
				out[name] = examples(p.Properties, prefix+name+".")
			} else {
				out[name] = p.Example
			}
		}
		return out
	}
	want := examples(schema.Properties, "")
	var got map[string]any
	data, err := os.ReadFile(testdata("seed001-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("testdata/seed001-example.json is not the seed's example (-seed +file):\n%s", diff)
	}
	var read []string
	for _, f := range importer.SeedFields {
		read = append(read, f.Path())
	}
	slices.Sort(paths)
	slices.Sort(read)
	if diff := cmp.Diff(paths, read); diff != "" {
		t.Errorf("import reads other fields than seed 001 has (-seed +import):\n%s", diff)
	}
}

// TestImportSeedExample imports the seed's example, with the sample products
// to match its product against, and checks every field of seed 001 where
// docs/kubectl-license-import-validate.md says it goes.
func TestImportSeedExample(t *testing.T) {
	out, errOut, err := runImport(t, "", "-f", testdata("seed001-example.json"), "-n", "engineering", "--products", samples())
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	objs := objects(t, out)
	if len(objs) != 1 {
		t.Fatalf("wrote %d objects, want one licence:\n%s", len(objs), out)
	}
	l := objs[0]
	keyFingerprint := licensing.KeyFingerprint([]byte("ACME-XK4T-9PQ2-LM7R-WV3N"))
	mapping := []struct {
		seed, field, want string
	}{
		{"entitlement_id", "metadata.name", "ent-01hkzp3j7q9v2z8b4k5n6m7p8r"},
		{"entitlement_id", "spec.entitlement.entitlementID", "ent_01HKZP3J7Q9V2Z8B4K5N6M7P8R"},
		{"product", "spec.productName", "Acme CAD Pro"},
		{"product", "spec.productRef.name", "acme-cad"}, // the sample product whose displayName it is
		{"product_version", "spec.entitlement.productVersion", "2026.1"},
		{"license_type", "spec.overrides.type", "Subscription"}, // no acme-cad policy is a subscription
		{"license_type", "spec.policyCode", ""},
		{"license_key", "spec.entitlement.keyFingerprint", keyFingerprint},
		{"license_key", "spec.key", ""}, // a plain key is not written without --with-keys
		{"customer", "spec.entitlement.customer.id", "cust_5f3a2c1b"},
		{"customer.id", "spec.entitlement.customer.id", "cust_5f3a2c1b"},
		{"customer.name", "spec.entitlement.customer.name", "Globex Engineering"},
		{"customer.email", "spec.entitlement.customer.email", "licensing@globex.example"},
		{"seats", "spec.seats", "25"},
		{"seats_consumed", "status", ""}, // counted by the operator, reported as not imported
		{"valid_from", "spec.startDate", "2026-05-19T00:00:00Z"},
		{"valid_until", "spec.expiryDate", "2027-05-19T00:00:00Z"},
		{"status", "spec.state", ""}, // active: the default, Active
		{"activation", "spec.overrides.maxActivations", "3"},
		{"activation.max_activations", "spec.overrides.maxActivations", "3"},
		{"activation.machine_fingerprint", "spec.entitlement.machineFingerprints", ""}, // the seed's example is cut short
		{"activation.offline_grace_period_days", "spec.entitlement.offlineGracePeriod", "30d"},
		{"issuer", "spec.entitlement.issuer", "cryptlex"},
		{"", "metadata.namespace", "engineering"},
		{"", "apiVersion", "licensing.license-operator.dev/v1alpha1"},
		{"", "kind", "SoftwareLicense"},
	}
	covered := map[string]bool{}
	for _, m := range mapping {
		covered[m.seed] = true
		if got := at(l, m.field); got != m.want {
			t.Errorf("%s → %s = %q, want %q", m.seed, m.field, got, m.want)
		}
	}
	for _, f := range importer.SeedFields {
		if !covered[f.Path()] {
			t.Errorf("seed 001 field %s: the test does not say where it goes", f.Path())
		}
	}

	for _, want := range []string{
		`note: testdata/seed001-example.json: activation.machine_fingerprint: "sha256:7d4e9c1f..." not imported: cut short`,
		"note: testdata/seed001-example.json: seats_consumed: 18 not imported: the operator counts the seats used",
		"note: testdata/seed001-example.json: license_key: a plain key: not written (only its fingerprint",
		"note: testdata/seed001-example.json: spec.users: the operator's admission webhook (error): Required value: LicenseProduct acme-cad authorizes by User",
		"imported 1 of 1 entitlement(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out+errOut, "ACME-XK4T-9PQ2-LM7R-WV3N") {
		t.Errorf("the plain key was written:\n%s\n%s", out, errOut)
	}
}

func TestImportJSONList(t *testing.T) {
	out, errOut, err := runImport(t, "", "-f", testdata("entitlements.json"), "-n", "team-a", "--products", samples())
	if !errors.Is(err, importer.ErrImport) {
		t.Fatalf("error %v, want ErrImport (one entitlement is broken)\n%s", err, errOut)
	}
	objs := objects(t, out)
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byName[o.GetName()] = o
	}
	checks := []struct{ name, field, want string }{
		// A hashed key (sha256:, capital hex) is the fingerprint, in lowercase.
		{"kg-2026-0001", "spec.entitlement.keyFingerprint", "sha256:becd92f8ff4ffff7fefdfb8b2b4b418297edd282d6dd09fb846b4ae13a4f5fff"},
		// Matched by displayName without regard to case; floating is the
		// Concurrent seats of its default policy: no policyCode, no overrides.
		{"kg-2026-0001", "spec.productRef.name", "globex-db"},
		{"kg-2026-0001", "spec.policyCode", ""},
		{"kg-2026-0001", "spec.overrides", `{"maxActivations":30}`},
		{"kg-2026-0001", "spec.startDate", "2026-01-01T00:00:00Z"},
		// 64 bare hex digits are taken as the SHA-256; matched by SKU; the
		// NodeLocked policy is the default one.
		{"flx.2026.00417", "spec.entitlement.keyFingerprint", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"flx.2026.00417", "spec.productRef.name", "fea-solver"},
		{"flx.2026.00417", "spec.overrides", ""},
		{"flx.2026.00417", "spec.state", "Suspended"},
		{"flx.2026.00417", "spec.entitlement.machineFingerprints", `["4c4c4544-0042-3510-8052-b4c04f4e3332"]`},
		{"flx.2026.00417", "spec.entitlement.offlineGracePeriod", "3d"},
		// A trial picks the product's trial policy.
		{"trial-77", "spec.policyCode", "trial-30d"},
		{"trial-77", "spec.overrides", ""},
		{"trial-77", "spec.entitlement.keyFingerprint", ""},
		{"trial-77", "spec.expiryDate", "2026-03-31T00:00:00Z"},
	}
	for _, c := range checks {
		o, ok := byName[c.name]
		if !ok {
			t.Errorf("no licence %s in:\n%s", c.name, out)
			continue
		}
		if got := at(o, c.field); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.name, c.field, got, c.want)
		}
	}
	if len(objs) != 3 {
		t.Errorf("wrote %d objects, want 3", len(objs))
	}
	for _, want := range []string{
		"unknown: testdata/entitlements.json[0]: $[0].activation.floating_pool: unknown field: not a seed 001 LicenseEntitlement field, not imported",
		"unknown: testdata/entitlements.json[0]: $[0].vendor_notes: unknown field",
		"note: testdata/entitlements.json[1]: license_key: 64 hex digits, taken as the SHA-256 of the key",
		"note: testdata/entitlements.json[2]: license_key: hashed with another algorithm than SHA-256",
		`error: testdata/entitlements.json[3]: $[3].seats: must be a whole number, not "25"`,
		"imported 3 of 4 entitlement(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
}

func TestImportCSV(t *testing.T) {
	out, errOut, err := runImport(t, "", "-f", testdata("entitlements.csv"))
	if !errors.Is(err, importer.ErrImport) {
		t.Fatalf("error %v, want ErrImport (one row is broken)\n%s", err, errOut)
	}
	objs := objects(t, out)
	if len(objs) != 2 {
		t.Fatalf("wrote %d objects, want 2:\n%s", len(objs), out)
	}
	// The first row is the seed's example: the same licence as from JSON,
	// but without products to match and without a namespace.
	first := objs[0]
	for field, want := range map[string]string{
		"metadata.name":                       "ent-01hkzp3j7q9v2z8b4k5n6m7p8r",
		"metadata.namespace":                  "",
		"spec.productRef":                     "",
		"spec.productName":                    "Acme CAD Pro",
		"spec.seats":                          "25",
		"spec.overrides":                      `{"maxActivations":3,"type":"Subscription"}`,
		"spec.entitlement.customer.email":     "licensing@globex.example",
		"spec.entitlement.offlineGracePeriod": "30d",
		"spec.entitlement.keyFingerprint":     licensing.KeyFingerprint([]byte("ACME-XK4T-9PQ2-LM7R-WV3N")),
		"spec.expiryDate":                     "2027-05-19T00:00:00Z",
	} {
		if got := at(first, field); got != want {
			t.Errorf("row 2 %s = %q, want %q", field, got, want)
		}
	}
	if got := at(objs[1], "spec.overrides.type"); got != "Consumption" {
		t.Errorf("row 3 spec.overrides.type = %q, want Consumption", got)
	}
	for _, want := range []string{
		`unknown: testdata/entitlements.csv: column 18 "region": unknown column: not a seed 001 LicenseEntitlement field, not imported`,
		`error: testdata/entitlements.csv:4: $.seats: must be a whole number, not "five"`,
		"imported 2 of 3 entitlement(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}
}

func TestImportUnknownFieldsFailOnlyWithStrict(t *testing.T) {
	in := `{"entitlement_id":"e1","product":"P","license_type":"site","status":"active","issuer":"other","owner":{"team":"x"}}`
	_, errOut, err := runImport(t, in, "-f", "-")
	if err != nil {
		t.Errorf("without --strict: %v", err)
	}
	if !strings.Contains(errOut, "unknown: <stdin>: $.owner: unknown field") {
		t.Errorf("stderr = %q", errOut)
	}
	if _, _, err := runImport(t, in, "-f", "-", "--strict"); !errors.Is(err, importer.ErrImport) {
		t.Errorf("with --strict: %v, want ErrImport", err)
	}
}

func TestImportWithKeysIntoAGitTree(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := runImport(t, "", "-f", testdata("seed001-example.json"), "-n", "engineering", "--with-keys", "--out", dir)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing with --out", out)
	}
	licencePath := filepath.Join(dir, "engineering", "licenses", "ent-01hkzp3j7q9v2z8b4k5n6m7p8r.yaml")
	secretPath := filepath.Join(dir, "engineering", "secrets", "ent-01hkzp3j7q9v2z8b4k5n6m7p8r-key.yaml")
	var all []string
	for _, p := range []string{licencePath, secretPath} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(data))
		if !strings.Contains(errOut, "wrote "+p) {
			t.Errorf("stderr does not say it wrote %s:\n%s", p, errOut)
		}
	}
	if info, err := os.Stat(secretPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the Secret's file mode is %v (%v), want 0600", info.Mode().Perm(), err)
	}
	objs := objects(t, strings.Join(all, "---\n"))
	l, s := objs[0], objs[1]
	for field, want := range map[string]string{
		"spec.key.secretRef.name":         "ent-01hkzp3j7q9v2z8b4k5n6m7p8r-key",
		"spec.entitlement.keyFingerprint": licensing.KeyFingerprint([]byte("ACME-XK4T-9PQ2-LM7R-WV3N")),
	} {
		if got := at(l, field); got != want {
			t.Errorf("licence %s = %q, want %q", field, got, want)
		}
	}
	for field, want := range map[string]string{
		"kind":                   "Secret",
		"metadata.name":          "ent-01hkzp3j7q9v2z8b4k5n6m7p8r-key",
		"metadata.namespace":     "engineering",
		"stringData.license-key": "ACME-XK4T-9PQ2-LM7R-WV3N",
		"metadata.labels":        `{"licensing.license-operator.dev/license-key":"true"}`,
	} {
		if got := at(s, field); got != want {
			t.Errorf("Secret %s = %q, want %q", field, got, want)
		}
	}
	if !strings.Contains(errOut, "warning: 1 Secret manifest(s) hold licence keys in plain text: seal them") {
		t.Errorf("no warning to seal the Secret:\n%s", errOut)
	}
}

func TestImportRefusesWhatIsNotAnEntitlement(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"required fields":         {`{"entitlement_id":"e1","product":"P"}`, "error: <stdin>: license_type: required (seed 001)"},
		"an enum value":           {`{"entitlement_id":"e1","product":"P","license_type":"lifetime","status":"active","issuer":"other"}`, `error: <stdin>: license_type: "lifetime" is not one of perpetual`},
		"dates out of order":      {`{"entitlement_id":"e1","product":"P","license_type":"site","status":"active","issuer":"other","valid_from":"2026-02-01","valid_until":"2026-01-01"}`, "error: <stdin>: valid_until: 2026-01-01 is not after valid_from 2026-02-01"},
		"a date":                  {`{"entitlement_id":"e1","product":"P","license_type":"site","status":"active","issuer":"other","valid_from":"01/02/2026"}`, `error: <stdin>: valid_from: "01/02/2026" is not a date`},
		"more seats than the CRD": {`{"entitlement_id":"e1","product":"P","license_type":"site","status":"active","issuer":"other","seats":20000000}`, "error: <stdin>: spec.seats: the API server would refuse the licence: Invalid value: 20000000"},
		"the same name twice":     {`[{"entitlement_id":"E_1","product":"P","license_type":"site","status":"active","issuer":"other"},{"entitlement_id":"e-1","product":"P","license_type":"site","status":"active","issuer":"other"}]`, `error: <stdin>[1]: entitlement_id: gives the licence name "e-1", as <stdin>[0] does`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, errOut, err := runImport(t, c.in, "-f", "-")
			if !errors.Is(err, importer.ErrImport) {
				t.Errorf("error %v, want ErrImport", err)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr does not say %q:\n%s", c.want, errOut)
			}
		})
	}
}
