package kubecluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/internal/webhook/workload"
)

// WebhookEnvironment is an envtest environment with the CRDs of config/crd
// and the webhook configurations exactly as config/webhook renders them
// (KustomizedWebhooks), served on 127.0.0.1.
func WebhookEnvironment(assets string) (*envtest.Environment, error) {
	muts, vals, err := KustomizedWebhooks(assets)
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks:   muts,
			ValidatingWebhooks: vals,
			LocalServingHost:   "127.0.0.1",
		},
	}, nil
}

// OperatorGroups are the groups of the operator's ServiceAccount user.
var OperatorGroups = []string{"system:serviceaccounts", "system:serviceaccounts:license-operator-system"}

// StartOperator runs the whole manager (every controller and every webhook,
// as cmd/main.go does) on env as the operator's ServiceAccount user, bound
// to cluster-admin through admin, and serving the webhooks env installed:
// its own writes skip its webhooks, as they do in a cluster. It returns once
// the webhook server serves; stop stops the manager and waits, and errs
// receives what the manager fails with. wopts, when given, configure the
// workload webhooks and what they set up (the Kueue integration).
func StartOperator(ctx context.Context, env *envtest.Environment, admin client.Client, scheme *runtime.Scheme, opts controller.Options, wopts ...workload.Options) (stop func(), errs <-chan error, err error) {
	user, err := env.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: OperatorGroups}, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-operator-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: licensing.DefaultOperatorUsername}},
	}); err != nil {
		return nil, nil, fmt.Errorf("binding the operator to cluster-admin: %w", err)
	}
	cfg := user.Config()
	cfg.QPS, cfg.Burst = 1000, 2000
	wio := &env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(),
		WebhookServer:          webhook.NewServer(webhook.Options{Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir}),
	})
	if err != nil {
		return nil, nil, err
	}
	if err := controller.SetupWithManager(mgr, opts); err != nil {
		return nil, nil, err
	}
	w := workload.Options{}
	if len(wopts) > 0 {
		w = wopts[0]
	}
	w.WebhookConfigurations = WebhookConfigurations
	if err := licensingwebhook.SetupWithManager(mgr, licensingwebhook.Options{Workload: w}); err != nil {
		return nil, nil, err
	}
	stop, errs = StartManagers(ctx, mgr)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := WaitFor(wctx, func() error { return mgr.GetWebhookServer().StartedChecker()(nil) }); err != nil {
		stop()
		return nil, nil, fmt.Errorf("the webhook server did not start: %w", err)
	}
	return stop, errs, nil
}

// Warnings collects the warnings the API server sends to a client: set it
// as the rest.Config's WarningHandler.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// Take returns the warnings received since the last Take.
func (w *Warnings) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// OperatorEnvironment is an envtest control plane with the CRDs and the
// webhook configurations (WebhookEnvironment) on which the whole operator
// runs (StartOperator), as the operator's ServiceAccount user with the
// SeatLedger write policy applied: what admission counts shows in the
// status the controllers compute, and the queue controller serves the
// lines the webhook fills.
type OperatorEnvironment struct {
	Env *envtest.Environment
	// Config and Admin are the control plane's system:masters user's.
	Config *rest.Config
	Admin  client.Client
	// Errs receives what the manager fails with.
	Errs <-chan error

	stopManager func()
}

// StartOperatorEnvironment starts an OperatorEnvironment with envtest's
// binaries from assets, the operator's controllers configured by opts.
// wopts, when given, configure the workload webhooks (StartOperator).
// Call Stop when done, also when it fails part way.
func StartOperatorEnvironment(ctx context.Context, assets string, scheme *runtime.Scheme, opts controller.Options, wopts ...workload.Options) (*OperatorEnvironment, error) {
	o := &OperatorEnvironment{}
	env, err := WebhookEnvironment(assets)
	if err != nil {
		return o, err
	}
	if o.Config, err = env.Start(); err != nil {
		return o, err
	}
	o.Env = env
	o.Config.QPS, o.Config.Burst = 1000, 2000
	if o.Admin, err = client.New(o.Config, client.Options{Scheme: scheme}); err != nil {
		return o, err
	}
	if err := ApplySeatLedgerPolicy(ctx, o.Admin, licensing.DefaultOperatorUsername); err != nil {
		return o, err
	}
	o.stopManager, o.Errs, err = StartOperator(ctx, env, o.Admin, scheme, opts, wopts...)
	return o, err
}

// Stop stops the manager, then the control plane.
func (o *OperatorEnvironment) Stop() error {
	if o.stopManager != nil {
		o.stopManager()
	}
	if o.Env == nil {
		return nil
	}
	return o.Env.Stop()
}
