package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// Names of the workload webhooks.
const (
	// PodWebhookName is the one mutating Pod path (PodAdmission): a Pod's
	// CREATE, in the MutatingWebhookConfiguration.
	PodWebhookName = "pods.workloads.licensing.license-operator.dev"
	// PodUpdateWebhookName sees updates of Pods that change what they run
	// (container images, ephemeral containers, the product annotation).
	PodUpdateWebhookName = "podupdates.workloads.licensing.license-operator.dev"
	TemplateWebhookName  = "templates.workloads.licensing.license-operator.dev"
	CronJobWebhookName   = "cronjobs.workloads.licensing.license-operator.dev"
	// MatchConditionName is the matchCondition this operator owns on those webhooks.
	MatchConditionName = "needs-licence"
)

// Names of the user stamp webhooks in the MutatingWebhookConfiguration: the
// same Pod updates and templates as the validating webhooks above (a Pod's
// CREATE is stamped by PodWebhookName).
const (
	StampPodUpdateWebhookName = "user-podupdates.workloads.licensing.license-operator.dev"
	StampTemplateWebhookName  = "user-templates.workloads.licensing.license-operator.dev"
	StampCronJobWebhookName   = "user-cronjobs.workloads.licensing.license-operator.dev"
)

// annotationChanged is CEL that is true when the annotation differs between
// oldObject and object (absent counts as "").
func annotationChanged(key string) string {
	get := func(o string) string {
		return "(has(" + o + ".metadata.annotations) && '" + key + "' in " + o + ".metadata.annotations ? " + o + ".metadata.annotations['" + key + "'] : '')"
	}
	return get("object") + " != " + get("oldObject")
}

// ChangesWhatItRunsCondition is the static matchCondition of the Pod update
// webhooks, validating and stamping (config/webhook/scope_patch.yaml and
// scope_mutating_patch.yaml): the update adds an ephemeral container, or
// changes a container or init container image, or the product, features or
// user annotation (licensing.ChangesWhatRuns; a changed user is decided
// again). Every has() guards an optional field: an evaluation error would
// count as a webhook failure.
var ChangesWhatItRunsCondition = admissionregistrationv1.MatchCondition{
	Name: "changes-what-it-runs",
	Expression: "(has(request.subResource) && request.subResource == 'ephemeralcontainers') || " +
		"object.spec.containers.map(c, has(c.image) ? c.image : '') != oldObject.spec.containers.map(c, has(c.image) ? c.image : '') || " +
		"(has(object.spec.initContainers) ? object.spec.initContainers.map(c, has(c.image) ? c.image : '') : []) != " +
		"(has(oldObject.spec.initContainers) ? oldObject.spec.initContainers.map(c, has(c.image) ? c.image : '') : []) || " +
		annotationChanged(licensingv1alpha1.ProductAnnotation) + " || " +
		annotationChanged(licensing.FeaturesAnnotation) + " || " +
		annotationChanged(licensing.UserAnnotation),
}

// stampWebhooks are the webhooks that stamp the user.
var stampWebhooks = map[string]bool{
	PodWebhookName: true, StampPodUpdateWebhookName: true, StampTemplateWebhookName: true, StampCronJobWebhookName: true,
}

// podPath is where the Pod webhooks find the Pod.
const podPath = "object"

// templatePaths is where each webhook finds the pod metadata and spec in "object".
var templatePaths = map[string]string{
	PodWebhookName:            podPath,
	PodUpdateWebhookName:      podPath,
	TemplateWebhookName:       "object.spec.template",
	CronJobWebhookName:        "object.spec.jobTemplate.spec.template",
	StampPodUpdateWebhookName: podPath,
	StampTemplateWebhookName:  "object.spec.template",
	StampCronJobWebhookName:   "object.spec.jobTemplate.spec.template",
}

