package kueue

import (
	"context"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
)

// What the admission webhook asks of the integration about a Pod at its
// CREATE. The webhook decides; these only find, in objects the operator
// trusts (the Workloads Kueue wrote, the Job the API server stores, the
// ClusterQueue an administrator wrote), what the Pod may be admitted on.

// Labels and gates Kueue writes on Pods and pod templates.
const (
	// QueueNameLabel names the LocalQueue of a Kueue-managed object.
	QueueNameLabel = "kueue.x-k8s.io/queue-name"
	// PodSetLabel names the pod set of a Job's Pods (Kueue sets it on the
	// Job's template when it starts the Job).
	PodSetLabel = "kueue.x-k8s.io/podset"
)

// RideOf is the Workload reservation a Pod may ride: the Workload Kueue
// made for the Pod's controller (a Job), or for the controller of that Job
// (a JobSet, or any framework that runs its Pods through Jobs), holding
// quota and not finished. The Pod's controller reference is its creator's
// word: the webhook asks only for Pods that a trusted workload controller
// created (licensing.Identity.Trusted), and the Job is read from the API
// server and must have that reference's UID. The reservation caps the Pods
// that ride it at its count, so a forged reference takes no seat beyond it.
// nil when there is none, or the integration is not active.
func (i *Integration) RideOf(ctx context.Context, pod *corev1.Pod) (*seats.Ride, error) {
	if !i.Active() {
		return nil, nil
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return nil, nil
	}
	wl, err := i.workloadOf(ctx, pod.Namespace, ref.UID)
	if err != nil || wl != nil {
		return rideOn(wl, pod), err
	}
	if _, started := pod.Labels[PodSetLabel]; !started || ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
		// Only a Pod of a Job that Kueue started (it labels their template
		// with the pod set) is worth reading its Job for.
		return nil, nil
	}
	job := &batchv1.Job{}
	err = i.live.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, job)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Job %s/%s, the controller of Pod %s: %w", pod.Namespace, ref.Name, pod.Name, err)
	}
	up := metav1.GetControllerOf(job)
	if job.UID != ref.UID || up == nil {
		return nil, nil
	}
	wl, err = i.workloadOf(ctx, pod.Namespace, up.UID)
	return rideOn(wl, pod), err
}

func rideOn(wl *kueuev1beta2.Workload, pod *corev1.Pod) *seats.Ride {
	if wl == nil {
		return nil
	}
	return &seats.Ride{Workload: wl.UID, PodSet: pod.Labels[PodSetLabel]}
}

// workloadOf is the Workload of namespace whose controller has UID owner,
// holding quota and not finished (the latest created when several), or nil.
func (i *Integration) workloadOf(ctx context.Context, namespace string, owner types.UID) (*kueuev1beta2.Workload, error) {
	list := &kueuev1beta2.WorkloadList{}
	if err := i.cache.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{IndexWorkloadOwner: string(owner)}); err != nil {
		return nil, fmt.Errorf("listing the Workloads of %s: %w", owner, err)
	}
	var live []*kueuev1beta2.Workload
	for j := range list.Items {
		wl := &list.Items[j]
		if hasQuota(wl) && !apimeta.IsStatusConditionTrue(wl.Status.Conditions, kueuev1beta2.WorkloadFinished) {
			live = append(live, wl)
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	sort.Slice(live, func(a, b int) bool { return live[a].CreationTimestamp.After(live[b].CreationTimestamp.Time) })
	return live[0], nil
}

// LeftToKueue says whether a Pod that Kueue manages as a plain Pod (its
// queue-name label, and Kueue's scheduling gate, which Kueue removes once
// every check of its Workload is Ready) needs no seat at its CREATE: its
// LocalQueue's ClusterQueue lists an AdmissionCheck of ControllerName for
// every flavor, so Kueue starts it only once that check reserved its seats
// (and the reservation names the Pod as a rider). A Pod whose queue has no
// such check takes its seat at CREATE, as before.
func (i *Integration) LeftToKueue(ctx context.Context, pod *corev1.Pod) (bool, error) {
	if !i.Active() || !licensing.HasSchedulingGate(pod, licensing.KueueGate) {
		return false, nil
	}
	queue := pod.Labels[QueueNameLabel]
	if queue == "" {
		return false, nil
	}
	lq := &kueuev1beta2.LocalQueue{}
	if err := i.cache.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: queue}, lq); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	cq := &kueuev1beta2.ClusterQueue{}
	if err := i.cache.Get(ctx, types.NamespacedName{Name: string(lq.Spec.ClusterQueue)}, cq); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	for name, flavors := range ClusterQueueChecks(cq) {
		if len(flavors) > 0 {
			continue // not on every flavor: the Pod may start without it
		}
		ac := &kueuev1beta2.AdmissionCheck{}
		err := i.cache.Get(ctx, types.NamespacedName{Name: name}, ac)
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		if err == nil && ac.Spec.ControllerName == ControllerName {
			return true, nil
		}
	}
	return false, nil
}
