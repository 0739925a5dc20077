package kubecluster

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
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

// KueueCRDDir is config/components/crd/bases of the sigs.k8s.io/kueue
// module this repository requires, in the module cache (go list -m).
func KueueCRDDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kueue").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m sigs.k8s.io/kueue: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("sigs.k8s.io/kueue is not in the module cache: run go mod download")
	}
	return filepath.Join(dir, "config", "components", "crd", "bases"), nil
}

// WorkloadWrapper builds a Kueue Workload as Kueue makes one for a Job.
type WorkloadWrapper struct{ kueue.Workload }

// MakeWorkload is a Workload of queue in namespace with no pod set yet.
func MakeWorkload(name, namespace, queue string) *WorkloadWrapper {
	return &WorkloadWrapper{kueue.Workload{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       kueue.WorkloadSpec{QueueName: kueue.LocalQueueName(queue)},
	}}
}

// Obj returns the Workload.
func (w *WorkloadWrapper) Obj() *kueue.Workload { return &w.Workload }

// PodSet adds a pod set of count Pods like pod.
func (w *WorkloadWrapper) PodSet(name string, count int32, pod *PodWrapper) *WorkloadWrapper {
	t := pod.Template()
	t.Name, t.Namespace = "", ""
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	w.Spec.PodSets = append(w.Spec.PodSets, kueue.PodSet{Name: kueue.PodSetReference(name), Count: count, Template: t})
	return w
}

// Priority sets spec.priority.
func (w *WorkloadWrapper) Priority(p int32) *WorkloadWrapper { w.Spec.Priority = ptr.To(p); return w }

// ControlledBy makes the Workload controlled by the object kind/name with
// uid, as Kueue makes a Job's Workload (and labels it with the Job's UID).
func (w *WorkloadWrapper) ControlledBy(apiVersion, kind, name string, uid types.UID) *WorkloadWrapper {
	w.OwnerReferences = append(w.OwnerReferences, metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	})
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels["kueue.x-k8s.io/job-uid"] = string(uid)
	return w
}

// KueueQueued is what Kueue writes into a Workload's status when it queues
// it on a ClusterQueue whose checks are checks: each check Pending.
func KueueQueued(wl *kueue.Workload, now time.Time, checks ...string) {
	for _, c := range checks {
		if !hasCheck(wl, c) {
			wl.Status.AdmissionChecks = append(wl.Status.AdmissionChecks, kueue.AdmissionCheckState{
				Name: kueue.AdmissionCheckReference(c), State: kueue.CheckStatePending, LastTransitionTime: metav1.NewTime(now),
			})
		}
	}
}

func hasCheck(wl *kueue.Workload, name string) bool {
	for _, c := range wl.Status.AdmissionChecks {
		if string(c.Name) == name {
			return true
		}
	}
	return false
}

// KueueReserveQuota is what Kueue writes into a Workload's status when it
// reserves quota for it on clusterQueue: the QuotaReserved condition, the
// admission with each pod set's count (counts, by pod set, lower them as a
// partial admission does), and its checks Pending again.
func KueueReserveQuota(wl *kueue.Workload, clusterQueue string, now time.Time, counts map[string]int32) {
	adm := &kueue.Admission{ClusterQueue: kueue.ClusterQueueReference(clusterQueue)}
	for _, ps := range wl.Spec.PodSets {
		count := ps.Count
		if c, ok := counts[string(ps.Name)]; ok {
			count = c
		}
		adm.PodSetAssignments = append(adm.PodSetAssignments, kueue.PodSetAssignment{
			Name: ps.Name, Count: ptr.To(count),
			Flavors: map[corev1.ResourceName]kueue.ResourceFlavorReference{corev1.ResourceCPU: "default"},
		})
	}
	wl.Status.Admission = adm
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: kueue.WorkloadQuotaReserved, Status: metav1.ConditionTrue, Reason: "QuotaReserved",
		Message: "Quota reserved in ClusterQueue " + clusterQueue, LastTransitionTime: metav1.NewTime(now),
	})
	for i := range wl.Status.AdmissionChecks {
		wl.Status.AdmissionChecks[i].State = kueue.CheckStatePending
		wl.Status.AdmissionChecks[i].LastTransitionTime = metav1.NewTime(now)
		wl.Status.AdmissionChecks[i].Message = ""
	}
}

// KueueReleaseQuota is what Kueue writes when it gives a Workload's quota
// back (after a Retry, or an eviction): no admission, QuotaReserved False.
func KueueReleaseQuota(wl *kueue.Workload, now time.Time, reason string) {
	wl.Status.Admission = nil
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: kueue.WorkloadQuotaReserved, Status: metav1.ConditionFalse, Reason: reason,
		Message: "Quota released", LastTransitionTime: metav1.NewTime(now),
	})
}

// KueueSetCondition sets a condition of a Workload (Finished, Evicted, Admitted) to True.
func KueueSetCondition(wl *kueue.Workload, condition, reason string, now time.Time) {
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: condition, Status: metav1.ConditionTrue, Reason: reason, Message: reason, LastTransitionTime: metav1.NewTime(now),
	})
}

// CheckOf is the state of the check name of a Workload.
func CheckOf(wl *kueue.Workload, name string) *kueue.AdmissionCheckState {
	for i := range wl.Status.AdmissionChecks {
		if string(wl.Status.AdmissionChecks[i].Name) == name {
			return &wl.Status.AdmissionChecks[i]
		}
	}
	return nil
}
