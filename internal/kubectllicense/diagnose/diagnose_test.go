package diagnose

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		args    []string
		want    target
		wantErr string
	}{
		{args: []string{"web-0"}, want: target{kindPod, "web-0"}},
		{args: []string{"pod/web-0"}, want: target{kindPod, "web-0"}},
		{args: []string{"deployment/web"}, want: target{kindDeployment, "web"}},
		{args: []string{"deploy", "web"}, want: target{kindDeployment, "web"}},
		{args: []string{"deployment.apps/web"}, want: target{kindDeployment, "web"}},
		{args: []string{"sts/db"}, want: target{kindStatefulSet, "db"}},
		{args: []string{"Job/nightly"}, want: target{kindJob, "nightly"}},
		{args: []string{"cj/nightly"}, want: target{kindCronJob, "nightly"}},
		{args: []string{"rs/web-6d4f"}, want: target{kindReplicaSet, "web-6d4f"}},
		{args: []string{"ds/agent"}, want: target{kindDaemonSet, "agent"}},
		{args: []string{"service/web"}, wantErr: `not "service"`},
		{args: []string{"deployment/"}, wantErr: "is not a name"},
		{args: []string{"deployment/a/b"}, wantErr: "is not a name"},
	}
	for _, tc := range cases {
		got, err := parseTarget(tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseTarget(%q) = %v, %v; want an error with %q", tc.args, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTarget(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}

func TestParseRefusal(t *testing.T) {
	cases := []struct {
		text string
		want Refusal
		ok   bool
	}{{
		text: `Error creating: admission webhook "pods.workloads.licensing.license-operator.dev" denied the request: Pod a/b needs a seat: x`,
		want: Refusal{Webhook: "pods.workloads.licensing.license-operator.dev", Message: "Pod a/b needs a seat: x"},
		ok:   true,
	}, {
		text: `create Pod db-0 in StatefulSet db failed error: admission webhook "policy.example.com" denied the request: no`,
		want: Refusal{Webhook: "policy.example.com", Message: "no"},
		ok:   true,
	}, {
		text: `Error creating: pods "web-x" is forbidden: exceeded quota: compute`,
	}, {
		text: `admission webhook "unterminated`,
	}}
	for _, tc := range cases {
		got, ok := ParseRefusal(tc.text)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseRefusal(%q) = %v, %v; want %v, %v", tc.text, got, ok, tc.want, tc.ok)
		}
	}
	if !(Refusal{Webhook: "pods.workloads.licensing.license-operator.dev"}).IsLicensing() || (Refusal{Webhook: "policy.example.com"}).IsLicensing() {
		t.Error("IsLicensing tells the operator's webhooks by their names")
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitYes},
		{errors.New("no cluster"), ExitError},
		{verdictError{code: ExitNo}, ExitNo},
		{verdictError{code: ExitWait}, ExitWait},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if worse(Yes, Wait) != Wait || worse(Wait, No) != No || worse(Yes, Yes) != Yes {
		t.Error("worse orders no, then wait, then yes")
	}
}

func TestReadManifests(t *testing.T) {
	in := `apiVersion: v1
kind: List
items:
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a}}
- {apiVersion: batch/v1, kind: Job, metadata: {name: b}}
---
---
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}}
`
	objs, err := readManifests("-", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetName())
	}
	if diff := cmp.Diff([]string{"Deployment/a", "Job/b", "Pod/c"}, got); diff != "" {
		t.Errorf("readManifests (-want +got):\n%s", diff)
	}
	for _, o := range objs {
		if obj, err := typed(o); err != nil || obj == nil {
			t.Errorf("typed(%s) = %v, %v", o.GetKind(), obj, err)
		}
	}
}

func TestManifestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.yaml", "a.json", "c.yml", "README.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := manifestFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yml")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifestFiles of a directory (-want +got):\n%s", diff)
	}
	if got, err := manifestFiles("-"); err != nil || len(got) != 1 || got[0] != "-" {
		t.Errorf("manifestFiles(-) = %v, %v", got, err)
	}
	if _, err := manifestFiles(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("manifestFiles of a missing file is not an error")
	}
}