// MatchConditionExpression is the CEL expression that sends a request to the
// webhook: the pod (template) has the product annotation, or one of its
// containers or init containers runs an image matching imagesRegexp (an RE2
// expression; empty means no product has image patterns). Every optional level
// is guarded with has(): an evaluation error would count as a webhook failure.
func MatchConditionExpression(webhook, imagesRegexp string) string {
	t := templatePaths[webhook]
	guard := func(path string) string {
		// has() on every optional level below "object.spec".
		parts := strings.Split(path, ".")
		var gs []string
		for i := 2; i <= len(parts); i++ {
			p := strings.Join(parts[:i], ".")
			if p == "object.metadata" || p == "object.spec" {
				continue
			}
			gs = append(gs, "has("+p+")")
		}
		return strings.Join(gs, " && ")
	}
	annotations := t + ".metadata.annotations"
	expr := fmt.Sprintf("(%s && '%s' in %s)", guard(annotations), licensingv1alpha1.ProductAnnotation, annotations)
	if stampWebhooks[webhook] {
		// The stamp also sees whatever carries a user annotation, licensed
		// or not yet: a hand-written user on a template that no product
		// matches today would otherwise pass for a stamp once an image
		// pattern licenses it, and its Pods would run on that user's seat.
		expr += fmt.Sprintf(" || (%s && '%s' in %s)", guard(annotations), licensing.UserAnnotation, annotations)
	}
	if imagesRegexp == "" {
		return expr
	}
	lit := celString(imagesRegexp)
	lists := []string{"containers", "initContainers"}
	if t == podPath {
		lists = append(lists, "ephemeralContainers") // a Pod's, added by kubectl debug
	}
	for _, f := range lists {
		list := t + ".spec." + f
		expr += fmt.Sprintf(" || (%s && %s.exists(c, has(c.image) && c.image.matches(%s)))", guard(list), list, lit)
	}
	return expr
}

// celString quotes s as a CEL string literal.
func celString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s + "'"
}

// ImagesRegexp is one RE2 expression matching every image pattern of the products, or "".
func ImagesRegexp(products []licensingv1alpha1.LicenseProduct) string {
	seen := map[string]bool{}
	var res []string
	for i := range products {
		if products[i].Spec.Workloads == nil {
			continue
		}
		for _, p := range products[i].Spec.Workloads.Images {
			re := licensing.ImagePatternRegexp(p)
			re = strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
			if !seen[re] {
				seen[re] = true
				res = append(res, re)
			}
		}
	}
	if len(res) == 0 {
		return ""
	}
	sort.Strings(res)
	return "^(?:" + strings.Join(res, "|") + ")$"
}

// The names of the two webhook configurations config/default deploys
// (config/webhook's, with the "license-operator-" name prefix): the only
// ones the matchConditions syncer reads and writes, by resourceNames in its
// ClusterRole. cmd/main.go's --validating-webhook-configuration and
// --mutating-webhook-configuration change them.
const (
	DefaultValidatingWebhookConfiguration = "license-operator-validating-webhook-configuration"
	DefaultMutatingWebhookConfiguration   = "license-operator-mutating-webhook-configuration"
)

// WebhookConfigurations names the webhook configurations the syncer owns.
type WebhookConfigurations struct {
	// Validating is the ValidatingWebhookConfiguration; empty means
	// DefaultValidatingWebhookConfiguration.
	Validating string
	// Mutating is the MutatingWebhookConfiguration (the user stamp); empty
	// means DefaultMutatingWebhookConfiguration.
	Mutating string
}

// withDefaults fills the empty names.
func (n WebhookConfigurations) withDefaults() WebhookConfigurations {
	if n.Validating == "" {
		n.Validating = DefaultValidatingWebhookConfiguration
	}
	if n.Mutating == "" {
		n.Mutating = DefaultMutatingWebhookConfiguration
	}
	return n
}

