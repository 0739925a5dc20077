package kubectllicense

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// holdersFixture: licence team-a/cad-pro (Concurrent, 5 seats, shared with
// every namespace). The reader sees namespace team-a: assignment web holds
// 2 seats with 1 Pod waiting, batch waits in the licence's queue. The
// operator counted 2 holders, 5 seats and 2 waiting Pods: the rest is in a
// namespace the reader cannot see.
func holdersFixture() HoldersInput {
	t0 := now.Add(-time.Hour)
	lic := utiltesting.MakeLicense("cad-pro", "team-a").Product("cad").Seats(5).SharedWithAll().
		ResolvedProduct("cad", "CAD Pro", "Acme", "CAD-1").EffectiveSeatModel(licensingv1alpha1.SeatModelConcurrent).
		Computed(licensingv1alpha1.LicenseStateActive, 5, 2).StatusWaiting(2, 1).Obj()
	product := utiltesting.MakeProduct("cad").Images("registry.example.com/cad/*").Obj()
	pod := func(name, uid, sa string) *utiltesting.PodWrapper {
		return utiltesting.MakePod(name, "team-a", uid, t0).ServiceAccount(sa).Licensed()
	}
	imagePod := pod("img-1", "u-img", "web")
	imagePod.Spec.Containers[0].Image = "registry.example.com/cad/solver:2"
	return HoldersInput{
		Licenses: []licensingv1alpha1.SoftwareLicense{*lic},
		Assignments: []licensingv1alpha1.LicenseAssignment{
			*utiltesting.MakeAssignment("web", "team-a").License("cad-pro").Seats(2).ServiceAccount("web").
				BoundTo("team-a/cad-pro", 2, t0).StatusWaitingPods(1).Obj(),
			*utiltesting.MakeAssignment("batch", "team-a").License("cad-pro").ServiceAccount("batch").
				Queued(1, "no seat free: 5/5 seats used").Obj(),
			*utiltesting.MakeAssignment("elsewhere", "team-a").License("other").ServiceAccount("web").
				BoundTo("team-a/other", 1, t0).Obj(),
		},
		Products: []licensingv1alpha1.LicenseProduct{*product},
		Pods: map[string][]corev1.Pod{"team-a": {
			*pod("web-1", "u1", "web").Product("cad").Obj(),
			*pod("web-2", "u2", "web").Product("cad").SeatGated().Obj(),
			*pod("done-1", "u3", "web").Product("cad").Phase(corev1.PodSucceeded).Obj(),
			*pod("stranger", "u4", "nobody").Product("cad").Obj(),
			*imagePod.Obj(),
		}},
		Events: map[types.UID]SeatEvent{
			"u2": {Reason: EventWaitingForSeat, Assignment: "web", Position: 1, Waiting: 1},
		},
	}
}

func TestBuildHolders(t *testing.T) {
	h := BuildHolders(holdersFixture())
	wantAssignments := []HolderAssignment{
		{Namespace: "team-a", Name: "batch", License: "team-a/cad-pro", Assignee: "sa/batch", State: licensingv1alpha1.AssignmentStatePending,
			Requested: 1, QueuePosition: ptr.To[int32](1), Message: "no seat free: 5/5 seats used"},
		{Namespace: "team-a", Name: "web", License: "team-a/cad-pro", Assignee: "sa/web", State: licensingv1alpha1.AssignmentStateBound,
			Seats: 2, Requested: 2, WaitingPods: 1},
	}
	if diff := cmp.Diff(wantAssignments, h.Assignments); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
	wantPods := []HolderPod{
		{Namespace: "team-a", Name: "img-1", Assignment: "web", License: "team-a/cad-pro", Seat: PodHolding, Phase: corev1.PodRunning},
		{Namespace: "team-a", Name: "web-1", Assignment: "web", License: "team-a/cad-pro", Seat: PodHolding, Phase: corev1.PodRunning},
		{Namespace: "team-a", Name: "web-2", Assignment: "web", License: "team-a/cad-pro", Seat: PodWaiting, Position: 1, Waiting: 1, Phase: corev1.PodRunning},
	}
	if diff := cmp.Diff(wantPods, h.Pods, cmpopts.IgnoreFields(HolderPod{}, "Created")); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(HiddenHolders{Holders: 1, Seats: 3, WaitingPods: 1}, h.Hidden); diff != "" {
		t.Errorf("hidden (-want +got):\n%s", diff)
	}
}

