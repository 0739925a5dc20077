package kueue

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/license-operator/license-operator/internal/licensing"
)

// TestDisabledIntegrationIsNeverActive: --kueue-admission-check=false sets
// nothing up, and the webhook's questions get no answer.
func TestDisabledIntegrationIsNeverActive(t *testing.T) {
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	i, err := SetupWithManager(mgr, nil, nil, Options{Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	if i.Active() {
		t.Fatal("a disabled integration is active")
	}
	if mgr.GetScheme().Recognizes(kueuev1beta2.GroupVersion.WithKind("Workload")) {
		t.Error("a disabled integration registered Kueue's types")
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{QueueNameLabel: "q"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "u", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: licensing.KueueGate}}}}
	if ride, err := i.RideOf(context.Background(), pod); ride != nil || err != nil {
		t.Errorf("RideOf = %v, %v; want nothing", ride, err)
	}
	if left, err := i.LeftToKueue(context.Background(), pod); left || err != nil {
		t.Errorf("LeftToKueue = %v, %v; want false", left, err)
	}
}

// TestDetectorMissing: the controllers start only once every Kueue
// resource they read is served.
func TestDetectorMissing(t *testing.T) {
	served := func(names ...string) *metav1.APIResourceList {
		l := &metav1.APIResourceList{GroupVersion: kueuev1beta2.GroupVersion.String()}
		for _, n := range names {
			l.APIResources = append(l.APIResources, metav1.APIResource{Name: n})
		}
		return l
	}
	cases := []struct {
		name      string
		resources []*metav1.APIResourceList
		want      []string
	}{
		{"no Kueue", nil, kueueResources},
		{"a Kueue without LocalQueues", []*metav1.APIResourceList{served("workloads", "admissionchecks", "clusterqueues")}, []string{"localqueues"}},
		{"Kueue", []*metav1.APIResourceList{served("workloads", "workloads/status", "admissionchecks", "clusterqueues", "localqueues", "cohorts")}, nil},
	}
	for _, c := range cases {
		d := &detector{disc: &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: c.resources}}}
		got, _ := d.missing()
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: missing (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestHoldsNoLonger(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: "R", LastTransitionTime: metav1.NewTime(time.Unix(0, 0))}
	}
	quota := cond(kueuev1beta2.WorkloadQuotaReserved, metav1.ConditionTrue)
	cases := []struct {
		name string
		wl   kueuev1beta2.Workload
		want string
	}{
		{"holding quota", kueuev1beta2.Workload{Status: kueuev1beta2.WorkloadStatus{Conditions: []metav1.Condition{quota}}}, ""},
		{"no quota yet", kueuev1beta2.Workload{}, "it holds no quota"},
		{"finished", kueuev1beta2.Workload{Status: kueuev1beta2.WorkloadStatus{Conditions: []metav1.Condition{quota, cond(kueuev1beta2.WorkloadFinished, metav1.ConditionTrue)}}}, "it has finished"},
		{"evicted", kueuev1beta2.Workload{Status: kueuev1beta2.WorkloadStatus{Conditions: []metav1.Condition{quota, cond(kueuev1beta2.WorkloadEvicted, metav1.ConditionTrue)}}}, "it was evicted"},
		{"deactivated", kueuev1beta2.Workload{Spec: kueuev1beta2.WorkloadSpec{Active: ptr.To(false)}, Status: kueuev1beta2.WorkloadStatus{Conditions: []metav1.Condition{quota}}}, "it was deactivated"},
	}
	for _, c := range cases {
		if got := holdsNoLonger(&c.wl); got != c.want {
			t.Errorf("%s: holdsNoLonger = %q, want %q", c.name, got, c.want)
		}
	}
}
