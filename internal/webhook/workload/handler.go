// Package workload is the admission webhook for workloads that need a licence
// seat: Pods, and the pod templates of Deployments, StatefulSets, DaemonSets,
// ReplicaSets, Jobs and CronJobs. The decisions are pure functions in
// internal/licensing; this package fetches the objects, keeps the seat ledgers
// of Concurrent assignments, and releases seats when Pods finish.
package workload

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

const (
	// PodPath serves Pods.
	PodPath = "/validate-licensed-pod"
	// WorkloadPath serves Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
	WorkloadPath = "/validate-licensed-workload"

	// CoversIndex indexes SoftwareLicenses by status.product.covers.
	CoversIndex = "admission.status.product.covers"
)

// Handler decides admission of workloads.
type Handler struct {
	// Client reads products, licences, assignments and namespaces (a cache is fine:
	// they are decisions of the controllers, not counters).
	Client   client.Reader
	Ledger   *Ledger
	Decoder  admission.Decoder
	Recorder events.EventRecorder
}

// NewHandler returns a handler reading through c and keeping ledgers through ledger.
func NewHandler(c client.Reader, scheme *runtime.Scheme, ledger *Ledger, recorder events.EventRecorder) *Handler {
	return &Handler{Client: c, Ledger: ledger, Decoder: admission.NewDecoder(scheme), Recorder: recorder}
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	log := ctrl.LoggerFrom(ctx).WithValues("kind", req.Kind.Kind, "object", klog.KRef(req.Namespace, req.Name), "operation", req.Operation)
	ctx = ctrl.LoggerInto(ctx, log)
	w, unchanged, err := h.workload(req)
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if w == nil {
		return admission.Allowed("")
	}
	dryRun := ptr.Deref(req.DryRun, false)
	d, err := h.Decide(ctx, w, podRef(req, w), dryRun)
	if err != nil {
		log.Error(err, "Admission decision failed")
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if !d.Allowed && unchanged {
		// An update that leaves the pod template alone (scaling, labels) is never
		// refused: refusing it would stop an administrator scaling down.
		d.Warnings = append(d.Warnings, d.Message)
		d.Allowed = true
	}
	if !d.Allowed {
		log.V(2).Info("Denied workload", "reason", d.Message)
		return admission.Denied(d.Message).WithWarnings(d.Warnings...)
	}
	return admission.Allowed("").WithWarnings(d.Warnings...)
}

// Decision is the outcome of Decide.
type Decision struct {
	Allowed  bool
	Message  string
	Warnings []string
}

func podRef(req admission.Request, w *licensing.Workload) PodRef {
	ref := PodRef{Namespace: w.Namespace, Name: w.Name}
	if req.Kind.Kind == "Pod" {
		meta := &metav1.PartialObjectMetadata{}
		if err := jsonUnmarshal(req.Object.Raw, meta); err == nil {
			ref.UID = meta.UID
		}
	}
	return ref
}

// Decide admits or refuses the workload; for a Pod it takes Concurrent seats
// from ledgers (unless dryRun).
func (h *Handler) Decide(ctx context.Context, w *licensing.Workload, pod PodRef, dryRun bool) (Decision, error) {
	products := &licensingv1alpha1.LicenseProductList{}
	if err := h.Client.List(ctx, products); err != nil {
		return Decision{}, fmt.Errorf("listing LicenseProducts: %w", err)
	}
	needs := licensing.RequiredProducts(w, products.Items)
	if len(needs) == 0 {
		return Decision{Allowed: true}, nil
	}
	assignments := &licensingv1alpha1.LicenseAssignmentList{}
	if err := h.Client.List(ctx, assignments, client.InNamespace(w.Namespace)); err != nil {
		return Decision{}, fmt.Errorf("listing LicenseAssignments: %w", err)
	}
	var nsLabels map[string]string
	ns := &corev1.Namespace{}
	if err := h.Client.Get(ctx, types.NamespacedName{Name: w.Namespace}, ns); err == nil {
		nsLabels = ns.Labels
	}

	var d Decision
	type taken struct {
		asg *licensingv1alpha1.LicenseAssignment
	}
	var reserved []taken
	undo := func() {
		for _, t := range reserved {
			if err := h.Ledger.Unreserve(ctx, t.asg, pod); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "Releasing a seat of a refused Pod", "assignment", klog.KObj(t.asg))
			}
		}
	}
	for _, need := range needs {
		licences, err := h.licencesFor(ctx, need.Product, assignments.Items)
		if err != nil {
			return Decision{}, err
		}
		covers, considered := licensing.FindCovers(licensing.CoverageInput{
			Workload: w, Product: need.Product, NamespaceLabels: nsLabels,
			Licenses: licences, Assignments: assignments.Items,
		})
		if len(covers) == 0 {
			undo()
			return Decision{Message: licensing.DenialMessage(w, need, nil, considered, nil), Warnings: d.Warnings}, nil
		}
		if !covers[0].Counted || w.IsTemplate() {
			d.Warnings = append(d.Warnings, licensing.CoverWarnings(covers[0])...)
			if msg := licensing.ReplicasWarning(w, need.Product, covers); msg != "" {
				d.Warnings = append(d.Warnings, msg)
			}
			continue
		}
		admitted := false
		var uses []licensing.LedgerUse
		for _, c := range covers {
			res, err := h.reserve(ctx, c, pod, false, dryRun)
			if err != nil {
				undo()
				return Decision{}, err
			}
			if res.Admitted {
				admitted = true
				d.Warnings = append(d.Warnings, licensing.CoverWarnings(c)...)
				if !dryRun {
					reserved = append(reserved, taken{c.Assignment})
				}
				break
			}
			uses = append(uses, licensing.LedgerUse{Assignment: c.Assignment.Name, Used: res.Used, Seats: c.Seats, Holders: res.Holders})
		}
		if !admitted {
			for _, c := range covers {
				if c.Enforcement != licensingv1alpha1.EnforcementSoft {
					continue
				}
				res, err := h.reserve(ctx, c, pod, true, dryRun)
				if err != nil {
					undo()
					return Decision{}, err
				}
				admitted = true
				if !dryRun {
					reserved = append(reserved, taken{c.Assignment})
				}
				msg := licensing.OverSeatsWarning(w, c, res.Used)
				d.Warnings = append(d.Warnings, licensing.CoverWarnings(c)...)
				d.Warnings = append(d.Warnings, msg)
				if h.Recorder != nil && !dryRun {
					h.Recorder.Eventf(c.Assignment, nil, corev1.EventTypeWarning, "SeatsOverused", "Admit", "%s", msg)
				}
				break
			}
		}
		if !admitted {
			undo()
			return Decision{Message: licensing.DenialMessage(w, need, covers, considered, uses), Warnings: d.Warnings}, nil
		}
	}
	d.Allowed = true
	return d, nil
}

