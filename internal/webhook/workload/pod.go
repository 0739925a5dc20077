package workload

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
)

// PodPath serves the one mutating path of Pods: a Pod's CREATE is stamped,
// decided, given its seat and uses, and its node affinity, in one round
// trip; a Pod's UPDATE is stamped (and decided on PodUpdatePath).
const PodPath = "/mutate-licensed-pod"

// PodAdmission is the mutating Pod path. At CREATE it decides the Pod with
// the user it will be stored with (the stamp of licensing.Identity.StampFor
// applied first), takes its seat and uses (keyed by the Pod's UID, so that a
// retry takes nothing twice), and answers with the patch of PodCreatePatch.
// A Pod that a later admission step refuses keeps its seat and uses only
// until the recount finds it was never stored (LedgerGrace).
type PodAdmission struct {
	Handler *Handler
	Stamper *Stamper
}

var _ admission.Handler = &PodAdmission{}

// Handle implements admission.Handler.
func (p *PodAdmission) Handle(ctx context.Context, req admission.Request) admission.Response {
	switch req.Operation {
	case admissionv1.Create:
		return p.create(ctx, req)
	case admissionv1.Update:
		return p.Stamper.Handle(ctx, req)
	}
	return admission.Allowed("")
}

func (p *PodAdmission) create(ctx context.Context, req admission.Request) admission.Response {
	h := p.Handler
	log := ctrl.LoggerFrom(ctx).WithValues("kind", kindPod, "object", klog.KRef(req.Namespace, req.Name), "operation", req.Operation)
	ctx = ctrl.LoggerInto(ctx, log)
	pod := &corev1.Pod{}
	if err := h.Decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	m := podMutation{Stamp: h.Identity.StampFor(req.UserInfo.Username, nil, licensing.PodAsTemplate(pod))}
	name := pod.Name
	if name == "" && pod.GenerateName != "" {
		// The API server generates the name after the mutating webhooks:
		// the seat is held under a name, so this path generates it.
		name = generateName(pod.GenerateName)
		m.Name = name
	}
	w := licensing.WorkloadFromPodSpec(kindPod, name, req.Namespace, pod.ObjectMeta, &pod.Spec, nil)
	w.User, _ = h.Identity.UserOf(req.UserInfo.Username, nil, licensing.PodAsTemplate(pod))
	// The API server gives the Pod its UID after the mutating webhooks: its
	// seat and uses are keyed by this request's (licensing.AdmissionUID).
	uid := pod.UID
	if uid == "" {
		uid = types.UID(licensing.AdmissionUID(string(req.UID)))
	}
	dryRun := ptr.Deref(req.DryRun, false)
	kq, err := h.kueuePod(ctx, req.UserInfo.Username, pod, &w)
	if err != nil {
		log.Error(err, "Reading the Kueue Workload of a Pod")
		return admission.Errored(http.StatusInternalServerError, err)
	}
	d, err := h.decideKueue(ctx, &w, nil, seats.PodRef{Namespace: req.Namespace, Name: w.Name, UID: uid}, dryRun, kq)
	if err != nil {
		log.Error(err, "Admission decision failed")
		return admission.Errored(http.StatusInternalServerError, err)
	}
	recordOutcomes(d, kindPod, dryRun)
	if !d.Allowed {
		log.V(2).Info("Denied workload", "reason", d.Message)
		return admission.Denied(d.Message).WithWarnings(d.Warnings...)
	}
	m.PreventVM, m.Gated, m.UseGated, m.Licensed = d.PreventVM, d.Gated, d.UseGated, d.Licensed
	patched := PodCreatePatch(pod, m)
	if patched == nil {
		return admission.Allowed("").WithWarnings(d.Warnings...)
	}
	raw, err := json.Marshal(patched)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	log.V(2).Info("Admitting Pod", "user", w.User, "preventVM", d.PreventVM, "gated", d.Gated)
	return admission.PatchResponseFromRaw(req.Object.Raw, raw).WithWarnings(d.Warnings...)
}

