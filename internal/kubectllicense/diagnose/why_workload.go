package diagnose

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
)

const (
	kindDeployment  = "Deployment"
	kindReplicaSet  = "ReplicaSet"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
	kindJob         = "Job"
	kindCronJob     = "CronJob"
)

// reasonFailedCreate is the reason of the event a workload controller
// writes when the API server refuses a Pod it creates.
const reasonFailedCreate = "FailedCreate"

// revisionAnnotation is the Deployment controller's revision of a ReplicaSet.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// newestCronJobJobs is how many of a CronJob's Jobs why looks at.
const newestCronJobJobs = 3

// listWorkloads lists the objects of kind in namespace.
func listWorkloads(ctx context.Context, r client.Reader, namespace, kind string) ([]client.Object, error) {
	var list client.ObjectList
	switch kind {
	case kindDeployment:
		list = &appsv1.DeploymentList{}
	case kindReplicaSet:
		list = &appsv1.ReplicaSetList{}
	case kindStatefulSet:
		list = &appsv1.StatefulSetList{}
	case kindDaemonSet:
		list = &appsv1.DaemonSetList{}
	case kindJob:
		list = &batchv1.JobList{}
	case kindCronJob:
		list = &batchv1.CronJobList{}
	default:
		return nil, fmt.Errorf("not a workload kind: %s", kind)
	}
	if err := r.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, o := range items {
		out = append(out, o.(client.Object))
	}
	return out, nil
}

// creators are the objects that create the workload's Pods, whose
// FailedCreate events say why a Pod was not created: a Deployment's current
// ReplicaSets (the newest revision, and any that still wants Pods), a
// CronJob's newest Jobs, or the workload itself.
func creators(ctx context.Context, r client.Reader, obj client.Object) ([]client.Object, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		list := &appsv1.ReplicaSetList{}
		if err := r.List(ctx, list, client.InNamespace(o.Namespace)); err != nil {
			return nil, fmt.Errorf("listing the ReplicaSets of Deployment %s/%s: %w", o.Namespace, o.Name, err)
		}
		return currentReplicaSets(o, list.Items), nil
	case *batchv1.CronJob:
		list := &batchv1.JobList{}
		if err := r.List(ctx, list, client.InNamespace(o.Namespace)); err != nil {
			return nil, fmt.Errorf("listing the Jobs of CronJob %s/%s: %w", o.Namespace, o.Name, err)
		}
		var jobs []client.Object
		for i := range list.Items {
			if ownedBy(&list.Items[i], o.UID) {
				jobs = append(jobs, &list.Items[i])
			}
		}
		sort.Slice(jobs, func(i, j int) bool {
			return jobs[j].GetCreationTimestamp().Time.Before(jobs[i].GetCreationTimestamp().Time)
		})
		return jobs[:min(len(jobs), newestCronJobJobs)], nil
	}
	return []client.Object{obj}, nil
}

// currentReplicaSets are the ReplicaSets of Deployment d that create Pods
// now: the one of its newest revision, and the older ones that still want
// Pods (during a rollout), newest first.
func currentReplicaSets(d *appsv1.Deployment, all []appsv1.ReplicaSet) []client.Object {
	var owned []*appsv1.ReplicaSet
	for i := range all {
		if ownedBy(&all[i], d.UID) {
			owned = append(owned, &all[i])
		}
	}
	revision := func(rs *appsv1.ReplicaSet) int64 {
		n, _ := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
		return n
	}
	sort.SliceStable(owned, func(i, j int) bool {
		if ri, rj := revision(owned[i]), revision(owned[j]); ri != rj {
			return ri > rj
		}
		return owned[j].CreationTimestamp.Before(&owned[i].CreationTimestamp)
	})
	var out []client.Object
	for i, rs := range owned {
		if i == 0 || (rs.Spec.Replicas != nil && *rs.Spec.Replicas > 0) {
			out = append(out, rs)
		}
	}
	return out
}

// ownedBy says whether obj's controller is the object uid.
func ownedBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == uid
}

// whyWorkload explains a workload: the refusals its controllers met, and
// its Pods that wait in line.
func whyWorkload(ctx context.Context, r client.Reader, namespace, kind, name string, now time.Time, out io.Writer) error {
	obj := licensing.NewTemplated(kind)
	if err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %s not found in namespace %s", kind, name, namespace)
		}
		return err
	}
	key := fmt.Sprintf("%s %s/%s", kind, namespace, name)
	tmpl, replicas := licensing.PodTemplateOf(obj)
	v, err := readView(ctx, r, namespace)
	if err != nil {
		return err
	}
	w := licensing.WorkloadFromPodSpec(kind, name, namespace, tmpl.ObjectMeta, &tmpl.Spec, replicas)
	needs := v.needs(&w)
	if len(needs) == 0 {
		_, _ = fmt.Fprintf(out, "%s: its Pods need no licence (no annotation %s, and no image matches a product's spec.workloads.images).\n",
			key, licensingv1alpha1.ProductAnnotation)
	} else {
		_, _ = fmt.Fprintf(out, "%s: its Pods need a seat of %s.\n", key, productNames(needs))
	}

	sources, err := creators(ctx, r, obj)
	if err != nil {
		return err
	}
	refused, err := writeRefusals(ctx, r, sources, now, out)
	if err != nil {
		return err
	}
	waiting, err := writeWaitingPods(ctx, r, namespace, sources, out)
	if err != nil {
		return err
	}
	if refused == 0 && waiting == 0 {
		_, _ = fmt.Fprintf(out, "No Pod of it is refused by the licensing webhook or waits in line for a seat now "+
			"(a refusal is known from the FailedCreate events of %s, which the API server keeps for an hour by default). "+
			"To ask the webhook now: kubectl license can-i -f <its manifest>\n", creatorNames(sources))
	}
	return nil
}

