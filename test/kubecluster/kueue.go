package kubecluster

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"
	"sigs.k8s.io/kueue/pkg/controller/constants"
)

// Fixtures of Kueue's API (kueue.x-k8s.io/v1beta2, the storage version of
// Kueue v0.17), for the suites that run a real Kueue (localcluster's
// Options.Kueue). They follow Kueue's own wrappers (pkg/util/testing), which
// are not imported: they pull in Kueue's controllers and their k8s.io pins.

// KueueScheme is Scheme with Kueue's API.
func KueueScheme() *runtime.Scheme {
	s := Scheme()
	_ = kueue.AddToScheme(s)
	return s
}

// MakeResourceFlavor returns a ResourceFlavor that matches every node.
func MakeResourceFlavor(name string) *kueue.ResourceFlavor {
	return &kueue.ResourceFlavor{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// ClusterQueueWrapper builds a ClusterQueue.
type ClusterQueueWrapper struct{ kueue.ClusterQueue }

// MakeClusterQueue returns a ClusterQueue that takes workloads from every
// namespace and has no quota yet.
func MakeClusterQueue(name string) *ClusterQueueWrapper {
	return &ClusterQueueWrapper{kueue.ClusterQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       kueue.ClusterQueueSpec{NamespaceSelector: &metav1.LabelSelector{}},
	}}
}

// Obj returns the ClusterQueue.
func (w *ClusterQueueWrapper) Obj() *kueue.ClusterQueue { return &w.ClusterQueue }

// CPU adds a resource group of cpu with a nominal quota of quota (such as
// "4" or "500m") on flavor.
func (w *ClusterQueueWrapper) CPU(flavor, quota string) *ClusterQueueWrapper {
	w.Spec.ResourceGroups = append(w.Spec.ResourceGroups, kueue.ResourceGroup{
		CoveredResources: []corev1.ResourceName{corev1.ResourceCPU},
		Flavors: []kueue.FlavorQuotas{{
			Name:      kueue.ResourceFlavorReference(flavor),
			Resources: []kueue.ResourceQuota{{Name: corev1.ResourceCPU, NominalQuota: resource.MustParse(quota)}},
		}},
	})
	return w
}

// AdmissionChecks makes every workload of the queue wait for the
// AdmissionChecks named (on every flavor). In v1beta2 this is
// spec.admissionChecksStrategy; v1beta1's spec.admissionChecks is gone.
func (w *ClusterQueueWrapper) AdmissionChecks(names ...string) *ClusterQueueWrapper {
	if w.Spec.AdmissionChecksStrategy == nil {
		w.Spec.AdmissionChecksStrategy = &kueue.AdmissionChecksStrategy{}
	}
	for _, n := range names {
		w.Spec.AdmissionChecksStrategy.AdmissionChecks = append(w.Spec.AdmissionChecksStrategy.AdmissionChecks,
			kueue.AdmissionCheckStrategyRule{Name: kueue.AdmissionCheckReference(n)})
	}
	return w
}

// MakeLocalQueue returns the LocalQueue namespace/name of clusterQueue.
func MakeLocalQueue(name, namespace, clusterQueue string) *kueue.LocalQueue {
	return &kueue.LocalQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       kueue.LocalQueueSpec{ClusterQueue: kueue.ClusterQueueReference(clusterQueue)},
	}
}

// MakeAdmissionCheck returns an AdmissionCheck served by the controller
// controllerName.
func MakeAdmissionCheck(name, controllerName string) *kueue.AdmissionCheck {
	return &kueue.AdmissionCheck{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       kueue.AdmissionCheckSpec{ControllerName: controllerName},
	}
}

// QueueJob puts job into the LocalQueue queue of its namespace (Kueue's
// queue-name label): Kueue's webhook suspends it until its Workload is
// admitted.
func QueueJob(job *batchv1.Job, queue string) *batchv1.Job {
	if job.Labels == nil {
		job.Labels = map[string]string{}
	}
	job.Labels[constants.QueueLabel] = queue
	return job
}

// CPURequest sets the cpu request of the Pod's main container (Kueue
// counts requests against a ClusterQueue's quota).
func (w *PodWrapper) CPURequest(cpu string) *PodWrapper {
	w.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	return w
}
