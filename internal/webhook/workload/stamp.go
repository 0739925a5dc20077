package workload

import (
	"context"
	"encoding/json"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/license-operator/license-operator/internal/licensing"
)

const (
	// StampWorkloadPath serves the user stamp of the pod templates of
	// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
	StampWorkloadPath = "/mutate-licensed-workload"
)

// Stamper records who a workload runs for: it writes the user annotation of
// a Pod or pod template from the authenticated requester, as
// licensing.Identity.StampFor decides (a person's create, a person's update
// that changes what runs; a trusted workload controller's request is left as
// it is). It reads nothing but the request.
type Stamper struct {
	Decoder  admission.Decoder
	Identity licensing.Identity
}

// NewStamper returns a Stamper decoding with scheme.
func NewStamper(scheme *runtime.Scheme, id licensing.Identity) *Stamper {
	return &Stamper{Decoder: admission.NewDecoder(scheme), Identity: id}
}

var _ admission.Handler = &Stamper{}

// Handle implements admission.Handler.
func (s *Stamper) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	var obj client.Object
	if req.Kind.Kind == kindPod {
		obj = &corev1.Pod{}
	} else if obj = licensing.NewTemplated(req.Kind.Kind); obj == nil {
		return admission.Allowed("")
	}
	if err := s.Decoder.Decode(req, obj); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	updated := templateOf(obj)
	var old *corev1.PodTemplateSpec
	if req.Operation == admissionv1.Update {
		oldObj := obj.DeepCopyObject().(client.Object)
		if err := s.Decoder.DecodeRaw(req.OldObject, oldObj); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		old = templateOf(oldObj)
	}
	stamp := s.Identity.StampFor(req.UserInfo.Username, old, updated)
	if !stamp.Set {
		return admission.Allowed("")
	}
	applyStamp(&stampedMeta(obj).Annotations, stamp)
	raw, err := json.Marshal(obj)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	ctrl.LoggerFrom(ctx).V(2).Info("Stamping the workload's user", "kind", req.Kind.Kind, "object", klog.KRef(req.Namespace, req.Name), "user", stamp.User)
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// templateOf is the pod template of a workload object, or a Pod as one.
func templateOf(obj client.Object) *corev1.PodTemplateSpec {
	if pod, ok := obj.(*corev1.Pod); ok {
		return licensing.PodAsTemplate(pod)
	}
	t, _ := licensing.PodTemplateOf(obj)
	return t
}

// stampedMeta is the metadata whose annotations carry the stamp: the Pod's,
// or its template's (a pointer into obj).
func stampedMeta(obj client.Object) *metav1.ObjectMeta {
	if pod, ok := obj.(*corev1.Pod); ok {
		return &pod.ObjectMeta
	}
	t, _ := licensing.PodTemplateOf(obj)
	return &t.ObjectMeta
}