func TestBuildHoldersReadEverywhere(t *testing.T) {
	// A reader of every namespace sees every holder: a licence status that
	// counts more is only behind, and nothing is said hidden.
	in := holdersFixture()
	in.EveryNamespace = true
	if h := BuildHolders(in); h.Hidden != (HiddenHolders{}) {
		t.Errorf("hidden = %+v, want none", h.Hidden)
	}
}

func TestBuildHoldersWithoutProducts(t *testing.T) {
	// A reader who may not list LicenseProducts sees the Pods that name
	// their product in the annotation, not those matched by an image.
	in := holdersFixture()
	in.Products = nil
	var names []string
	for _, p := range BuildHolders(in).Pods {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"web-1", "web-2"}, names); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

func TestBuildHoldersAmbiguousAndCovered(t *testing.T) {
	t0 := now.Add(-time.Hour)
	cad := func(name string) *utiltesting.LicenseWrapper {
		return utiltesting.MakeLicense(name, "team-a").Product("cad").Seats(5).ResolvedProduct("cad", "CAD Pro", "Acme", "").
			Computed(licensingv1alpha1.LicenseStateActive, 1, 1)
	}
	site := utiltesting.MakeLicense("site", "team-b").Product("viewer").ResolvedProduct("viewer", "Viewer", "Acme", "").
		EffectiveSeatModel(licensingv1alpha1.SeatModelSite).Computed(licensingv1alpha1.LicenseStateActive, 0, 0).Obj()
	in := HoldersInput{
		Licenses:      []licensingv1alpha1.SoftwareLicense{*cad("cad-a").Obj(), *site},
		OtherLicenses: []licensingv1alpha1.SoftwareLicense{*cad("cad-b").Obj()},
		Assignments: []licensingv1alpha1.LicenseAssignment{
			*utiltesting.MakeAssignment("a", "team-a").License("cad-a").ServiceAccount("web").BoundTo("team-a/cad-a", 1, t0).Obj(),
			*utiltesting.MakeAssignment("b", "team-a").License("cad-b").ServiceAccount("web").BoundTo("team-a/cad-b", 1, t0).Obj(),
		},
		Pods: map[string][]corev1.Pod{
			"team-a": {
				// Two assignments cover it and no event says which seat it took.
				*utiltesting.MakePod("free", "team-a", "u1", t0).ServiceAccount("web").Product("cad").Licensed().Obj(),
				// Its SeatTaken event names b: a seat of the other licence.
				*utiltesting.MakePod("taken-b", "team-a", "u2", t0).ServiceAccount("web").Product("cad").Licensed().Obj(),
			},
			"team-b": {*utiltesting.MakePod("viewer-1", "team-b", "u3", t0).Product("viewer").Licensed().Obj()},
		},
		Events: map[types.UID]SeatEvent{"u2": {Reason: EventSeatTaken, Assignment: "b"}},
	}
	want := []HolderPod{
		{Namespace: "team-a", Name: "free", Assignment: "a or b", License: "team-a/cad-a or team-a/cad-b", Seat: PodHolding,
			Phase: corev1.PodRunning, Ambiguous: true},
		{Namespace: "team-b", Name: "viewer-1", License: "team-b/site", Seat: PodCovered, Phase: corev1.PodRunning},
	}
	if diff := cmp.Diff(want, BuildHolders(in).Pods, cmpopts.IgnoreFields(HolderPod{}, "Created")); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
}

func TestHoldersTable(t *testing.T) {
	var b bytes.Buffer
	h := BuildHolders(holdersFixture())
	h.Pods = h.Pods[2:] // web-2, the waiting one
	if err := Print(&b, FormatTable, h.Output()); err != nil {
		t.Fatal(err)
	}
	want := `LICENCE          PRODUCT   STATE    SEATS   HOLDERS   WAITING
team-a/cad-pro   cad       Active   5/5     2         2

Assignments
NAMESPACE   NAME    LICENCE          ASSIGNEE   STATE     SEATS   WAITING   QUEUE   MESSAGE
team-a      batch   team-a/cad-pro   sa/batch   Pending   0/1     0         1       no seat free: 5/5 seats used
team-a      web     team-a/cad-pro   sa/web     Bound     2/2     1         -       -

Pods
NAMESPACE   POD     ASSIGNMENT   SEAT      POSITION   NODE   PHASE
team-a      web-2   web          Waiting   1 of 1     -      Running

1 holder in namespaces you cannot read (3 seats, 1 Pod waiting)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