func TestPodFor(t *testing.T) {
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{v1.ProductAnnotation: "cad"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "cad:1"}}},
		}},
	}
	pod := PodFor(dep)
	if pod.GenerateName != "web-" || pod.Name != "" || pod.Namespace != "team-a" || pod.Annotations[v1.ProductAnnotation] != "cad" || pod.Spec.Containers[0].Image != "cad:1" {
		t.Errorf("PodFor(Deployment) = %+v", pod)
	}
	if PodFor(pod).GenerateName != "web-" {
		t.Error("PodFor(Pod) keeps its generateName")
	}
}

func TestCurrentReplicaSets(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "d"}}
	rs := func(name, revision string, replicas int32, owner metav1.Object) appsv1.ReplicaSet {
		r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{revisionAnnotation: revision}}, Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}}
		if owner != nil {
			r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, appsv1.SchemeGroupVersion.WithKind("Deployment"))}
		}
		return r
	}
	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", UID: "o"}}
	all := []appsv1.ReplicaSet{rs("web-1", "1", 0, d), rs("web-3", "3", 2, d), rs("web-2", "2", 1, d), rs("api-9", "9", 1, other), rs("loose", "4", 1, nil)}
	var got []string
	for _, o := range currentReplicaSets(d, all) {
		got = append(got, o.GetName())
	}
	if diff := cmp.Diff([]string{"web-3", "web-2"}, got); diff != "" {
		t.Errorf("currentReplicaSets: the newest revision and the older ones still scaled up (-want +got):\n%s", diff)
	}
}

// fakeCluster is a fake client with objs, able to select events by involvedObject.uid.
func fakeCluster(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&corev1.Event{}, involvedUID, func(o client.Object) []string { return []string{string(o.(*corev1.Event).InvolvedObject.UID)} }).
		Build()
}

// licensedObjects are a licence "cad" of product cad in team-a with its
// effective policy, and a Bound assignment "render" of one seat for the
// default ServiceAccount.
func licensedObjects(policy v1.PolicySettings) (*v1.SoftwareLicense, *v1.LicenseAssignment) {
	l := &v1.SoftwareLicense{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "cad"},
		Status: v1.SoftwareLicenseStatus{
			State: v1.LicenseStateActive, Seats: v1.LicenseSeatStatus{Total: ptr.To[int32](1), Used: 1},
			Product:         &v1.ResolvedProduct{Name: "cad", Covers: []string{"cad"}},
			EffectivePolicy: &v1.EffectivePolicy{PolicySettings: policy},
		},
	}
	a := &v1.LicenseAssignment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "render"},
		Spec:       v1.LicenseAssignmentSpec{Seats: 1, Assignee: v1.Assignee{ServiceAccount: &v1.ServiceAccountAssignee{Name: "default"}}},
		Status:     v1.LicenseAssignmentStatus{State: v1.AssignmentStateBound, License: "team-a/cad", Seats: 1, WaitingPods: 2},
	}
	return l, a
}

func gatedPod(name, gate string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name, UID: types.UID("uid-" + name),
			Annotations: map[string]string{v1.ProductAnnotation: "cad"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "cad:1"}}, SchedulingGates: []corev1.PodSchedulingGate{{Name: gate}}},
	}
}

func TestWhySeatWaitWithoutEvent(t *testing.T) {
	l, a := licensedObjects(v1.PolicySettings{})
	pod := gatedPod("render-2", v1.SeatGate)
	c := fakeCluster(l, a, pod, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})
	var out bytes.Buffer
	if err := Why(context.Background(), c, "team-a", kindPod, "render-2", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	w := licensing.WorkloadFromPodSpec(kindPod, pod.Name, "team-a", pod.ObjectMeta, &pod.Spec, nil)
	lead := licensing.WaitsInLine(&w, licensing.ProductNeed{Product: "cad"}, licensing.Cover{Assignment: a, License: l})
	if want := lead + ". Its place in line is not known"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("why without a WaitingForSeat event starts with\n%s\nwant the line the webhook puts it in (licensing.LineOf):\n%s", out.String(), want)
	}
	for _, want := range []string{
		"Assignment:    render: Bound, 1 seat, 2 Pods waiting (status.waitingPods)",
		"  - a Pod holding a seat of assignment render ends or is deleted\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("why says\n%s\nwant %q in it", out.String(), want)
		}
	}
}

