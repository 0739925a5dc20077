package licensing

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func TestLicenseDeletion(t *testing.T) {
	cases := map[string]struct {
		holders           int
		namespaceDeleting bool
		want              DeletionAction
	}{
		"nothing holds its seats: the finalizer goes":           {0, false, DeletionProceed},
		"holders: it waits for them":                            {2, false, DeletionWait},
		"its namespace is being deleted: the protection yields": {2, true, DeletionRelease},
		"its namespace is being deleted without holders":        {0, true, DeletionRelease},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := LicenseDeletion(tc.holders, tc.namespaceDeleting); got != tc.want {
				t.Errorf("LicenseDeletion(%d, %v) = %s, want %s", tc.holders, tc.namespaceDeleting, got, tc.want)
			}
		})
	}
}

func TestProductDeletion(t *testing.T) {
	if got := ProductDeletion(0); got != DeletionProceed {
		t.Errorf("ProductDeletion(0) = %s", got)
	}
	if got := ProductDeletion(1); got != DeletionWait {
		t.Errorf("ProductDeletion(1) = %s", got)
	}
}

func TestLicenseHolders(t *testing.T) {
	const L = "team-a/cad"
	items := []v1.LicenseAssignment{
		*ut.MakeAssignment("b", "team-a").ServiceAccount("x").License("cad").BoundTo(L, 1, gAt(1)).Obj(),
		*ut.MakeAssignment("a", "team-a").ServiceAccount("x").License("cad").BoundTo(L, 1, gAt(1)).Obj(),
		*ut.MakeAssignment("rejected", "team-a").ServiceAccount("x").License("cad").BoundTo(L, 1, gAt(1)).StatusState(v1.AssignmentStateRejected).Obj(),
		*ut.MakeAssignment("guest", "team-b").ServiceAccount("x").License("cad", "team-a").BoundTo(L, 1, gAt(1)).Obj(),
		*ut.MakeAssignment("pending", "team-a").ServiceAccount("x").License("cad").Obj(),
		*ut.MakeAssignment("released", "team-a").ServiceAccount("x").License("cad").BoundTo(L, 1, gAt(1)).StatusState(v1.AssignmentStateReleased).Obj(),
		*ut.MakeAssignment("leaving", "team-a").ServiceAccount("x").License("cad").BoundTo(L, 1, gAt(1)).Deleting(gAt(2)).Obj(),
		*ut.MakeAssignment("elsewhere", "team-a").ServiceAccount("x").License("other").BoundTo("team-a/other", 1, gAt(1)).Obj(),
	}
	want := []SeatHolder{
		{Namespace: "team-a", Name: "a", License: L},
		{Namespace: "team-a", Name: "b", License: L},
		{Namespace: "team-a", Name: "rejected", License: L},
		{Namespace: "team-b", Name: "guest", License: L},
	}
	if diff := cmp.Diff(want, LicenseHolders(L, items)); diff != "" {
		t.Errorf("LicenseHolders (-want +got):\n%s", diff)
	}
}

func TestHoldersText(t *testing.T) {
	h := func(ns, name string) SeatHolder { return SeatHolder{Namespace: ns, Name: name, License: "team-a/cad"} }
	var many []SeatHolder
	for _, n := range strings.Split("a b c d e f g h i j k l", " ") {
		many = append(many, h("team-a", n))
	}
	cases := map[string]struct {
		holders []SeatHolder
		want    string
	}{
		"one of the reader's namespace":                 {[]SeatHolder{h("team-a", "a")}, "assignment a"},
		"several, named":                                {[]SeatHolder{h("team-a", "a"), h("team-a", "b")}, "assignments a, b"},
		"others are counted, never named":               {[]SeatHolder{h("team-a", "a"), h("team-b", "secret-project"), h("team-c", "x")}, "assignment a and 2 in other namespaces"},
		"only others":                                   {[]SeatHolder{h("team-b", "secret-project")}, "1 assignment in other namespaces"},
		"more than ten of the reader's: counted beyond": {many, "assignments a, b, c, d, e, f, g, h, i, j and 2 more"},
		"none": {nil, "no assignments"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := HoldersText("team-a", tc.holders)
			if got != tc.want {
				t.Errorf("HoldersText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeletionMessages(t *testing.T) {
	holders := []SeatHolder{
		{Namespace: "team-a", Name: "alice", License: "team-a/cad"},
		{Namespace: "team-b", Name: "bob", License: "team-a/cad"},
	}
	cases := map[string]struct {
		got, want string
	}{
		"licence condition": {LicenseTerminatingMessage("team-a", holders),
			"The licence was deleted and stays until the 2 assignments holding its seats are released (assignment alice and 1 in other namespaces): " +
				"they keep their seats and their workloads are still admitted, and nothing new binds to it. Delete them to let it go"},
		"licence DELETE warning": {LicenseDeletionWarning("team-a", "cad", holders[:1]),
			"SoftwareLicense team-a/cad stays Terminating until its 1 seat holder is released (assignment alice): they keep their seats until then, and nothing new binds to it"},
		"product condition": {ProductTerminatingMessage(ProductHolders(append(holders, SeatHolder{Namespace: "team-c", Name: "c", License: "team-c/cad"}))),
			"The product was deleted and stays until the 3 assignments holding seats of its licences are released (licences team-a/cad (2 assignments), team-c/cad (1 assignment)): " +
				"they keep their seats and their workloads are still admitted, and no licence of it binds new seats. Delete them to let it go"},
		"product DELETE warning": {ProductDeletionWarning("cad", ProductHolders(holders)),
			"LicenseProduct cad stays Terminating until its 2 seat holders are released (licence team-a/cad (2 assignments)): they keep their seats until then, and no licence of it binds new seats"},
		"deleted by, waiting": {DeletedByMessage("SoftwareLicense", "alice@example.com", 2),
			"SoftwareLicense deleted by alice@example.com: it stays Terminating until its 2 seat holders are released"},
		"deleted by, gone at once": {DeletedByMessage("LicenseProduct", "admin", 0), "LicenseProduct deleted by admin"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got\n  %q\nwant\n  %q", tc.got, tc.want)
			}
		})
	}
}

func TestProductSeatHolders(t *testing.T) {
	own := ut.MakeLicense("cad", "team-a").Product("cad").Obj()
	bundle := ut.MakeLicense("suite", "team-b").Product("suite").Obj()
	bundle.Status.Product = &v1.ResolvedProduct{Covers: []string{"suite", "cad"}}
	other := ut.MakeLicense("cam", "team-a").Product("cam").Obj()
	licences := []v1.SoftwareLicense{*own, *bundle, *other}
	items := []v1.LicenseAssignment{
		*ut.MakeAssignment("x", "team-a").ServiceAccount("x").License("cad").BoundTo("team-a/cad", 1, gAt(1)).Obj(),
		*ut.MakeAssignment("y", "team-b").ServiceAccount("x").License("suite").BoundTo("team-b/suite", 1, gAt(1)).Obj(),
		*ut.MakeAssignment("z", "team-a").ServiceAccount("x").License("cam").BoundTo("team-a/cam", 1, gAt(1)).Obj(),
		*ut.MakeAssignment("w", "team-a").ServiceAccount("x").License("cad").Obj(),
	}
	want := []SeatHolder{{Namespace: "team-a", Name: "x", License: "team-a/cad"}, {Namespace: "team-b", Name: "y", License: "team-b/suite"}}
	if diff := cmp.Diff(want, ProductSeatHolders("cad", licences, items)); diff != "" {
		t.Errorf("ProductSeatHolders (-want +got):\n%s", diff)
	}
}
