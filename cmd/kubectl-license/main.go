// Command kubectl-license is the kubectl plugin of the license-operator:
// `kubectl license report|holders|export|why|can-i|import|validate ...`.
// Put it on the PATH and kubectl finds it (docs/kubectl-license.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/go-logr/logr"
	// Every client auth plugin (OIDC, exec, ...), as kubectl has them.
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/license-operator/license-operator/internal/kubectllicense"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
)

func main() {
	// The controller-runtime client logs nothing a user needs (the API
	// server's warnings go to stderr through the Factory); without a logger
	// it would complain that none was set.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	if err := kubectllicense.Execute(ctx, streams, os.Args[1:]); err != nil {
		// can-i's no and wait printed their answer; the exit code says it
		// again (diagnose.ExitCode). Any other error is reported here.
		var verdict diagnose.ExitCoder
		if !errors.As(err, &verdict) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		stop()
		os.Exit(diagnose.ExitCode(err))
	}
}