func TestWhySeatWaitOfAnExpiredLicence(t *testing.T) {
	l, a := licensedObjects(v1.PolicySettings{})
	l.Status.State = v1.LicenseStateExpired
	pod := gatedPod("render-2", v1.SeatGate)
	place := licensing.LinePlace{Position: 2, Waiting: 2, Used: 1, Seats: 1, Holders: []string{"render-1"}, Stopped: "licence team-a/cad is Expired"}
	told := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "team-a", Name: "render-2.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "team-a", Name: "render-2", UID: pod.UID},
		Reason:         "WaitingForSeat", Message: licensing.WaitingEventMessage("cad", "render", "team-a/cad", place),
		EventTime: metav1.NewMicroTime(time.Now().Add(-time.Minute)),
	}
	var out bytes.Buffer
	if err := Why(context.Background(), fakeCluster(l, a, pod, told), "team-a", kindPod, "render-2", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	w := licensing.WorkloadFromPodSpec(kindPod, pod.Name, "team-a", pod.ObjectMeta, &pod.Spec, nil)
	want := licensing.WaitingMessage(&w, licensing.ProductNeed{Product: "cad"}, licensing.Cover{Assignment: a, License: l, Seats: 1}, place)
	if !strings.HasPrefix(out.String(), want+"\n") {
		t.Errorf("why starts with\n%s\nwant the webhook's words for the place the event told:\n%s", out.String(), want)
	}
	for _, want := range []string{
		"(told 1m0s ago, event WaitingForSeat)",
		"  - the line stopped (licence team-a/cad is Expired) starts again: renew licence team-a/cad (a later spec.expiryDate)\n",
		"  - the Pod ahead of it in line takes a seat first",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("why says\n%s\nwant %q in it", out.String(), want)
		}
	}
}

func TestWhyUseWait(t *testing.T) {
	reset := metav1.NewTime(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	l, a := licensedObjects(v1.PolicySettings{Type: ptr.To(v1.LicenseTypeConsumption)})
	l.Status.NextResetTime = &reset
	l.Status.Consumption = &v1.ConsumptionStatus{Used: 10, Admitted: 8, Reported: 2}
	pod := gatedPod("sim-1", v1.UseGate)
	var out bytes.Buffer
	if err := Why(context.Background(), fakeCluster(l, a, pod), "team-a", kindPod, "sim-1", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Pod team-a/sim-1 waits in line for a use of licence team-a/cad: the licence's uses for this consumption period are all taken.",
		"Used:        10 in this period (8 admitted, 2 reported)",
		"Next reset:  2026-04-01T00:00:00Z",
		"  - the consumption period of licence team-a/cad resets at 2026-04-01T00:00:00Z (status.nextResetTime)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("why says\n%s\nwant %q in it", out.String(), want)
		}
	}
}

func TestWhyPodNotWaiting(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "plain", UID: "p"},
		Spec:       corev1.PodSpec{SchedulingGates: []corev1.PodSchedulingGate{{Name: "example.com/other"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated", Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}},
	}
	var out bytes.Buffer
	if err := Why(context.Background(), fakeCluster(pod), "team-a", kindPod, "plain", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	want := "Pod team-a/plain needs no licence: no annotation " + v1.ProductAnnotation + ", and none of its images matches a product's spec.workloads.images.\n" +
		"It carries scheduling gates that are not the licensing operator's: example.com/other.\n" +
		"It is Pending for another reason: SchedulingGated: Scheduling is blocked due to non-empty scheduling gates\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("why (-want +got):\n%s", diff)
	}
}

func TestListWorkloads(t *testing.T) {
	c := fakeCluster(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "api"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "db"}},
	)
	got, err := listWorkloads(context.Background(), c, "team-a", kindDeployment)
	if err != nil || len(got) != 1 || got[0].GetName() != "web" {
		t.Errorf("listWorkloads(Deployment) = %v, %v; want web", got, err)
	}
	if _, err := listWorkloads(context.Background(), c, "team-a", kindPod); err == nil {
		t.Error("listWorkloads(Pod) is not an error")
	}
}
