/*
Copyright 2026 The license-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command manager runs the license-operator controllers and admission webhooks.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// so that the manager can run out of cluster with any kubeconfig.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/certs"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/kueue"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
	"github.com/license-operator/license-operator/internal/util/readiness"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	// +kubebuilder:scaffold:imports
)

// defaultLeaderElectionID is the name of the Lease the replicas of the manager
// compete for.
const defaultLeaderElectionID = "license-operator.licensing.license-operator.dev"

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))

	utilruntime.Must(licensingv1alpha1.AddToScheme(scheme))
	// Kueue's types, for the AdmissionCheck controller; registering them
	// needs no CRD, and nothing reads them until Kueue's CRDs are served.
	utilruntime.Must(kueuev1beta2.AddToScheme(scheme))
	// +kubebuilder:scaffold:scheme
}

// nolint:gocyclo
func main() {
	var metricsAddr string
	var metricsCertPath, metricsCertName, metricsCertKey string
	var webhookCertPath, webhookCertName, webhookCertKey string
	var webhookPort int
	var internalCertManagement bool
	var webhookCertSecret, webhookCertDNSNames string
	var enableLeaderElection bool
	var leaderElectionID, leaderElectionNamespace string
	var validatingWebhookConfiguration, mutatingWebhookConfiguration string
	var probeAddr string
	var secureMetrics bool
	var enableHTTP2 bool
	var enableWebhooks bool
	var labelVMNodes bool
	var trustedWorkloadControllers, usernamePrefix string
	var metricsPerLicence bool
	var kueueAdmissionCheck bool
	var kueueSeatWait time.Duration
	var metricsMaxLicences int
	var licenceConcurrency int
	var kubeAPIQPS float64
	var kubeAPIBurst int
	var tlsOpts []func(*tls.Config)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	flag.StringVar(&leaderElectionID, "leader-election-id", defaultLeaderElectionID,
		"The name of the Lease that the replicas of the manager use for leader election.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"The namespace of the leader election Lease. Default: the manager's own namespace in a cluster "+
			"(that of its ServiceAccount); outside a cluster --leader-elect needs it. The leader-election Role "+
			"of config/rbac grants the Lease in the operator's namespace only.")
	flag.StringVar(&validatingWebhookConfiguration, "validating-webhook-configuration", workload.DefaultValidatingWebhookConfiguration,
		"The name of the operator's ValidatingWebhookConfiguration, whose workload webhooks' matchConditions it keeps. "+
			"Its ClusterRole grants that name only (resourceNames).")
	flag.StringVar(&mutatingWebhookConfiguration, "mutating-webhook-configuration", workload.DefaultMutatingWebhookConfiguration,
		"The name of the operator's MutatingWebhookConfiguration, whose workload webhooks' matchConditions it keeps. "+
			"Its ClusterRole grants that name only (resourceNames).")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	flag.BoolVar(&enableWebhooks, "enable-webhooks", true,
		"Serve the admission webhooks. Setting the environment variable ENABLE_WEBHOOKS=false also disables them "+
			"(for running the manager locally without serving certificates).")
	flag.StringVar(&trustedWorkloadControllers, "trusted-workload-controllers", strings.Join(licensing.DefaultTrustedWorkloadControllers, ","),
		"Comma-separated usernames of the workload controllers whose Pods and pod templates keep the user they carry "+
			"(the person who applied a Deployment holds the seat for its Pods). Every other requester is a person: "+
			"the workloads it creates, or whose image it changes, run for it. See docs/admission.md.")
	flag.StringVar(&usernamePrefix, "username-prefix", "",
		"A prefix stripped from requesters' usernames before they are matched exactly with users[].email and "+
			"assignee emails (for example oidc: when the API server's --oidc-username-prefix adds it), and put before a "+
			"licence manager's email in the RoleBinding that binds them (docs/managers.md).")
	flag.BoolVar(&labelVMNodes, "label-vm-nodes", false,
		"Label Nodes whose spec.providerID is a cloud virtual machine "+licensingv1alpha1.VirtualMachineLabel+"=true, "+
			"for preventVM. Needs `patch nodes`: apply config/rbac/node-vm-labeler too. It never changes or removes a label an operator set.")
	flag.IntVar(&webhookPort, "webhook-port", webhook.DefaultPort, "The port the webhook server listens on.")
	flag.StringVar(&webhookCertPath, "webhook-cert-path", "", "The directory that contains the webhook certificate.")
	flag.StringVar(&webhookCertName, "webhook-cert-name", "tls.crt", "The name of the webhook certificate file.")
	flag.StringVar(&webhookCertKey, "webhook-cert-key", "tls.key", "The name of the webhook key file.")
	flag.BoolVar(&internalCertManagement, "internal-cert-management", false,
		"Make and rotate the webhook serving certificate in the manager (open-policy-agent/cert-controller) instead of "+
			"cert-manager: keep it in the Secret --webhook-cert-secret, inject its CA into the caBundle of "+
			"--validating-webhook-configuration and --mutating-webhook-configuration, and serve the webhooks once the "+
			"Secret's files are mounted in --webhook-cert-path. Needs --webhook-cert-secret, --webhook-cert-dns-names "+
			"and --webhook-cert-path. See docs/install.md.")
	flag.StringVar(&webhookCertSecret, "webhook-cert-secret", "",
		"namespace/name of the Secret that holds the webhook certificate with --internal-cert-management. It must exist "+
			"(the manager updates it, never creates it) and be mounted in --webhook-cert-path.")
	flag.StringVar(&webhookCertDNSNames, "webhook-cert-dns-names", "",
		"Comma-separated DNS names of the webhook certificate with --internal-cert-management: the first is its common "+
			"name, for example license-operator-webhook-service.<namespace>.svc.")
	flag.StringVar(&metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	flag.StringVar(&metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	flag.StringVar(&metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	flag.BoolVar(&metricsPerLicence, "metrics-per-licence", true,
		"If set, each licence has its own metric series (about 20 each); per-product aggregates are always on. See docs/metrics.md.")
	flag.IntVar(&metricsMaxLicences, "metrics-max-licences", metrics.DefaultMaxLicences,
		"The most licences with per-licence metric series; 0 means no bound. See docs/metrics.md.")
	flag.BoolVar(&kueueAdmissionCheck, "kueue-admission-check", true,
		"Be the Kueue AdmissionCheck controller "+kueue.ControllerName+": reserve the licence seats of a Kueue Workload's "+
			"pod sets together once Kueue has reserved its quota, so that it waits in Kueue's queue for them. It starts once "+
			"Kueue's CRDs are served (also when Kueue is installed later); false turns it off. Needs the webhooks. See docs/kueue.md.")
	flag.DurationVar(&kueueSeatWait, "kueue-seat-wait", kueue.DefaultSeatWait,
		"How long a Kueue Workload's seat check stays Pending, Kueue holding its quota, while the seats it needs are busy; "+
			"then the check is Retry: Kueue releases the quota and queues the Workload again. See docs/kueue.md.")
	flag.IntVar(&licenceConcurrency, "licence-concurrency", controller.DefaultLicenceConcurrency,
		"How many licences the SoftwareLicense controller reconciles at once. One licence is never reconciled twice at "+
			"once; two licences competing for one assignment are kept apart by its resourceVersion. See docs/operations.md.")
	flag.Float64Var(&kubeAPIQPS, "kube-api-qps", -1,
		"The manager's client-side limit of requests per second to the API server; negative (the default, as in "+
			"controller-runtime) means none: the API server's priority and fairness limits it. See docs/operations.md.")
	flag.IntVar(&kubeAPIBurst, "kube-api-burst", 0,
		"The burst of requests above --kube-api-qps the manager's client may send; only with a non-negative --kube-api-qps "+
			"(0: twice --kube-api-qps, at least 10).")
	flag.BoolVar(&enableHTTP2, "enable-http2", false,
		"If set, HTTP/2 will be enabled for the metrics and webhook servers")
	opts := zap.Options{
		Development: true,
	}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	leaderElectionNamespace, err := resolveLeaderElectionNamespace(enableLeaderElection, leaderElectionNamespace, os.ReadFile)
	if err != nil {
		setupLog.Error(err, "Invalid flags")
		os.Exit(1)
	}

	// The kubebuilder convention: ENABLE_WEBHOOKS=false turns the webhooks off
	// whatever the flag says, so `make run` works without certificates.
	if os.Getenv("ENABLE_WEBHOOKS") == "false" {
		enableWebhooks = false
	}

	// if the enable-http2 flag is false (the default), http/2 should be disabled
	// due to its vulnerabilities. More specifically, disabling http/2 will
	// prevent from being vulnerable to the HTTP/2 Stream Cancellation and
	// Rapid Reset CVEs. For more information see:
	// - https://github.com/advisories/GHSA-qppj-fm5r-hxr3
	// - https://github.com/advisories/GHSA-4374-p667-p6c8
	disableHTTP2 := func(c *tls.Config) {
		setupLog.Info("Disabling HTTP/2")
		c.NextProtos = []string{"http/1.1"}
	}

	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, disableHTTP2)
	}

	// Create watchers for metrics and webhooks certificates
	var metricsCertWatcher, webhookCertWatcher *certwatcher.CertWatcher

	// Initial webhook TLS options
	webhookTLSOpts := tlsOpts

	var certOpts certs.Options
	if internalCertManagement {
		certOpts, err = internalCertOptions(certFlags{
			webhooks: enableWebhooks, secret: webhookCertSecret, dnsNames: webhookCertDNSNames,
			certPath: webhookCertPath, certName: webhookCertName, certKey: webhookCertKey,
			validating: validatingWebhookConfiguration, mutating: mutatingWebhookConfiguration,
		})
		if err != nil {
			setupLog.Error(err, "Invalid flags")
			os.Exit(1)
		}
	}

	// With internal certificate management the files appear only once the
	// kubelet mounts what the rotator wrote: the server (certs.NewServer)
	// waits for them and watches them itself.
	if enableWebhooks && len(webhookCertPath) > 0 && !internalCertManagement {
		setupLog.Info("Initializing webhook certificate watcher using provided certificates",
			"webhook-cert-path", webhookCertPath, "webhook-cert-name", webhookCertName, "webhook-cert-key", webhookCertKey)

		webhookCertWatcher, err = certwatcher.New(
			filepath.Join(webhookCertPath, webhookCertName),
			filepath.Join(webhookCertPath, webhookCertKey),
		)
		if err != nil {
			setupLog.Error(err, "Failed to initialize webhook certificate watcher")
			os.Exit(1)
		}

		webhookTLSOpts = append(webhookTLSOpts, func(config *tls.Config) {
			config.GetCertificate = webhookCertWatcher.GetCertificate
		})
	}

	webhookOptions := webhook.Options{Port: webhookPort, TLSOpts: webhookTLSOpts}
	var webhookServer webhook.Server
	if internalCertManagement {
		webhookOptions.CertDir, webhookOptions.CertName, webhookOptions.KeyName = certOpts.CertDir, certOpts.CertName, certOpts.KeyName
		webhookServer = certs.NewServer(certOpts.Ready, webhookOptions)
	} else {
		webhookServer = webhook.NewServer(webhookOptions)
	}

	// Metrics endpoint is enabled in 'config/default/kustomization.yaml'. The Metrics options configure the server.
	// More info:
	// - https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/metrics/server
	// - https://book.kubebuilder.io/reference/metrics.html
	metricsServerOptions := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
	}

	if secureMetrics {
		// FilterProvider is used to protect the metrics endpoint with authn/authz.
		// These configurations ensure that only authorized users and service accounts
		// can access the metrics endpoint. The RBAC are configured in 'config/rbac/kustomization.yaml'. More info:
		// https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/metrics/filters#WithAuthenticationAndAuthorization
		metricsServerOptions.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	// If the certificate is not specified, controller-runtime will automatically
	// generate self-signed certificates for the metrics server. While convenient for development and testing,
	// this setup is not recommended for production: mount a certificate (cert-manager, see
	// config/default/kustomization.yaml) and point --metrics-cert-path at it.
	if len(metricsCertPath) > 0 {
		setupLog.Info("Initializing metrics certificate watcher using provided certificates",
			"metrics-cert-path", metricsCertPath, "metrics-cert-name", metricsCertName, "metrics-cert-key", metricsCertKey)

		metricsCertWatcher, err = certwatcher.New(
			filepath.Join(metricsCertPath, metricsCertName),
			filepath.Join(metricsCertPath, metricsCertKey),
		)
		if err != nil {
			setupLog.Error(err, "Failed to initialize metrics certificate watcher")
			os.Exit(1)
		}

		metricsServerOptions.TLSOpts = append(metricsServerOptions.TLSOpts, func(config *tls.Config) {
			config.GetCertificate = metricsCertWatcher.GetCertificate
		})
	}

	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS, restConfig.Burst = clientRateLimit(kubeAPIQPS, kubeAPIBurst)
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsServerOptions,
		Cache:                   controller.CacheOptions(), // only licence-key Secrets, managers' RoleBindings and licensed Pods
		WebhookServer:           webhookServer,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          enableLeaderElection,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: leaderElectionNamespace,
		// The program ends as soon as the manager stops and does no cleanup
		// after it, so the leader can step down at once: a new leader does
		// not have to wait a whole lease duration.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		setupLog.Error(err, "Unable to start manager")
		os.Exit(1)
	}

	if internalCertManagement {
		if err := certs.Manage(mgr, certOpts); err != nil {
			setupLog.Error(err, "Unable to set up internal certificate management")
			os.Exit(1)
		}
	}

	// Only the leader exports the per-licence and per-product gauges
	// (controller.SetupWithManager), so that sum() over the replicas is not
	// doubled; these bound their cardinality (docs/metrics.md).
	metrics.Configure(metrics.Options{PerLicence: metricsPerLicence, MaxLicences: metricsMaxLicences})
	ctrlOpts := controller.Options{Clock: clock.RealClock{}, LabelVMNodes: labelVMNodes, UsernamePrefix: usernamePrefix,
		LicenceConcurrency: licenceConcurrency}
	if err := controller.SetupWithManager(mgr, ctrlOpts); err != nil {
		setupLog.Error(err, "Unable to set up the controllers")
		os.Exit(1)
	}
	if enableWebhooks {
		identity := licensing.Identity{TrustedControllers: splitList(trustedWorkloadControllers), UsernamePrefix: usernamePrefix}
		if err := licensingwebhook.SetupWithManager(mgr, licensingwebhook.Options{Workload: workload.Options{
			Identity: &identity,
			Kueue:    &kueue.Options{Enabled: kueueAdmissionCheck, SeatWait: kueueSeatWait},
			WebhookConfigurations: workload.WebhookConfigurations{
				Validating: validatingWebhookConfiguration, Mutating: mutatingWebhookConfiguration,
			},
		}}); err != nil {
			setupLog.Error(err, "Unable to set up the webhooks")
			os.Exit(1)
		}
	} else {
		setupLog.Info("Webhooks are disabled")
		if kueueAdmissionCheck {
			setupLog.Info("The Kueue AdmissionCheck controller is off too: it reserves seats in the ledgers the webhooks keep")
		}
	}
	// +kubebuilder:scaffold:builder

	if metricsCertWatcher != nil {
		setupLog.Info("Adding metrics certificate watcher to manager")
		if err := mgr.Add(metricsCertWatcher); err != nil {
			setupLog.Error(err, "Unable to add metrics certificate watcher to manager")
			os.Exit(1)
		}
	}

	if webhookCertWatcher != nil {
		setupLog.Info("Adding webhook certificate watcher to manager")
		if err := mgr.Add(webhookCertWatcher); err != nil {
			setupLog.Error(err, "Unable to add webhook certificate watcher to manager")
			os.Exit(1)
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		setupLog.Error(err, "Unable to set up health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		setupLog.Error(err, "Unable to set up ready check")
		os.Exit(1)
	}
	// Not ready until the informers have synced: the webhooks and the
	// controllers read that cache (issue 15: at 100,000 objects a replica
	// that served at once would time out the API server's calls).
	if err := mgr.AddReadyzCheck("informers", readiness.CacheSynced(mgr.GetCache())); err != nil {
		setupLog.Error(err, "Unable to set up the informers' ready check")
		os.Exit(1)
	}
	if enableWebhooks {
		// Not ready until the webhook server serves: the API server would
		// otherwise send admission requests to a replica that refuses them.
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			setupLog.Error(err, "Unable to set up webhook ready check")
			os.Exit(1)
		}
	}

	setupLog.Info("Starting manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "Problem running manager")
		os.Exit(1)
	}
}

// clientRateLimit is the QPS and burst of the manager's rest.Config from
// --kube-api-qps and --kube-api-burst: a negative QPS turns client-side rate
// limiting off (controller-runtime's GetConfig default, relying on the API
// server's priority and fairness); otherwise a burst of 0 is twice the QPS,
// at least 10.
func clientRateLimit(qps float64, burst int) (float32, int) {
	if qps < 0 {
		return -1, 0
	}
	if burst <= 0 {
		burst = max(int(2*qps), 10)
	}
	return float32(qps), burst
}

// splitList splits a comma-separated flag value, dropping empty items and spaces.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// inClusterNamespaceFile is where a Pod finds the namespace of its
// ServiceAccount (and controller-runtime the default leader election
// namespace).
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// resolveLeaderElectionNamespace is the namespace of the leader election
// Lease: the flag when given, otherwise the manager's own namespace in a
// cluster. Outside a cluster, with leader election on, it is an error that
// names the flag (controller-runtime's own is "unable to find leader
// election namespace").
func resolveLeaderElectionNamespace(leaderElect bool, flagValue string, readFile func(string) ([]byte, error)) (string, error) {
	if !leaderElect || flagValue != "" {
		return flagValue, nil
	}
	raw, err := readFile(inClusterNamespaceFile)
	if err == nil && strings.TrimSpace(string(raw)) != "" {
		return strings.TrimSpace(string(raw)), nil
	}
	return "", fmt.Errorf("--leader-elect outside a cluster needs --leader-election-namespace, the namespace of "+
		"the leader election Lease (in a cluster it defaults to the manager's own, read from %s)", inClusterNamespaceFile)
}

// certFlags are the flags internal certificate management reads.
type certFlags struct {
	webhooks                    bool
	secret, dnsNames            string
	certPath, certName, certKey string
	validating, mutating        string
}

// internalCertOptions checks the flags of --internal-cert-management and
// returns the options of certs.Manage; an error names the flag to set.
func internalCertOptions(f certFlags) (certs.Options, error) {
	var errs []error
	if !f.webhooks {
		errs = append(errs, errors.New("--internal-cert-management makes the webhooks' certificate, but the webhooks are "+
			"disabled (--enable-webhooks=false or ENABLE_WEBHOOKS=false)"))
	}
	namespace, name, ok := strings.Cut(f.secret, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		errs = append(errs, fmt.Errorf("--internal-cert-management needs --webhook-cert-secret=namespace/name, "+
			"the Secret that holds the webhook certificate; got %q", f.secret))
	}
	dnsNames := splitList(f.dnsNames)
	if len(dnsNames) == 0 {
		errs = append(errs, errors.New("--internal-cert-management needs --webhook-cert-dns-names, the DNS names of "+
			"the webhook certificate (the webhook Service's <service>.<namespace>.svc first)"))
	}
	if f.certPath == "" {
		errs = append(errs, errors.New("--internal-cert-management needs --webhook-cert-path, the directory where "+
			"the webhook certificate Secret is mounted"))
	}
	if err := errors.Join(errs...); err != nil {
		return certs.Options{}, err
	}
	return certs.Options{
		Secret:   types.NamespacedName{Namespace: namespace, Name: name},
		DNSNames: dnsNames,
		CertDir:  f.certPath, CertName: f.certName, KeyName: f.certKey,
		ValidatingWebhookConfiguration: f.validating, MutatingWebhookConfiguration: f.mutating,
		Ready: make(chan struct{}),
	}, nil
}
