package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const validateExample = `  # Validate every manifest under licensing/ before it is applied (CI)
  kubectl license validate licensing/

  # Several files, and a kustomize build from standard input
  kubectl license validate products.yaml licences.yaml
  kustomize build overlays/prod | kubectl license validate -

  # Machine-readable
  kubectl license validate -o json licensing/`

// ErrRefused is returned (wrapped) by the validate command when the API server
// would refuse an object, or, with --strict, when a cross-object rule fails.
var ErrRefused = errors.New("refused")

// validateOptions are the flags of the validate command.
type validateOptions struct {
	output          string
	namespace       string
	withoutWebhooks bool
	strict          bool
}

// NewValidateCmd is `kubectl license validate PATH...`: it judges licensing
// manifests offline, with no cluster, as the API server would judge a create
// of each (the CRDs' OpenAPI schemas and CEL rules, with the API server's own
// libraries at the version this build pins), and reports separately the
// rules of the operator's admission webhooks that the other objects in the
// files allow it to check. It fails when the API server would refuse an
// object.
func NewValidateCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &validateOptions{output: "text"}
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check licensing manifests offline, as the API server would (schemas and CEL), before they are applied",
		Long: `Check licensing manifests offline, with no cluster, before they are applied.

Each object of the licensing.license-operator.dev group in the files is judged
as the API server judges a create of it: the CustomResourceDefinitions' OpenAPI
schemas (types, enums, required fields, patterns, bounds, unknown fields), their
CEL rules (x-kubernetes-validations) and the metadata checks, with the API
server's own libraries at the version this plugin was built with, against the
CRDs of this release of the operator. Errors are printed as
file:Kind/namespace/name:field: message, and the command exits non-zero.

Then, in a section of its own, the rules of the operator's admission webhooks
that need other objects are checked against the other objects in the same
files: a licence's product and policy, an assignment's licence and product, the
licence's sharing and seat model, bundle members, duplicates. A rule whose other
object is of a kind the files do not hold is listed as not checked. These
findings fail the command only with --strict.

Files are YAML (several documents) or JSON; directories are read recursively
(*.yaml, *.yml, *.json; kustomization files skipped); "-" reads standard input.
Other objects (Namespaces, Secrets, ...) are skipped, but a Namespace's labels are
used for the namespace selectors of products and licences.`,
		Example: validateExample,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, streams, args)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", o.output, "Output format: text or json.")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "",
		"The namespace of the objects that set none, as with kubectl apply -n (used to match references across namespaces).")
	cmd.Flags().BoolVar(&o.withoutWebhooks, "without-webhooks", false,
		"Judge as an API server without the operator's webhooks: the features short form (features: [export]) is refused.")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "Also fail when a cross-object rule that the operator's webhook enforces fails.")
	return cmd
}

func (o *validateOptions) run(cmd *cobra.Command, streams genericiooptions.IOStreams, args []string) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output must be text or json, not %q", o.output)
	}
	cmd.SilenceUsage = true
	schemas, err := LoadSchemas()
	if err != nil {
		return fmt.Errorf("loading the CustomResourceDefinitions: %w", err)
	}
	docs, err := ReadPaths(args, streams.In)
	if err != nil {
		return err
	}
	r := schemas.Validate(cmd.Context(), docs, Options{WithoutWebhooks: o.withoutWebhooks, Namespace: o.namespace})
	if o.output == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := PrintText(streams.Out, r); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(streams.ErrOut, Summary(r)); err != nil {
		return err
	}
	switch {
	case len(r.Errors) > 0:
		return fmt.Errorf("%w: %d error(s) in %d of %d object(s)", ErrRefused, len(r.Errors), r.Refused, r.Objects)
	case o.strict && r.CrossObjectErrors() > 0:
		return fmt.Errorf("%w: %d cross-object error(s) (--strict)", ErrRefused, r.CrossObjectErrors())
	}
	return nil
}

// PrintText writes the report as lines file:object:field: message, the
// cross-object findings in a section of their own.
func PrintText(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, f := range r.Errors {
		b.WriteString(f.String() + "\n")
	}
	for _, f := range r.Warnings {
		b.WriteString("warning: " + f.String() + "\n")
	}
	if len(r.CrossObject) > 0 || len(r.NotChecked) > 0 {
		b.WriteString("\nCross-object rules (the operator's admission webhooks, judged with the objects in the files):\n")
		for _, f := range r.CrossObject {
			b.WriteString(f.String() + "\n")
		}
		for _, n := range r.NotChecked {
			b.WriteString("not checked: " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is one line: what was judged and what was found.
func Summary(r *Report) string {
	parts := []string{fmt.Sprintf("%d licensing object(s) checked", r.Objects)}
	if r.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d other object(s) skipped", r.Skipped))
	}
	parts = append(parts, fmt.Sprintf("%d refused by the schemas and CEL rules (%d error(s))", r.Refused, len(r.Errors)))
	parts = append(parts, fmt.Sprintf("%d cross-object error(s), %d warning(s)", r.CrossObjectErrors(), len(r.CrossObject)-r.CrossObjectErrors()))
	return strings.Join(parts, ", ")
}