// kueuePod asks the Kueue integration about a Pod being created by
// requester: the reservation of its Kueue Workload it may ride, when a
// trusted workload controller creates it (the Job controller: its
// controller reference is then the API server's record, not a value the
// Pod's author wrote), and whether it is a plain Pod left to Kueue.
func (h *Handler) kueuePod(ctx context.Context, requester string, pod *corev1.Pod, w *licensing.Workload) (kueuePod, error) {
	var kq kueuePod
	if h.Kueue == nil {
		return kq, nil
	}
	named := pod
	if pod.Name != w.Name { // a name this path generated
		named = pod.DeepCopy()
		named.Name = w.Name
	}
	if h.Identity.Trusted(requester) {
		ride, err := h.Kueue.RideOf(ctx, named)
		if err != nil {
			return kq, err
		}
		kq.ride = ride
	}
	if w.KueueGated && kq.ride == nil {
		left, err := h.Kueue.LeftToKueue(ctx, named)
		if err != nil {
			return kq, err
		}
		kq.left = left
	}
	return kq, nil
}

// podMutation is what the mutating Pod path changes in a Pod at CREATE.
type podMutation struct {
	// Name is the name generated from metadata.generateName, or "".
	Name string
	// Stamp is the user stamp.
	Stamp licensing.Stamp
	// PreventVM adds the node affinity that keeps the Pod off virtual-machine nodes.
	PreventVM bool
	// Gated adds the seat's scheduling gate: the Pod waits in line.
	Gated bool
	// UseGated adds the uses' scheduling gate: the Pod waits for a use of
	// a consumption licence in its next period.
	UseGated bool
	// Licensed labels the Pod licensingv1alpha1.LicensedLabel=true.
	Licensed bool
}

// PodCreatePatch is the Pod as the mutating path stores it, or nil when it
// stays as it was sent: the name it generated, the user stamp, and, when a
// licence it is admitted under has preventVM, the node affinity that keeps
// it off virtual-machine nodes (licensing.WithoutVMNodes), the label
// licensingv1alpha1.LicensedLabel of a Pod admitted for a product, and the
// scheduling gate licensingv1alpha1.SeatGate of a Pod that waits in line
// (a gate the Pod was sent with is removed when it does not wait: the gate
// is the operator's). It is the one place that changes a Pod at CREATE.
func PodCreatePatch(pod *corev1.Pod, m podMutation) *corev1.Pod {
	hasGate, hasUseGate := licensing.HasSchedulingGate(pod, licensingv1alpha1.SeatGate), licensing.HasSchedulingGate(pod, licensingv1alpha1.UseGate)
	labelled := pod.Labels[licensingv1alpha1.LicensedLabel] == licensingv1alpha1.LicensedLabelValue
	if m.Name == "" && !m.Stamp.Set && !m.PreventVM && m.Gated == hasGate && m.UseGated == hasUseGate && (!m.Licensed || labelled) {
		return nil
	}
	out := pod.DeepCopy()
	if m.Licensed && !labelled {
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[licensingv1alpha1.LicensedLabel] = licensingv1alpha1.LicensedLabelValue
	}
	setSchedulingGate(out, licensingv1alpha1.SeatGate, m.Gated)
	setSchedulingGate(out, licensingv1alpha1.UseGate, m.UseGated)
	if m.Name != "" {
		out.Name = m.Name
	}
	if m.Stamp.Set {
		applyStamp(&out.Annotations, m.Stamp)
	}
	if m.PreventVM {
		out.Spec.Affinity = licensing.WithoutVMNodes(out.Spec.Affinity)
	}
	return out
}

// setSchedulingGate adds or removes one of the operator's gates.
func setSchedulingGate(pod *corev1.Pod, gate string, on bool) {
	switch has := licensing.HasSchedulingGate(pod, gate); {
	case on && !has:
		pod.Spec.SchedulingGates = append(pod.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: gate})
	case !on && has:
		pod.Spec.SchedulingGates = slices.DeleteFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == gate })
		if len(pod.Spec.SchedulingGates) == 0 {
			pod.Spec.SchedulingGates = nil
		}
	}
}

// generateName is a name from generateName made by the API server's own
// generator (k8s.io/apiserver/pkg/storage/names). A clash is refused by the
// storage (AlreadyExists) and its creator retries, as the workload
// controllers do.
func generateName(base string) string { return names.SimpleNameGenerator.GenerateName(base) }

// applyStamp writes the stamp into annotations ("" removes the user).
func applyStamp(annotations *map[string]string, stamp licensing.Stamp) {
	if stamp.User == "" {
		delete(*annotations, licensing.UserAnnotation)
		return
	}
	if *annotations == nil {
		*annotations = map[string]string{}
	}
	(*annotations)[licensing.UserAnnotation] = stamp.User
}