func (h *Handler) reserve(ctx context.Context, c licensing.Cover, pod PodRef, allowOver, dryRun bool) (Reservation, error) {
	if dryRun {
		return h.Ledger.Peek(ctx, c.Assignment, pod, c.Seats, allowOver)
	}
	// Leave a margin of the webhook timeout for the answer to travel back.
	rctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	return h.Ledger.Reserve(rctx, c.Assignment, pod, c.Seats, allowOver)
}

// licencesFor returns the licences covering product plus those the assignments are bound to.
func (h *Handler) licencesFor(ctx context.Context, product string, asgs []licensingv1alpha1.LicenseAssignment) ([]licensingv1alpha1.SoftwareLicense, error) {
	list := &licensingv1alpha1.SoftwareLicenseList{}
	if err := h.Client.List(ctx, list, client.MatchingFields{CoversIndex: product}); err != nil {
		return nil, fmt.Errorf("listing SoftwareLicenses of %s: %w", product, err)
	}
	return list.Items, nil
}

// workload extracts the workload of the request; nil when there is nothing to
// check. unchanged is true for an update that leaves the pod template alone.
func (h *Handler) workload(req admission.Request) (*licensing.Workload, bool, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, false, nil
	}
	name := req.Name
	var (
		meta     metav1.ObjectMeta
		tmpl     *corev1.PodTemplateSpec
		replicas *int32
		oldTmpl  *corev1.PodTemplateSpec
	)
	decodeOld := func(obj runtime.Object) error {
		if req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
			return nil
		}
		return h.Decoder.DecodeRaw(req.OldObject, obj)
	}
	switch req.Kind.Kind {
	case "Pod":
		if req.Operation != admissionv1.Create {
			return nil, false, nil
		}
		pod := &corev1.Pod{}
		if err := h.Decoder.Decode(req, pod); err != nil {
			return nil, false, err
		}
		w := licensing.WorkloadFromPodSpec("Pod", pod.Name, req.Namespace, pod.ObjectMeta, &pod.Spec, nil)
		return &w, false, nil
	case "Deployment":
		o, old := &appsv1.Deployment{}, &appsv1.Deployment{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl, replicas = o.ObjectMeta, &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.Template
		}
	case "StatefulSet":
		o, old := &appsv1.StatefulSet{}, &appsv1.StatefulSet{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl, replicas = o.ObjectMeta, &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.Template
		}
	case "ReplicaSet":
		o, old := &appsv1.ReplicaSet{}, &appsv1.ReplicaSet{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl, replicas = o.ObjectMeta, &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.Template
		}
	case "DaemonSet":
		o, old := &appsv1.DaemonSet{}, &appsv1.DaemonSet{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.Template
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.Template
		}
	case "Job":
		o, old := &batchv1.Job{}, &batchv1.Job{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl, replicas = o.ObjectMeta, &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Parallelism, 1))
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.Template
		}
	case "CronJob":
		o, old := &batchv1.CronJob{}, &batchv1.CronJob{}
		if err := h.Decoder.Decode(req, o); err != nil {
			return nil, false, err
		}
		meta, tmpl = o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template
		replicas = ptr.To(ptr.Deref(o.Spec.JobTemplate.Spec.Parallelism, 1))
		if err := decodeOld(old); err == nil && req.Operation == admissionv1.Update {
			oldTmpl = &old.Spec.JobTemplate.Spec.Template
		}
	default:
		return nil, false, nil
	}
	if name == "" {
		name = meta.Name
	}
	w := licensing.WorkloadFromPodSpec(req.Kind.Kind, name, req.Namespace, tmpl.ObjectMeta, &tmpl.Spec, replicas)
	unchanged := oldTmpl != nil && equality.Semantic.DeepEqual(oldTmpl, tmpl)
	return &w, unchanged, nil
}

func jsonUnmarshal(raw []byte, into any) error { return json.Unmarshal(raw, into) }
