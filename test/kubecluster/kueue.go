package kubecluster

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/license-operator/license-operator/internal/kueue"
)

// Fixtures of Kueue's objects, for the tests that run the operator against
// Kueue's CRDs (the test playing Kueue) and against a real Kueue.

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

// MakeAdmissionCheck is an AdmissionCheck of the operator's controllerName.
func MakeAdmissionCheck(name string) *kueuev1beta2.AdmissionCheck {
	return &kueuev1beta2.AdmissionCheck{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       kueuev1beta2.AdmissionCheckSpec{ControllerName: kueue.ControllerName},
	}
}

// MakeClusterQueue is a ClusterQueue of every namespace with one flavor of
// nominal quota cpu that lists the checks for every flavor.
func MakeClusterQueue(name, flavor string, cpu string, checks ...string) *kueuev1beta2.ClusterQueue {
	cq := &kueuev1beta2.ClusterQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kueuev1beta2.ClusterQueueSpec{
			NamespaceSelector: &metav1.LabelSelector{},
			ResourceGroups: []kueuev1beta2.ResourceGroup{{
				CoveredResources: []corev1.ResourceName{corev1.ResourceCPU},
				Flavors: []kueuev1beta2.FlavorQuotas{{
					Name:      kueuev1beta2.ResourceFlavorReference(flavor),
					Resources: []kueuev1beta2.ResourceQuota{{Name: corev1.ResourceCPU, NominalQuota: resource.MustParse(cpu)}},
				}},
			}},
		},
	}
	if len(checks) > 0 {
		cq.Spec.AdmissionChecksStrategy = &kueuev1beta2.AdmissionChecksStrategy{}
		for _, c := range checks {
			cq.Spec.AdmissionChecksStrategy.AdmissionChecks = append(cq.Spec.AdmissionChecksStrategy.AdmissionChecks,
				kueuev1beta2.AdmissionCheckStrategyRule{Name: kueuev1beta2.AdmissionCheckReference(c)})
		}
	}
	return cq
}

// MakeLocalQueue is a LocalQueue of namespace backed by clusterQueue.
func MakeLocalQueue(name, namespace, clusterQueue string) *kueuev1beta2.LocalQueue {
	return &kueuev1beta2.LocalQueue{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       kueuev1beta2.LocalQueueSpec{ClusterQueue: kueuev1beta2.ClusterQueueReference(clusterQueue)},
	}
}

// WorkloadWrapper builds a Kueue Workload as Kueue makes one for a Job.
type WorkloadWrapper struct{ kueuev1beta2.Workload }

// MakeWorkload is a Workload of queue in namespace with no pod set yet.
func MakeWorkload(name, namespace, queue string) *WorkloadWrapper {
	return &WorkloadWrapper{kueuev1beta2.Workload{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       kueuev1beta2.WorkloadSpec{QueueName: kueuev1beta2.LocalQueueName(queue)},
	}}
}

// Obj returns the Workload.
func (w *WorkloadWrapper) Obj() *kueuev1beta2.Workload { return &w.Workload }

// PodSet adds a pod set of count Pods like pod.
func (w *WorkloadWrapper) PodSet(name string, count int32, pod *PodWrapper) *WorkloadWrapper {
	t := pod.Template()
	t.Name, t.Namespace = "", ""
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	w.Spec.PodSets = append(w.Spec.PodSets, kueuev1beta2.PodSet{Name: kueuev1beta2.PodSetReference(name), Count: count, Template: t})
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
func KueueQueued(wl *kueuev1beta2.Workload, now time.Time, checks ...string) {
	for _, c := range checks {
		if !hasCheck(wl, c) {
			wl.Status.AdmissionChecks = append(wl.Status.AdmissionChecks, kueuev1beta2.AdmissionCheckState{
				Name: kueuev1beta2.AdmissionCheckReference(c), State: kueuev1beta2.CheckStatePending, LastTransitionTime: metav1.NewTime(now),
			})
		}
	}
}

func hasCheck(wl *kueuev1beta2.Workload, name string) bool {
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
func KueueReserveQuota(wl *kueuev1beta2.Workload, clusterQueue string, now time.Time, counts map[string]int32) {
	adm := &kueuev1beta2.Admission{ClusterQueue: kueuev1beta2.ClusterQueueReference(clusterQueue)}
	for _, ps := range wl.Spec.PodSets {
		count := ps.Count
		if c, ok := counts[string(ps.Name)]; ok {
			count = c
		}
		adm.PodSetAssignments = append(adm.PodSetAssignments, kueuev1beta2.PodSetAssignment{
			Name: ps.Name, Count: ptr.To(count),
			Flavors: map[corev1.ResourceName]kueuev1beta2.ResourceFlavorReference{corev1.ResourceCPU: "default"},
		})
	}
	wl.Status.Admission = adm
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: kueuev1beta2.WorkloadQuotaReserved, Status: metav1.ConditionTrue, Reason: "QuotaReserved",
		Message: "Quota reserved in ClusterQueue " + clusterQueue, LastTransitionTime: metav1.NewTime(now),
	})
	for i := range wl.Status.AdmissionChecks {
		wl.Status.AdmissionChecks[i].State = kueuev1beta2.CheckStatePending
		wl.Status.AdmissionChecks[i].LastTransitionTime = metav1.NewTime(now)
		wl.Status.AdmissionChecks[i].Message = ""
	}
}

// KueueReleaseQuota is what Kueue writes when it gives a Workload's quota
// back (after a Retry, or an eviction): no admission, QuotaReserved False.
func KueueReleaseQuota(wl *kueuev1beta2.Workload, now time.Time, reason string) {
	wl.Status.Admission = nil
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: kueuev1beta2.WorkloadQuotaReserved, Status: metav1.ConditionFalse, Reason: reason,
		Message: "Quota released", LastTransitionTime: metav1.NewTime(now),
	})
}

// KueueSetCondition sets a condition of a Workload (Finished, Evicted, Admitted) to True.
func KueueSetCondition(wl *kueuev1beta2.Workload, condition, reason string, now time.Time) {
	apimeta.SetStatusCondition(&wl.Status.Conditions, metav1.Condition{
		Type: condition, Status: metav1.ConditionTrue, Reason: reason, Message: reason, LastTransitionTime: metav1.NewTime(now),
	})
}

// CheckOf is the state of the check name of a Workload.
func CheckOf(wl *kueuev1beta2.Workload, name string) *kueuev1beta2.AdmissionCheckState {
	for i := range wl.Status.AdmissionChecks {
		if string(wl.Status.AdmissionChecks[i].Name) == name {
			return &wl.Status.AdmissionChecks[i]
		}
	}
	return nil
}
