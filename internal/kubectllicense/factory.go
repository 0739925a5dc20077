package kubectllicense

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Scheme holds the built-in kinds and the licensing kinds.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(licensingv1alpha1.AddToScheme(Scheme))
}

// Factory is what every subcommand is given: how to reach the cluster, in
// which namespace, and what time it is.
type Factory struct {
	// ConfigFlags are kubectl's connection flags (--kubeconfig, --context,
	// -n/--namespace, --server, --token, ...), from k8s.io/cli-runtime.
	ConfigFlags *genericclioptions.ConfigFlags
	// AllNamespaces is -A/--all-namespaces.
	AllNamespaces bool
	// Clock is the time; tests set a fake one.
	Clock clock.PassiveClock
	// warnings receives the API server's warnings.
	warnings io.Writer
	// client is built on first use.
	client client.Client
}

// NewFactory returns a Factory whose flags are not registered yet (AddFlags).
func NewFactory(warnings io.Writer) *Factory {
	return &Factory{
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		Clock:       clock.RealClock{},
		warnings:    warnings,
	}
}

// AddFlags registers the connection flags and -A on cmd, for it and every
// subcommand.
func (f *Factory) AddFlags(cmd *cobra.Command) {
	f.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.PersistentFlags().BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false,
		"If present, list across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
}

// RESTConfig is the client configuration of the kubeconfig and flags, with
// the API server's warnings written to the error stream.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	cfg, err := f.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	rest.AddUserAgent(cfg, "kubectl-license")
	if f.warnings != nil {
		cfg.WarningHandler = rest.NewWarningWriter(f.warnings, rest.WarningWriterOptions{Deduplicate: true})
	}
	return cfg, nil
}

// Client is a client of the cluster that knows the licensing kinds. It
// reads the API server directly: no cache.
func (f *Factory) Client() (client.Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	f.client = c
	return c, nil
}

// Namespace is the namespace of -n, else that of the kubeconfig context,
// else "default".
func (f *Factory) Namespace() (string, error) {
	ns, _, err := f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// ListNamespace is the namespace to list in: "" (every namespace) with -A,
// else Namespace.
func (f *Factory) ListNamespace() (string, error) {
	if f.AllNamespaces {
		return "", nil
	}
	return f.Namespace()
}

// ListScope is what a listing subcommand starts with: the client, and the
// namespace to list in (ListNamespace).
func (f *Factory) ListScope() (client.Client, string, error) {
	c, err := f.Client()
	if err != nil {
		return nil, "", err
	}
	ns, err := f.ListNamespace()
	return c, ns, err
}
