package kubectllicense

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	"github.com/license-operator/license-operator/internal/kubectllicense/importer"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
)

// NewRootCmd is the kubectl-license command with every subcommand.
func NewRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCmd(NewFactory(streams.ErrOut), streams)
}

// newRootCmd is the command tree over f (tests give it a fake clock).
func newRootCmd(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		// kubectl runs the plugin kubectl-license for "kubectl license":
		// its help and completion speak of "kubectl license".
		Use:   "kubectl-license",
		Short: "Licences, their seats and who holds them, as the license-operator computes them",
		Long: `kubectl license reads the licences, assignments and Pods of the license-operator
as their status, events and labels show them, for licence administrators.
It follows kubectl's flags: --kubeconfig, --context, -n, -A and -o.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl license",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	f.AddFlags(root)
	_ = root.RegisterFlagCompletionFunc("namespace", completeNamespaces(f))
	_ = root.RegisterFlagCompletionFunc("context", completeContexts(f))

	// The subcommands: one file and one line each (doc.go).
	root.AddCommand(NewReportCmd(f, streams))
	root.AddCommand(NewHoldersCmd(f, streams))
	root.AddCommand(NewExportCmd(f, streams))
	root.AddCommand(diagnose.NewWhyCmd(f.ConfigFlags, streams))
	root.AddCommand(diagnose.NewCanICmd(f.ConfigFlags, streams))
	root.AddCommand(importer.NewImportCmd(streams))
	root.AddCommand(validate.NewValidateCmd(streams))
	return root
}

// Execute runs the command line args with streams and returns the error to
// report (cobra's own, or a subcommand's).
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	root := NewRootCmd(streams)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
