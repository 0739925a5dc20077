package kueue

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"
)

// The cache indexes of the integration, registered in one place once
// Kueue's CRDs are served.
const (
	// IndexClusterQueueChecks indexes ClusterQueues by the AdmissionChecks
	// they list (spec.admissionChecksStrategy.admissionChecks[].name).
	IndexClusterQueueChecks = "kueue.clusterqueue.admissionchecks"
	// IndexWorkloadChecks indexes Workloads by the AdmissionChecks in their
	// status (status.admissionChecks[].name): Kueue copies them from the
	// ClusterQueue of the Workload's LocalQueue.
	IndexWorkloadChecks = "kueue.workload.admissionchecks"
	// IndexWorkloadClusterQueue indexes admitted Workloads by the
	// ClusterQueue that reserved their quota (status.admission.clusterQueue).
	IndexWorkloadClusterQueue = "kueue.workload.clusterqueue"
	// IndexWorkloadOwner indexes Workloads by the UID of their controller
	// (the Job Kueue made them for).
	IndexWorkloadOwner = "kueue.workload.owner"
)

type index struct {
	obj     client.Object
	field   string
	extract client.IndexerFunc
}

func indexes() []index {
	return []index{
		{&kueuev1beta2.ClusterQueue{}, IndexClusterQueueChecks, clusterQueueChecks},
		{&kueuev1beta2.Workload{}, IndexWorkloadChecks, workloadChecks},
		{&kueuev1beta2.Workload{}, IndexWorkloadClusterQueue, workloadClusterQueue},
		{&kueuev1beta2.Workload{}, IndexWorkloadOwner, workloadOwner},
	}
}

func setupIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	for _, ix := range indexes() {
		if err := indexer.IndexField(ctx, ix.obj, ix.field, ix.extract); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", ix.obj, ix.field, err)
		}
	}
	return nil
}

// ClusterQueueChecks are the AdmissionChecks a ClusterQueue lists, with the
// flavors each is limited to (empty: every flavor).
func ClusterQueueChecks(cq *kueuev1beta2.ClusterQueue) map[string][]kueuev1beta2.ResourceFlavorReference {
	out := map[string][]kueuev1beta2.ResourceFlavorReference{}
	if s := cq.Spec.AdmissionChecksStrategy; s != nil {
		for _, r := range s.AdmissionChecks {
			out[string(r.Name)] = r.OnFlavors
		}
	}
	return out
}

func clusterQueueChecks(o client.Object) []string {
	cq, ok := o.(*kueuev1beta2.ClusterQueue)
	if !ok {
		return nil
	}
	var out []string
	for name := range ClusterQueueChecks(cq) {
		out = append(out, name)
	}
	return out
}

func workloadChecks(o client.Object) []string {
	wl, ok := o.(*kueuev1beta2.Workload)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(wl.Status.AdmissionChecks))
	for _, c := range wl.Status.AdmissionChecks {
		out = append(out, string(c.Name))
	}
	return out
}

func workloadClusterQueue(o client.Object) []string {
	wl, ok := o.(*kueuev1beta2.Workload)
	if !ok || wl.Status.Admission == nil || wl.Status.Admission.ClusterQueue == "" {
		return nil
	}
	return []string{string(wl.Status.Admission.ClusterQueue)}
}

func workloadOwner(o client.Object) []string {
	ref := metav1.GetControllerOf(o)
	if ref == nil {
		return nil
	}
	return []string{string(ref.UID)}
}
