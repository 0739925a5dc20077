package kubecluster

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// PodWrapper builds a Pod for admission tests.
type PodWrapper struct{ corev1.Pod }

// MakePod returns a Pod running busybox as the default service account.
func MakePod(name, namespace string) *PodWrapper {
	return &PodWrapper{corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "main", Image: "busybox:1.36"}},
			TerminationGracePeriodSeconds: ptr.To[int64](0),
		},
	}}
}

// Obj returns the Pod.
func (w *PodWrapper) Obj() *corev1.Pod { return &w.Pod }

// GenerateName replaces the name with a generateName prefix.
func (w *PodWrapper) GenerateName(prefix string) *PodWrapper {
	w.Name, w.Pod.GenerateName = "", prefix
	return w
}

// Product sets the product annotation.
func (w *PodWrapper) Product(p string) *PodWrapper {
	return w.Annotation(licensingv1alpha1.ProductAnnotation, p)
}

// Annotation sets an annotation.
func (w *PodWrapper) Annotation(k, v string) *PodWrapper {
	if w.Annotations == nil {
		w.Annotations = map[string]string{}
	}
	w.Annotations[k] = v
	return w
}

// Refuse asks for a refusal rather than a place in line when no seat is
// free (the when-no-seat annotation).
func (w *PodWrapper) Refuse() *PodWrapper {
	return w.Annotation(licensingv1alpha1.WhenNoSeatAnnotation, string(licensingv1alpha1.WhenNoSeatRefuse))
}

// Label sets a label.
func (w *PodWrapper) Label(k, v string) *PodWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[k] = v
	return w
}

// Image sets the image of the main container.
func (w *PodWrapper) Image(img string) *PodWrapper { w.Spec.Containers[0].Image = img; return w }

// InitImage adds an init container running img.
func (w *PodWrapper) InitImage(img string) *PodWrapper {
	w.Spec.InitContainers = append(w.Spec.InitContainers, corev1.Container{Name: "init", Image: img})
	return w
}

// SchedulingGate adds a scheduling gate.
func (w *PodWrapper) SchedulingGate(name string) *PodWrapper {
	w.Spec.SchedulingGates = append(w.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: name})
	return w
}

// ServiceAccount sets spec.serviceAccountName.
func (w *PodWrapper) ServiceAccount(sa string) *PodWrapper { w.Spec.ServiceAccountName = sa; return w }

// NodeName sets spec.nodeName.
func (w *PodWrapper) NodeName(n string) *PodWrapper { w.Spec.NodeName = n; return w }

// NodeSelector pins the Pod to a node by kubernetes.io/hostname.
func (w *PodWrapper) NodeSelector(n string) *PodWrapper {
	w.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": n}
	return w
}

// Template returns the Pod as a pod template with the given labels added.
func (w *PodWrapper) Template() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: *w.ObjectMeta.DeepCopy(), Spec: *w.Spec.DeepCopy()}
}

// MakeDeployment returns a Deployment of replicas Pods like pod (its labels become the selector).
func MakeDeployment(name string, replicas int32, pod *PodWrapper) *appsv1.Deployment {
	pod.Label("app", name)
	t := pod.Template()
	t.Name, t.Namespace = "", ""
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: t,
		},
	}
}

// MakeJob returns a Job running parallelism Pods like pod at once until
// completions of them succeed. The Job controller labels its Pods
// batch.kubernetes.io/job-name=name.
func MakeJob(name string, parallelism, completions int32, pod *PodWrapper) *batchv1.Job {
	t := pod.Template()
	t.Name, t.Namespace = "", ""
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: pod.Namespace},
		Spec: batchv1.JobSpec{
			Parallelism: ptr.To(parallelism),
			Completions: ptr.To(completions),
			Template:    t,
		},
	}
}

// MakeNamespace returns a Namespace with labels.
func MakeNamespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// LicenseStatus is the part of a licence status admission reads.
func LicenseStatus(state licensingv1alpha1.LicenseState, model licensingv1alpha1.SeatModel, enf licensingv1alpha1.Enforcement, seats *int32, covers ...string) licensingv1alpha1.SoftwareLicenseStatus {
	return licensingv1alpha1.SoftwareLicenseStatus{
		State:   state,
		Seats:   licensingv1alpha1.LicenseSeatStatus{Total: seats},
		Product: &licensingv1alpha1.ResolvedProduct{Name: covers[0], Covers: covers},
		EffectivePolicy: &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{
			SeatModel: &model, Enforcement: &enf,
		}},
	}
}

// BoundStatus is the status of an assignment bound to licence (namespace/name) with seats.
func BoundStatus(licence string, seats int32) licensingv1alpha1.LicenseAssignmentStatus {
	return licensingv1alpha1.LicenseAssignmentStatus{State: licensingv1alpha1.AssignmentStateBound, License: licence, Seats: seats}
}

// RawObject is a licensing object of kind as a user writes it in YAML, sent
// without the Go types, which would refuse or rewrite some values (a number
// for a string, a date-only time, an explicit 0 that omitempty drops) before
// the API server saw them. namespace is empty for a cluster-scoped kind.
func RawObject(kind, name, namespace string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": licensingv1alpha1.GroupVersion.String(),
		"kind":       kind,
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}}
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	return u
}
