// Package certs makes and rotates the webhook serving certificate itself when
// cert-manager is not installed (--internal-cert-management), the way Kueue
// does (kueue pkg/util/cert): open-policy-agent/cert-controller's rotator
// keeps a CA and a serving certificate signed by it in one Secret, renews
// them before they expire, and injects the CA into the caBundle of the
// operator's two webhook configurations. The kubelet mounts that Secret into
// the webhook server's certificate directory, and the webhook server (Server)
// starts serving once the files are there and the CA is injected.
//
// The operator reads nothing it does not own: the rotator's cache lists and
// watches the one Secret and the two webhook configurations by name
// (scopeByName), which the API server authorizes against resourceNames.
package certs

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

const (
	// caName is the common name of the CA the rotator makes.
	caName = "license-operator-ca"
	// caOrganization is the organization of that CA.
	caOrganization = "license-operator"
	// FieldOwner is the field manager of the caBundle the rotator writes
	// into the webhook configurations.
	FieldOwner = "license-operator-cert-rotator"
)

// Options say which certificate to make, where it is stored and mounted, and
// which webhook configurations trust it.
type Options struct {
	// Secret holds the CA and the serving certificate (ca.crt, ca.key and
	// CertName, KeyName). It must exist: the rotator updates it, it never
	// creates it (config/internalcert ships it empty).
	Secret types.NamespacedName
	// DNSNames are the names the serving certificate is valid for; the first
	// is its common name. The webhook Service's
	// <service>.<namespace>.svc is the one the API server calls.
	DNSNames []string
	// CertDir is where the kubelet mounts Secret, the webhook server's
	// certificate directory.
	CertDir string
	// CertName and KeyName are the file names of the certificate and its key
	// in CertDir and the keys of Secret (tls.crt and tls.key when empty).
	CertName, KeyName string
	// ValidatingWebhookConfiguration and MutatingWebhookConfiguration are
	// the configurations whose every webhook gets the CA as its caBundle.
	ValidatingWebhookConfiguration, MutatingWebhookConfiguration string
	// Ready is closed once the certificate files are in CertDir and the CA
	// is in both configurations: the webhook server (NewServer) waits for it.
	Ready chan struct{}
}

// validate names what is missing.
func (o Options) validate() error {
	var errs []error
	if o.Secret.Namespace == "" || o.Secret.Name == "" {
		errs = append(errs, fmt.Errorf("the certificate Secret needs a namespace and a name, got %q", o.Secret.String()))
	}
	if len(o.DNSNames) == 0 || o.DNSNames[0] == "" {
		errs = append(errs, errors.New("the certificate needs at least one DNS name"))
	}
	if o.CertDir == "" {
		errs = append(errs, errors.New("the certificate directory is empty"))
	}
	if o.ValidatingWebhookConfiguration == "" || o.MutatingWebhookConfiguration == "" {
		errs = append(errs, errors.New("both webhook configurations must be named"))
	}
	if o.Ready == nil {
		errs = append(errs, errors.New("no Ready channel"))
	}
	return errors.Join(errs...)
}

// Manage adds cert-controller's rotator to mgr: at start it fills the Secret
// with a CA and a serving certificate when they are missing, invalid or
// within the rotation lookahead of their end, checks again every 12 hours
// and whenever the Secret or a configuration changes, keeps the CA in the
// caBundle of every webhook of both configurations, and closes opts.Ready
// once the files are mounted and the CA injected. Its lifetimes are
// cert-controller's defaults: the CA 10 years, the serving certificate 1
// year, renewed 90 days before it ends.
//
// It runs on every replica (every replica serves the webhooks), not only on
// the leader: two replicas that renew at once race on the Secret's
// resourceVersion, and the loser reads the winner's certificate.
func Manage(mgr manager.Manager, opts Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	return rotator.AddRotator(scopedManager{Manager: mgr, config: scopedConfig(mgr.GetConfig(), opts)}, &rotator.CertRotator{
		SecretKey:      opts.Secret,
		CertDir:        opts.CertDir,
		CertName:       opts.CertName,
		KeyName:        opts.KeyName,
		CAName:         caName,
		CAOrganization: caOrganization,
		DNSName:        opts.DNSNames[0],
		ExtraDNSNames:  opts.DNSNames[1:],
		IsReady:        opts.Ready,
		Webhooks: []rotator.WebhookInfo{
			{Name: opts.ValidatingWebhookConfiguration, Type: rotator.Validating},
			{Name: opts.MutatingWebhookConfiguration, Type: rotator.Mutating},
		},
		FieldOwner:            FieldOwner,
		RequireLeaderElection: false,
		// The CA goes into the configurations once the certificate files
		// are mounted, as in Kueue.
		EnableReadinessCheck: true,
	})
}

// scopedManager is mgr as the rotator sees it: the same manager, except that
// GetConfig is scopedConfig's.
//
// Why this reaches the rotator's reads, and only them (cert-controller
// v0.16.0 pkg/rotator): AddRotator makes its cache with
// cache.New(mgr.GetConfig(), cache.Options{Scheme, Mapper, DefaultNamespaces})
// and no HTTPClient, so cache.New builds its HTTP client from this config
// (rest.HTTPClientFor), through the transport scopeByName wraps. That cache
// lists and watches Secrets of the Secret's namespace and the two kinds of
// webhook configuration, cluster-wide; with the transport, each list and
// watch carries fieldSelector=metadata.name=<name>. The rotator writes
// through mgr.GetClient(), the manager's own client, by name; Add,
// GetScheme, GetRESTMapper and the rest are the manager's. Should a later
// cert-controller build its cache from another config, the envtest test
// (certs_test.go), whose user may list only by name, fails.
type scopedManager struct {
	manager.Manager
	config *rest.Config
}

// GetConfig is the manager's config with the name-scoping transport.
func (m scopedManager) GetConfig() *rest.Config { return m.config }

// scopedConfig is a copy of cfg whose list and watch requests of Secrets in
// the Secret's namespace and of webhook configurations select the named ones.
func scopedConfig(cfg *rest.Config, opts Options) *rest.Config {
	scoped := rest.CopyConfig(cfg)
	collections := map[string]string{
		"/api/v1/namespaces/" + opts.Secret.Namespace + "/secrets":              opts.Secret.Name,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": opts.ValidatingWebhookConfiguration,
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations":   opts.MutatingWebhookConfiguration,
	}
	scoped.Wrap(func(rt http.RoundTripper) http.RoundTripper { return scopeByName(rt, collections) })
	return scoped
}
