package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
)

const importExample = `  # Entitlements exported from the licensing platform, as SoftwareLicense YAML on stdout
  kubectl license import -f entitlements.json -n engineering

  # A spreadsheet export with the same columns, into a folder laid out for Git,
  # with productRef and policy chosen from the products kept in the repository
  kubectl license import -f entitlements.csv -n engineering --products licensing/products --out licensing

  # Also write the plain keys as Secret manifests (seal them before committing)
  kubectl license import -f entitlements.json -n engineering --with-keys --out licensing`

// ErrImport is returned (wrapped) when an entitlement could not be imported,
// or, with --strict, when a field was not imported.
var ErrImport = errors.New("import incomplete")

type importOptions struct {
	filename  string
	namespace string
	out       string
	products  []string
	withKeys  bool
	plainKeys bool
	strict    bool
}

// NewImportCmd is `kubectl license import -f FILE`: seed 001
// LicenseEntitlement records (JSON, one or a list, or CSV with the same
// columns) written as SoftwareLicense manifests to stdout or, with --out, to
// a folder laid out for Git. A key is never written in plain text unless
// --with-keys; every field not imported is reported on stderr.
func NewImportCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import -f FILE",
		Short: "Write licensing-platform entitlements (seed 001 JSON or CSV) as SoftwareLicense manifests for Git",
		Long: `Write entitlements exported from a licensing platform (Cryptlex, Keygen, LicenseSpring,
Zentitle, Sentinel, Reprise, FlexNet, OpenLM, AWS License Manager, Suger: the seed 001
LicenseEntitlement record) as SoftwareLicense manifests.

The file is JSON (one entitlement or a list of them) or CSV with a header row naming the
same fields (customer.id, activation.max_activations, ...); "-" reads standard input.
Each entitlement becomes a licence named after its entitlement_id. The mapping of every
field is in docs/kubectl-license-import-validate.md. Each licence written passes
kubectl license validate.

A licence key is never written in plain text unless --with-keys: a hashed key
(sha256:<hex>) becomes spec.entitlement.keyFingerprint, the fingerprint the operator
checks the key against; a plain key is recorded by its fingerprint only, and with
--with-keys also written into a Secret manifest that spec.key names. Seal those
Secrets (SealedSecrets, SOPS) before they go into Git.

Fields that are not seed 001's, and values that cannot be imported as they are, are
reported on stderr with their path; the command still succeeds, unless --strict.`,
		Example: importExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			return o.run(cmd.Context(), streams)
		},
	}
	cmd.Flags().StringVarP(&o.filename, "filename", "f", "", "The entitlements: a JSON or CSV file, or - for standard input.")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "The namespace of the licences (and key Secrets); left out of the manifests when not given.")
	cmd.Flags().StringVar(&o.out, "out", "",
		"Write one file per object into this folder, laid out for Git: DIR/<namespace>/licenses/<name>.yaml (and secrets/), instead of stdout.")
	cmd.Flags().StringSliceVar(&o.products, "products", nil,
		"LicenseProduct manifests (files or folders) to match each entitlement's product against, by displayName, name or sku: "+
			"a match sets spec.productRef and the policy.")
	cmd.Flags().BoolVar(&o.withKeys, "with-keys", false, "Write each plain licence key into a Secret manifest (seal it before committing it).")
	cmd.Flags().BoolVar(&o.plainKeys, "plain-keys", false, "Take every license_key as a plain key, even one of 64 hex digits (by default the SHA-256 of the key).")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "Fail when a field is unknown or a value was not imported.")
	if err := cmd.MarkFlagRequired("filename"); err != nil {
		panic(err)
	}
	return cmd
}

func (o *importOptions) run(ctx context.Context, streams genericiooptions.IOStreams) error {
	if o.namespace != "" {
		if errs := validation.IsDNS1123Label(o.namespace); len(errs) > 0 {
			return fmt.Errorf("--namespace %q: %s", o.namespace, strings.Join(errs, "; "))
		}
	}
	data, name, err := readInput(o.filename, streams.In)
	if err != nil {
		return err
	}
	read, err := Read(name, data)
	if err != nil {
		return err
	}
	products, err := readProducts(o.products)
	if err != nil {
		return err
	}
	schemas, err := validate.LoadSchemas()
	if err != nil {
		return fmt.Errorf("loading the CustomResourceDefinitions: %w", err)
	}
	res := Import(ctx, read, schemas, Options{Namespace: o.namespace, WithKeys: o.withKeys, PlainKeys: o.plainKeys,
		Products: products, Now: time.Now()})

	if o.out != "" {
		err = WriteTree(o.out, res.Mapped, streams.ErrOut)
	} else {
		err = WriteStream(streams.Out, res.Mapped)
	}
	if err != nil {
		return err
	}
	if err := res.Report(streams.ErrOut); err != nil {
		return err
	}
	switch {
	case len(res.Errors) > 0:
		return fmt.Errorf("%w: %d of %d entitlement(s) not imported", ErrImport, res.Total-len(res.Mapped), res.Total)
	case o.strict && (len(res.Unknown) > 0 || len(res.Notices) > 0):
		return fmt.Errorf("%w: %d unknown field(s) and %d value(s) not imported as they are (--strict)", ErrImport, len(res.Unknown), len(res.Notices))
	}
	return nil
}