// writeRefusals writes, for each creator, the newest refusal of the
// licensing webhook among its FailedCreate events, and how many there
// were; other FailedCreate reasons are listed after. It returns how many
// licensing refusals it found.
func writeRefusals(ctx context.Context, r client.Reader, sources []client.Object, now time.Time, out io.Writer) (int, error) {
	total := 0
	for _, src := range sources {
		events, err := eventsOf(ctx, r, src.GetNamespace(), src.GetUID())
		if err != nil {
			return 0, err
		}
		var ours, others []corev1.Event
		var newest Refusal
		for _, e := range withReason(events, reasonFailedCreate) {
			if ref, ok := ParseRefusal(e.Message); ok && ref.IsLicensing() {
				if len(ours) == 0 {
					newest = ref
				}
				ours = append(ours, e)
			} else {
				others = append(others, e)
			}
		}
		kind := src.GetObjectKind().GroupVersionKind().Kind
		if kind == "" {
			kind = kindOf(src)
		}
		if len(ours) > 0 {
			count := int32(0)
			for i := range ours {
				count += eventCount(&ours[i])
			}
			total += int(count)
			_, _ = fmt.Fprintf(out, "\n%s %s could not create Pods: the licensing webhook %s refused them (%s, the last %s). Its words:\n",
				kind, src.GetName(), newest.Webhook, plural(int(count), "FailedCreate event"), ago(now, eventTime(&ours[0])))
			indent(out, "  ", newest.Message)
		}
		if len(others) > 0 {
			_, _ = fmt.Fprintf(out, "\n%s %s could not create Pods for other reasons (the last %s):\n", kind, src.GetName(), ago(now, eventTime(&others[0])))
			indent(out, "  ", others[0].Message)
		}
	}
	return total, nil
}

// writeWaitingPods writes a line for each Pod of the creators that waits
// in line for a seat or a use, with its place when the operator told it,
// and returns how many there are.
func writeWaitingPods(ctx context.Context, r client.Reader, namespace string, sources []client.Object, out io.Writer) (int, error) {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(namespace)); err != nil {
		return 0, fmt.Errorf("listing the Pods of namespace %s: %w", namespace, err)
	}
	var waiting []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		gated := licensing.SeatGated(p) || licensing.HasSchedulingGate(p, licensingv1alpha1.UseGate)
		if gated && slices.ContainsFunc(sources, func(s client.Object) bool { return ownedBy(p, s.GetUID()) }) {
			waiting = append(waiting, p)
		}
	}
	if len(waiting) == 0 {
		return 0, nil
	}
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].Name < waiting[j].Name })
	_, _ = fmt.Fprintf(out, "\n%s of it waiting in line (kubectl license why POD explains each):\n", plural(len(waiting), "Pod"))
	for _, p := range waiting {
		_, _ = fmt.Fprintf(out, "  %s: %s\n", p.Name, waitingSummary(ctx, r, p))
	}
	return len(waiting), nil
}

// waitingSummary is the note of the Pod's newest WaitingForSeat event, or
// what gate it carries.
func waitingSummary(ctx context.Context, r client.Reader, p *corev1.Pod) string {
	if !licensing.SeatGated(p) {
		return "waits for a use of a consumption licence (scheduling gate " + licensingv1alpha1.UseGate + ")"
	}
	if events, err := eventsOf(ctx, r, p.Namespace, p.UID); err == nil {
		for _, e := range withReason(events, seats.EventWaitingForSeat) {
			if ev, err := licensing.ParseWaitingEventMessage(e.Message); err == nil {
				return licensing.WaitingEventMessage(ev.Product, ev.Assignment, ev.Licence, ev.Place)
			}
		}
	}
	return "waits for a seat (scheduling gate " + licensingv1alpha1.SeatGate + "); the operator has not told it its place yet"
}

// kindOf is the kind of a typed workload object (its TypeMeta is empty
// after a typed read).
func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *appsv1.Deployment:
		return kindDeployment
	case *appsv1.ReplicaSet:
		return kindReplicaSet
	case *appsv1.StatefulSet:
		return kindStatefulSet
	case *appsv1.DaemonSet:
		return kindDaemonSet
	case *batchv1.Job:
		return kindJob
	case *batchv1.CronJob:
		return kindCronJob
	}
	return "object"
}

// creatorNames is "ReplicaSet web-6d4f, ReplicaSet web-5c8b".
func creatorNames(sources []client.Object) string {
	if len(sources) == 0 {
		return "its controllers (none found)"
	}
	names := ""
	for i, s := range sources {
		if i > 0 {
			names += ", "
		}
		names += kindOf(s) + " " + s.GetName()
	}
	return names
}