// MatchConditionsSyncer keeps the "needs-licence" matchCondition of the workload
// webhooks in sync with the image patterns of every LicenseProduct, so that Pods
// needing no licence never reach the webhook. It edits the two webhook
// configurations Names names, and no other: its ClusterRole grants them by
// resourceNames, so it reads them through a cache of its own that lists and
// watches each with a metadata.name field selector (the API server
// authorizes such a list or watch by resourceNames; the manager's cache
// would list every configuration of the cluster).
type MatchConditionsSyncer struct {
	// Client writes the configurations.
	Client client.Client
	// Names are the configurations the operator owns.
	Names WebhookConfigurations

	// configs reads the two configurations (SetupWithManager makes it).
	configs client.Reader
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=list;watch;update,resourceNames=license-operator-validating-webhook-configuration
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=list;watch;update,resourceNames=license-operator-mutating-webhook-configuration
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseproducts,verbs=get;list;watch

// ConfigurationsCacheOptions are the options of the syncer's cache: each
// kind of webhook configuration only by its name.
func ConfigurationsCacheOptions(names WebhookConfigurations, opts cache.Options) cache.Options {
	names = names.withDefaults()
	opts.ByObject = map[client.Object]cache.ByObject{
		&admissionregistrationv1.ValidatingWebhookConfiguration{}: {Field: fields.OneTermEqualSelector("metadata.name", names.Validating)},
		&admissionregistrationv1.MutatingWebhookConfiguration{}:   {Field: fields.OneTermEqualSelector("metadata.name", names.Mutating)},
	}
	return opts
}

// SetupWithManager registers the controller: every product change and every
// change of one of the two configurations reconciles one key.
func (r *MatchConditionsSyncer) SetupWithManager(mgr ctrl.Manager) error {
	r.Names = r.Names.withDefaults()
	configs, err := cache.New(mgr.GetConfig(), ConfigurationsCacheOptions(r.Names, cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
	}))
	if err != nil {
		return err
	}
	if err := mgr.Add(configs); err != nil {
		return err
	}
	r.configs = configs
	one := func() []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "workload-webhooks"}}}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("webhook-matchconditions").
		Watches(&licensingv1alpha1.LicenseProduct{},
			handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request { return one() }),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Kind(configs, &admissionregistrationv1.ValidatingWebhookConfiguration{},
			handler.TypedEnqueueRequestsFromMapFunc(func(context.Context, *admissionregistrationv1.ValidatingWebhookConfiguration) []reconcile.Request {
				return one()
			}))).
		WatchesRawSource(source.Kind(configs, &admissionregistrationv1.MutatingWebhookConfiguration{},
			handler.TypedEnqueueRequestsFromMapFunc(func(context.Context, *admissionregistrationv1.MutatingWebhookConfiguration) []reconcile.Request {
				return one()
			}))).
		Complete(r)
}

// Reconcile rewrites the matchConditions where they differ.
func (r *MatchConditionsSyncer) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.Client.List(ctx, products); err != nil {
		return reconcile.Result{}, err
	}
	re := ImagesRegexp(products.Items)
	if err := r.sync(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{}, r.Names.Validating, func(o client.Object) bool {
		return SetMatchConditions(o.(*admissionregistrationv1.ValidatingWebhookConfiguration), re)
	}); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, r.sync(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{}, r.Names.Mutating, func(o client.Object) bool {
		return SetMutatingMatchConditions(o.(*admissionregistrationv1.MutatingWebhookConfiguration), re)
	})
}

// sync reads the configuration name into obj from the syncer's cache, sets
// its matchConditions with set and updates it when they changed. A missing
// configuration (the webhooks are not installed) is no error.
func (r *MatchConditionsSyncer) sync(ctx context.Context, obj client.Object, name string, set func(client.Object) bool) error {
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if err := r.configs.Get(ctx, types.NamespacedName{Name: name}, obj); err != nil {
			return err
		}
		if !set(obj) {
			return nil
		}
		ctrl.LoggerFrom(ctx).Info("Updating webhook matchConditions", "configuration", klog.KObj(obj))
		return r.Client.Update(ctx, obj)
	})
	return client.IgnoreNotFound(err)
}

// SetMatchConditions sets the "needs-licence" condition of our webhooks in vwc
// and reports whether anything changed.
func SetMatchConditions(vwc *admissionregistrationv1.ValidatingWebhookConfiguration, imagesRegexp string) bool {
	changed := false
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		changed = setMatchCondition(w.Name, &w.MatchConditions, imagesRegexp) || changed
	}
	return changed
}

// SetMutatingMatchConditions is SetMatchConditions for the user stamp webhooks.
func SetMutatingMatchConditions(mwc *admissionregistrationv1.MutatingWebhookConfiguration, imagesRegexp string) bool {
	changed := false
	for i := range mwc.Webhooks {
		w := &mwc.Webhooks[i]
		changed = setMatchCondition(w.Name, &w.MatchConditions, imagesRegexp) || changed
	}
	return changed
}

// setMatchCondition sets the "needs-licence" condition of the webhook named
// name, if it is ours, in its conditions, and reports whether they changed.
func setMatchCondition(name string, current *[]admissionregistrationv1.MatchCondition, imagesRegexp string) bool {
	if _, ok := templatePaths[name]; !ok {
		return false
	}
	want := admissionregistrationv1.MatchCondition{Name: MatchConditionName, Expression: MatchConditionExpression(name, imagesRegexp)}
	conds := make([]admissionregistrationv1.MatchCondition, 0, len(*current)+1)
	found := false
	for _, c := range *current {
		if c.Name == MatchConditionName {
			c, found = want, true
		}
		conds = append(conds, c)
	}
	if !found {
		conds = append(conds, want)
	}
	if equality.Semantic.DeepEqual(conds, *current) {
		return false
	}
	*current = conds
	return true
}