func readInput(filename string, stdin io.Reader) ([]byte, string, error) {
	if filename == "-" {
		data, err := io.ReadAll(stdin)
		return data, "<stdin>", err
	}
	data, err := os.ReadFile(filename)
	return data, filename, err
}

// readProducts reads the LicenseProducts of manifests at paths.
func readProducts(paths []string) ([]*licensingv1alpha1.LicenseProduct, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	docs, err := validate.ReadPaths(paths, nil)
	if err != nil {
		return nil, err
	}
	var out []*licensingv1alpha1.LicenseProduct
	for _, d := range docs {
		if d.Err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, d.Err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if json.Unmarshal(d.JSON, &head) != nil || head.APIVersion != licensingv1alpha1.GroupVersion.String() || head.Kind != "LicenseProduct" {
			continue
		}
		p := &licensingv1alpha1.LicenseProduct{}
		if err := json.Unmarshal(d.JSON, p); err != nil {
			return nil, fmt.Errorf("%s: LicenseProduct: %w", d.File, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--products %s: no LicenseProduct found", strings.Join(paths, ","))
	}
	return out, nil
}

// Result is what Import did.
type Result struct {
	// Total counts the entitlements read, imported or not.
	Total int
	// Mapped are the entitlements imported, in order.
	Mapped []*Mapped
	// Unknown are the fields and columns that are not seed 001's.
	Unknown []Notice
	// Notices are the values not imported as they are.
	Notices []Notice
	// Errors are the entitlements not imported, and why.
	Errors []Notice
}

// Import maps every record read and keeps the licences that the API server
// would accept (judged by schemas, as kubectl license validate judges them)
// and whose names are unique.
func Import(ctx context.Context, read *ReadResult, schemas *validate.Schemas, opts Options) *Result {
	res := &Result{Total: len(read.Records) + len(read.Errors), Unknown: read.Unknown, Errors: read.Errors}
	names := map[string]string{}
	for _, r := range read.Records {
		m, notices, errs := Map(r, opts)
		res.Notices = append(res.Notices, notices...)
		if len(errs) > 0 {
			res.Errors = append(res.Errors, errs...)
			continue
		}
		if first, ok := names[m.License.Name]; ok {
			res.Errors = append(res.Errors, Notice{Source: r.Source, Path: entitlementIDField,
				Message: fmt.Sprintf("gives the licence name %q, as %s does: not imported", m.License.Name, first)})
			continue
		}
		if errs := judge(ctx, schemas, r.Source, m); len(errs) > 0 {
			res.Errors = append(res.Errors, errs...)
			continue
		}
		names[m.License.Name] = r.Source
		res.Mapped = append(res.Mapped, m)
	}
	res.Notices = append(res.Notices, crossCheck(ctx, schemas, res.Mapped, opts)...)
	return res
}

// productsFile names the --products objects among the documents validated.
const productsFile = "--products"

// crossCheck runs kubectl license validate's cross-object rules (those of
// the operator's admission webhooks) on the licences with the products of
// --products, and reports what they find about the licences: a licence the
// webhook would refuse is written all the same, for the administrator to
// complete (for example the users of a user-based product).
func crossCheck(ctx context.Context, schemas *validate.Schemas, mapped []*Mapped, opts Options) []Notice {
	if len(opts.Products) == 0 || len(mapped) == 0 {
		return nil
	}
	docs := make([]validate.Document, 0, len(opts.Products)+len(mapped))
	for i, p := range opts.Products {
		data, err := json.Marshal(p)
		if err != nil {
			continue
		}
		docs = append(docs, validate.Document{File: productsFile, Index: i + 1, JSON: data})
	}
	for _, m := range mapped {
		data, err := json.Marshal(m.License)
		if err != nil {
			continue
		}
		docs = append(docs, validate.Document{File: m.Source, Index: 1, JSON: data})
	}
	var out []Notice
	for _, f := range schemas.Validate(ctx, docs, validate.Options{Namespace: opts.Namespace}).CrossObject {
		if f.File == productsFile {
			continue
		}
		out = append(out, Notice{Source: f.File, Path: f.Field,
			Message: fmt.Sprintf("the operator's admission webhook (%s): %s", f.Severity, f.Message)})
	}
	return out
}

// judge refuses a licence the API server would refuse.
func judge(ctx context.Context, schemas *validate.Schemas, source string, m *Mapped) []Notice {
	data, err := json.Marshal(m.License)
	if err != nil {
		return []Notice{{Source: source, Message: err.Error()}}
	}
	ns := m.License.Namespace
	if ns == "" {
		ns = "default"
	}
	v := schemas.Judge(ctx, data, ns)
	var out []Notice
	for _, e := range v.Errors {
		out = append(out, Notice{Source: source, Path: e.Field, Message: "the API server would refuse the licence: " + e.ErrorBody()})
	}
	for _, p := range v.UnknownFields {
		out = append(out, Notice{Source: source, Path: p, Message: "the API server would refuse the licence: unknown field"})
	}
	return out
}

// Report writes the unknown fields, the notices and the errors to w, and a
// warning when Secrets with keys were written.
func (r *Result) Report(w io.Writer) error {
	var b strings.Builder
	for _, n := range r.Unknown {
		b.WriteString("unknown: " + n.String() + "\n")
	}
	for _, n := range r.Notices {
		b.WriteString("note: " + n.String() + "\n")
	}
	for _, n := range r.Errors {
		b.WriteString("error: " + n.String() + "\n")
	}
	secrets := 0
	for _, m := range r.Mapped {
		if m.Secret != nil {
			secrets++
		}
	}
	if secrets > 0 {
		fmt.Fprintf(&b, "warning: %d Secret manifest(s) hold licence keys in plain text: seal them (SealedSecrets: kubeseal; SOPS: sops --encrypt) "+
			"before they go into Git, and never commit them as they are\n", secrets)
	}
	fmt.Fprintf(&b, "imported %d of %d entitlement(s)\n", len(r.Mapped), r.Total)
	_, err := io.WriteString(w, b.String())
	return err
}

// Manifest renders an object as YAML, without status or server fields.
func Manifest(obj runtime.Object, comment string) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append([]byte("# "+comment+"\n"), out...), nil
}

func licenceComment(m *Mapped) string {
	e := m.License.Spec.Entitlement
	return fmt.Sprintf("Imported by kubectl license import from %s (entitlement %s of %s).", m.Source, e.EntitlementID, e.Issuer)
}

func secretComment(m *Mapped) string {
	return fmt.Sprintf("The licence key of %s, in plain text: seal this Secret (kubeseal, SOPS) before it goes into Git.", m.License.Name)
}

// WriteStream writes the manifests as one YAML stream.
func WriteStream(w io.Writer, mapped []*Mapped) error {
	var b strings.Builder
	for i, m := range mapped {
		if i > 0 {
			b.WriteString("---\n")
		}
		y, err := Manifest(m.License, licenceComment(m))
		if err != nil {
			return err
		}
		b.Write(y)
		if m.Secret != nil {
			y, err := Manifest(m.Secret, secretComment(m))
			if err != nil {
				return err
			}
			b.WriteString("---\n")
			b.Write(y)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TreeDir is the folder of a namespace's objects under dir: dir/<namespace>,
// or dir itself for objects without a namespace.
func TreeDir(dir, namespace string) string {
	if namespace == "" {
		return dir
	}
	return filepath.Join(dir, namespace)
}

// WriteTree writes each licence to dir/<namespace>/licenses/<name>.yaml and
// each key Secret to dir/<namespace>/secrets/<name>.yaml (mode 0600),
// saying on log what it wrote.
func WriteTree(dir string, mapped []*Mapped, log io.Writer) error {
	var b strings.Builder
	write := func(path string, obj runtime.Object, comment string, mode os.FileMode) error {
		y, err := Manifest(obj, comment)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, y, mode); err != nil {
			return err
		}
		b.WriteString("wrote " + path + "\n")
		return nil
	}
	for _, m := range mapped {
		base := TreeDir(dir, m.License.Namespace)
		if err := write(filepath.Join(base, "licenses", m.License.Name+".yaml"), m.License, licenceComment(m), 0o644); err != nil {
			return err
		}
		if m.Secret != nil {
			if err := write(filepath.Join(base, "secrets", m.Secret.Name+".yaml"), m.Secret, secretComment(m), 0o600); err != nil {
				return err
			}
		}
	}
	_, err := io.WriteString(log, b.String())
	return err
}
