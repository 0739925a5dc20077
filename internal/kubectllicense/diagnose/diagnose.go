// Package diagnose holds two subcommands of the kubectl-license plugin:
// `why`, which explains why a Pod waits for a licence seat or why a
// workload's Pods are refused, and `can-i`, which asks the admission
// webhooks, with a server-side dry run, whether a workload's Pod would be
// admitted, would wait, or would be refused.
//
// Both speak the webhook's words: what the webhook also words (the place
// in line, the refusal) comes from the same functions of internal/licensing
// (WaitingMessage, WaitsInLine, PlaceText) or is the webhook's own text,
// read back from the events the workload controllers write or from the
// dry run's answer. Neither reads the operator's seat ledgers: only Pods,
// events, the status of licences and assignments, and workloads.
package diagnose

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// scheme knows the built-in kinds and the licensing kinds.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := licensingv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// Exit codes of can-i (and of why, which fails with 1 only when it cannot
// answer). 1 is what a failed cobra command exits with.
const (
	ExitYes   = 0
	ExitError = 1
	ExitNo    = 2
	ExitWait  = 3
)

// ExitCoder is an error that carries the exit code of the process.
type ExitCoder interface {
	error
	ExitCode() int
}

// verdictError ends a command whose answer was printed and whose exit code
// is the answer: it has nothing more to say.
type verdictError struct{ code int }

func (e verdictError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode implements ExitCoder.
func (e verdictError) ExitCode() int { return e.code }

// ExitCode is the exit code the plugin's main should exit with after its
// root command returned err: 0 for nil, the code of an ExitCoder (can-i's
// no and wait), and 1 for any other error.
func ExitCode(err error) int {
	if err == nil {
		return ExitYes
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}

// session is what a command talks to the cluster with.
type session struct {
	client    client.Client
	namespace string
}

// newSession builds a client from the kubeconfig flags; warnings, when not
// nil, receives the API server's warnings (the webhooks' admission
// warnings among them) instead of the log.
func newSession(flags *genericclioptions.ConfigFlags, warnings rest.WarningHandlerWithContext) (*session, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	if warnings != nil {
		cfg.WarningHandler, cfg.WarningHandlerWithContext = nil, warnings
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &session{client: c, namespace: ns}, nil
}

// silence keeps cobra from printing the usage after a failure at run time
// (the arguments were fine), and, for a verdict, the error too: the answer
// is printed already.
func silence(cmd *cobra.Command, err error) error {
	cmd.SilenceUsage = true
	var v verdictError
	if errors.As(err, &v) {
		cmd.SilenceErrors = true
	}
	return err
}

// indent writes text as lines under a heading, each indented by prefix.
func indent(w io.Writer, prefix, text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		_, _ = fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
