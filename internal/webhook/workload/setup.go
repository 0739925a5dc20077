package workload

import (
	"context"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/kueue"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
)

// The one mutating Pod path (pod.go): a Pod's CREATE is stamped with its
// user, decided, given its Concurrent seat and its uses of consumption
// licences, and its preventVM node affinity, in one webhook round trip.
// sideEffects=NoneOnDryRun: a dry run takes nothing. reinvocationPolicy=Never,
// and every seat and use is keyed by the Pod's UID, so that a retry takes
// nothing twice. The same path stamps the user of a Pod's UPDATE that
// changes what it runs, which the validating Pod update webhook then decides.
//
// +kubebuilder:webhook:path=/mutate-licensed-pod,mutating=true,failurePolicy=fail,sideEffects=NoneOnDryRun,reinvocationPolicy=Never,groups="",resources=pods,verbs=create,versions=v1,name=pods.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/mutate-licensed-pod,mutating=true,failurePolicy=fail,sideEffects=None,groups="",resources=pods,verbs=update,versions=v1,name=user-podupdates.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// The validating webhooks: Pods on the UPDATEs that change what they run (an
// image, an ephemeral container, the product annotation: seats of the
// products the change adds are taken here), pod templates on CREATE and
// UPDATE (checked, never counted). failurePolicy=Fail: see docs/admission.md;
// the matchConditions and namespaceSelector that keep every other Pod away
// are added by config/webhook/kustomization.yaml.
//
// +kubebuilder:webhook:path=/validate-licensed-pod,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups="",resources=pods;pods/ephemeralcontainers,verbs=update,versions=v1,name=podupdates.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensed-workload,mutating=false,failurePolicy=fail,sideEffects=None,groups=apps;batch,resources=deployments;statefulsets;daemonsets;replicasets;jobs,verbs=create;update,versions=v1,name=templates.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-licensed-workload,mutating=false,failurePolicy=fail,sideEffects=None,groups=batch,resources=cronjobs,verbs=create;update,versions=v1,name=cronjobs.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// The user stamp of pod templates (stamp.go), mutated before they are
// validated, so that the user annotation always records the requester
// (licensing.Identity.StampFor). failurePolicy=Fail: a licensed workload
// created while the webhook is down would otherwise carry whatever user its
// creator wrote; the validating webhooks use the requester itself for a
// person's request, so a missed stamp alone would not grant a seat, but the
// Pods a controller later creates from the template would be judged by it.
// The same scope as the validating webhooks (config/webhook/scope_mutating_patch.yaml).
//
// +kubebuilder:webhook:path=/mutate-licensed-workload,mutating=true,failurePolicy=fail,sideEffects=None,groups=apps;batch,resources=deployments;statefulsets;daemonsets;replicasets;jobs,verbs=create;update,versions=v1,name=user-templates.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/mutate-licensed-workload,mutating=true,failurePolicy=fail,sideEffects=None,groups=batch,resources=cronjobs,verbs=create;update,versions=v1,name=user-cronjobs.workloads.licensing.license-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=softwarelicenses;licenseassignments,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Options configure the workload webhooks.
type Options struct {
	// Identity tells people from the trusted workload controllers; the zero
	// value means licensing.DefaultIdentity().
	Identity *licensing.Identity
	// Clock is the clock of the seat and use ledgers (consumption periods);
	// nil means the real clock.
	Clock clock.Clock
	// WebhookConfigurations are the webhook configurations whose
	// matchConditions the operator keeps (MatchConditionsSyncer); the zero
	// value names those config/default deploys.
	WebhookConfigurations WebhookConfigurations
	// Kueue configures the Kueue AdmissionCheck controller, which reserves
	// seats in the same ledgers (internal/kueue); nil means the defaults
	// of the flags (on, once Kueue's CRDs are served).
	Kueue *kueue.Options
}

// SetupWithManager registers the workload webhooks, the user stamp, the seat
// releaser, the seat recount, the matchConditions syncer and the Kueue
// AdmissionCheck integration (which reserves seats in the same ledgers)
// with the manager.
func SetupWithManager(mgr ctrl.Manager, opts ...Options) error {
	id := licensing.DefaultIdentity()
	var clk clock.Clock = clock.RealClock{}
	var configs WebhookConfigurations
	kueueOpts := kueue.Options{Enabled: true}
	for _, o := range opts {
		if o.Kueue != nil {
			kueueOpts = *o.Kueue
		}
		if o.WebhookConfigurations != (WebhookConfigurations{}) {
			configs = o.WebhookConfigurations
		}
		if o.Identity != nil {
			id = *o.Identity
		}
		if o.Clock != nil {
			clk = o.Clock
		}
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &licensingv1alpha1.SoftwareLicense{}, CoversIndex,
		func(o client.Object) []string {
			l := o.(*licensingv1alpha1.SoftwareLicense)
			if l.Status.Product == nil {
				return nil
			}
			return l.Status.Product.Covers
		}); err != nil {
		return err
	}
	// The ledger reads and writes on the admission path of every licensed Pod:
	// its client has no client-side rate limit (the manager's default of 20 QPS
	// would queue admissions); the API server's priority and fairness applies.
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.QPS = -1
	lc, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return err
	}
	rooms, err := seats.SetupWithManager(mgr, lc, clk)
	if err != nil {
		return err
	}
	recorder := mgr.GetEventRecorder("license-operator-admission")
	h := NewHandler(mgr.GetClient(), mgr.GetScheme(), rooms.Ledger, recorder)
	h.Identity = id
	h.Uses = rooms.Uses
	if kueueOpts.Clock == nil {
		kueueOpts.Clock = clk
	}
	integration, err := kueue.SetupWithManager(mgr, rooms.Ledger, lc, kueueOpts)
	if err != nil {
		return err
	}
	h.Kueue = integration
	srv := mgr.GetWebhookServer()
	stamper := NewStamper(mgr.GetScheme(), id)
	srv.Register(PodPath, &webhook.Admission{Handler: &PodAdmission{Handler: h, Stamper: stamper}})
	srv.Register(StampWorkloadPath, &webhook.Admission{Handler: stamper})
	srv.Register(PodUpdatePath, &webhook.Admission{Handler: h})
	srv.Register(WorkloadPath, &webhook.Admission{Handler: h})
	return (&MatchConditionsSyncer{Client: mgr.GetClient(), Names: configs}).SetupWithManager(mgr)
}
