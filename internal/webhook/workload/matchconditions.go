package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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

// MatchConditionsSyncer keeps the "needs-licence" matchCondition of the workload
// webhooks in sync with the image patterns of every LicenseProduct, so that Pods
// needing no licence never reach the webhook. It edits whichever
// ValidatingWebhookConfiguration or MutatingWebhookConfiguration (the user
// stamp) holds webhooks of those names.
type MatchConditionsSyncer struct {
	Client client.Client
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations;mutatingwebhookconfigurations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseproducts,verbs=get;list;watch

// SetupWithManager registers the controller: every product change and every
// change of a webhook configuration holding our webhooks reconciles one key.
func (r *MatchConditionsSyncer) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "workload-webhooks"}}}
	})
	ours := predicate.NewPredicateFuncs(func(o client.Object) bool {
		var names []string
		switch c := o.(type) {
		case *admissionregistrationv1.ValidatingWebhookConfiguration:
			for _, w := range c.Webhooks {
				names = append(names, w.Name)
			}
		case *admissionregistrationv1.MutatingWebhookConfiguration:
			for _, w := range c.Webhooks {
				names = append(names, w.Name)
			}
		}
		for _, n := range names {
			if _, ok := templatePaths[n]; ok {
				return true
			}
		}
		return false
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("webhook-matchconditions").
		Watches(&licensingv1alpha1.LicenseProduct{}, one, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&admissionregistrationv1.ValidatingWebhookConfiguration{}, one, builder.WithPredicates(ours)).
		Watches(&admissionregistrationv1.MutatingWebhookConfiguration{}, one, builder.WithPredicates(ours)).
		Complete(r)
}

// Reconcile rewrites the matchConditions where they differ.
func (r *MatchConditionsSyncer) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	products := &licensingv1alpha1.LicenseProductList{}
	if err := r.Client.List(ctx, products); err != nil {
		return reconcile.Result{}, err
	}
	re := ImagesRegexp(products.Items)
	vwcs := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	if err := r.Client.List(ctx, vwcs); err != nil {
		return reconcile.Result{}, err
	}
	for i := range vwcs.Items {
		key := client.ObjectKeyFromObject(&vwcs.Items[i])
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := r.Client.Get(ctx, key, vwc); err != nil {
				return err
			}
			if !SetMatchConditions(vwc, re) {
				return nil
			}
			log.Info("Updating webhook matchConditions", "configuration", klog.KObj(vwc), "imagesRegexp", re)
			return r.Client.Update(ctx, vwc)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
	}
	mwcs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := r.Client.List(ctx, mwcs); err != nil {
		return reconcile.Result{}, err
	}
	for i := range mwcs.Items {
		key := client.ObjectKeyFromObject(&mwcs.Items[i])
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := r.Client.Get(ctx, key, mwc); err != nil {
				return err
			}
			if !SetMutatingMatchConditions(mwc, re) {
				return nil
			}
			log.Info("Updating webhook matchConditions", "configuration", klog.KObj(mwc), "imagesRegexp", re)
			return r.Client.Update(ctx, mwc)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
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
