package licensing

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// TemplatedObject is a workload object with a pod template.
type TemplatedObject interface {
	metav1.Object
	runtime.Object
}

// NewTemplated returns an empty object of a workload kind that has a pod
// template (Deployment, StatefulSet, ReplicaSet, DaemonSet, Job, CronJob),
// nil for any other kind. The admission webhook decodes the workloads it
// decides into it, and `kubectl license can-i` the workloads it tries.
func NewTemplated(kind string) TemplatedObject {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "StatefulSet":
		return &appsv1.StatefulSet{}
	case "ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "DaemonSet":
		return &appsv1.DaemonSet{}
	case "Job":
		return &batchv1.Job{}
	case "CronJob":
		return &batchv1.CronJob{}
	}
	return nil
}

// PodTemplateOf is the pod template of a workload object of NewTemplated
// (a pointer into obj), and how many Pods of it run at once: replicas, a
// Job's parallelism (default 1); nil for a DaemonSet, whose count is its
// nodes'. Both are nil for any other object.
func PodTemplateOf(obj runtime.Object) (*corev1.PodTemplateSpec, *int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
	case *appsv1.StatefulSet:
		return &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
	case *appsv1.ReplicaSet:
		return &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Replicas, 1))
	case *appsv1.DaemonSet:
		return &o.Spec.Template, nil
	case *batchv1.Job:
		return &o.Spec.Template, ptr.To(ptr.Deref(o.Spec.Parallelism, 1))
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template, ptr.To(ptr.Deref(o.Spec.JobTemplate.Spec.Parallelism, 1))
	}
	return nil, nil
}
