package licensing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// withManagers adds managers (spec.users[] with manager true) to l.
func withManagers(l *v1.SoftwareLicense, emails ...string) *v1.SoftwareLicense {
	for _, e := range emails {
		l.Spec.Users = append(l.Spec.Users, v1.LicenseUser{Email: e, Manager: true})
	}
	return l
}

func TestAssigneeFits(t *testing.T) {
	userBased := ut.MakeProduct("cad").Authorization(v1.AuthorizationUser).Obj()
	keyBased := ut.MakeProduct("cad").Obj()
	lic := ut.MakeLicense("l", "ns").Users("ann@example.com").Obj()
	user := func(e string) v1.Assignee { return v1.Assignee{User: &v1.UserAssignee{Email: e}} }
	sa := v1.Assignee{ServiceAccount: &v1.ServiceAccountAssignee{Name: "ci"}}
	node := v1.Assignee{Node: &v1.NodeAssignee{Name: "ws01"}}
	workload := v1.Assignee{Workload: &v1.WorkloadAssignee{}}
	cases := map[string]struct {
		model    v1.SeatModel
		product  *v1.LicenseProduct
		assignee v1.Assignee
		want     string // "" when it fits, else a part of the reason
	}{
		"named user: a user":                                 {model: v1.SeatModelNamedUser, assignee: user("bob@example.com")},
		"named user: not a service account":                  {model: v1.SeatModelNamedUser, assignee: sa, want: "the assignee must be a user (spec.assignee.user.email), not service account ci"},
		"named user, user-based product: a listed user":      {model: v1.SeatModelNamedUser, product: userBased, assignee: user("ann@example.com")},
		"named user, user-based product: an unlisted user":   {model: v1.SeatModelNamedUser, product: userBased, assignee: user("bob@example.com"), want: "user bob@example.com is not a user of licence ns/l (product cad is user-based)"},
		"named user, user-based product: matched exactly":    {model: v1.SeatModelNamedUser, product: userBased, assignee: user("Ann@example.com"), want: "is not a user of licence"},
		"named user, key-based product: any user":            {model: v1.SeatModelNamedUser, product: keyBased, assignee: user("bob@example.com")},
		"node locked: a node":                                {model: v1.SeatModelNodeLocked, assignee: node},
		"node locked: not a user":                            {model: v1.SeatModelNodeLocked, assignee: user("ann@example.com"), want: "the assignee must be a node (spec.assignee.node.name), not user ann@example.com"},
		"concurrent: a service account":                      {model: v1.SeatModelConcurrent, assignee: sa},
		"concurrent: a workload selector":                    {model: v1.SeatModelConcurrent, assignee: workload},
		"concurrent: not a node":                             {model: v1.SeatModelConcurrent, assignee: node, want: "must be a service account (spec.assignee.serviceAccount.name) or a workload selector (spec.assignee.workload.selector), not node ws01"},
		"site: anything":                                     {model: v1.SeatModelSite, assignee: node},
		"site, user-based product: even an unlisted user":    {model: v1.SeatModelSite, product: userBased, assignee: user("bob@example.com")},
		"concurrent, user-based product: the model decides":  {model: v1.SeatModelConcurrent, product: userBased, assignee: sa},
		"named user without a product: any user":             {model: v1.SeatModelNamedUser, assignee: user("zed@example.com")},
		"node locked without an assignee names it no assign": {model: v1.SeatModelNodeLocked, want: "not no assignee"},
	}
	for name, c := range cases {
		ok, why := AssigneeFits(c.model, "ns/l", lic, c.product, c.assignee)
		if ok != (c.want == "") || !strings.Contains(why, c.want) {
			t.Errorf("%s: AssigneeFits = %v, %q; want fits=%v with %q", name, ok, why, c.want == "", c.want)
		}
	}
}

func TestSeatModelOf(t *testing.T) {
	if got := SeatModelOf(nil); got != DefaultSeatModel {
		t.Errorf("no policy: %s, want the built-in %s", got, DefaultSeatModel)
	}
	if got := SeatModelOf(&v1.EffectivePolicy{}); got != DefaultSeatModel {
		t.Errorf("no seat model: %s, want the built-in %s", got, DefaultSeatModel)
	}
	if got := SeatModelOf(&v1.EffectivePolicy{PolicySettings: v1.PolicySettings{SeatModel: ptr.To(v1.SeatModelSite)}}); got != v1.SeatModelSite {
		t.Errorf("site: %s", got)
	}
}

func TestNamespaceAllowedByProduct(t *testing.T) {
	selectorless := ut.MakeProduct("p").Obj()
	selectorless.Spec.AllowAssignmentsFrom = &v1.AllowAssignmentsFrom{From: v1.AssignmentsFromSelector}
	cases := map[string]struct {
		p      *v1.LicenseProduct
		labels map[string]string
		want   bool
	}{
		"no product":                       {want: true},
		"no allowAssignmentsFrom":          {p: ut.MakeProduct("p").Obj(), want: true},
		"selector matches":                 {p: ut.MakeProduct("p").AllowAssignmentsFromSelector(map[string]string{"team": "a"}).Obj(), labels: map[string]string{"team": "a"}, want: true},
		"selector does not match":          {p: ut.MakeProduct("p").AllowAssignmentsFromSelector(map[string]string{"team": "a"}).Obj(), labels: map[string]string{"team": "b"}},
		"selector without namespaceSelect": {p: selectorless, labels: map[string]string{"team": "a"}},
	}
	for name, c := range cases {
		if got := NamespaceAllowedByProduct(c.p, c.labels); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}

func TestManagerBindingName(t *testing.T) {
	if got := ManagerBindingName("cad"); got != "cad-managers" {
		t.Errorf("short: %q", got)
	}
	long := strings.Repeat("a", 250)
	longer := long + "b"
	for _, n := range []string{long, longer, strings.Repeat("x", 253)} {
		got := ManagerBindingName(n)
		if len(got) > 253 || !strings.HasSuffix(got, "-managers") {
			t.Errorf("%d characters: %q (%d) is not a valid binding name", len(n), got, len(got))
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) != 0 {
			t.Errorf("%d characters: %v", len(n), errs)
		}
		if ManagerBindingName(n) != got {
			t.Errorf("%d characters: not deterministic", len(n))
		}
	}
	if ManagerBindingName(long) == ManagerBindingName(longer) {
		t.Errorf("two long names share a binding")
	}
}

func TestManagerSubjects(t *testing.T) {
	l := withManagers(ut.MakeLicense("l", "ns").Users("user@example.com").Obj(), "zed@example.com", "ann@example.com")
	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: n}
	}
	cases := map[string]struct {
		l      *v1.SoftwareLicense
		prefix string
		want   []rbacv1.Subject
	}{
		"managers only, sorted":                  {l: l, want: []rbacv1.Subject{user("ann@example.com"), user("zed@example.com")}},
		"with the username prefix":               {l: l, prefix: "oidc:", want: []rbacv1.Subject{user("oidc:ann@example.com"), user("oidc:zed@example.com")}},
		"no manager":                             {l: ut.MakeLicense("l", "ns").Users("user@example.com").Obj()},
		"no users":                               {l: ut.MakeLicense("l", "ns").Obj()},
		"manager flag removed from the only one": {l: ut.MakeLicense("l", "ns").Users("ann@example.com").Obj()},
	}
	for name, c := range cases {
		if diff := cmp.Diff(c.want, ManagerSubjects(c.l, c.prefix)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestManagedBy(t *testing.T) {
	a := withManagers(ut.MakeLicense("a", "ns").Obj(), "ann@example.com")
	b := withManagers(ut.MakeLicense("b", "ns").Users("ann@example.com").Obj(), "bob@example.com")
	c := withManagers(ut.MakeLicense("c", "other").Obj(), "ann@example.com", "bob@example.com")
	all := []*v1.SoftwareLicense{c, b, a, a}
	cases := map[string]struct {
		user, prefix string
		want         []string
	}{
		"a manager of two":                    {user: "ann@example.com", want: []string{"ns/a", "other/c"}},
		"a mere user is no manager":           {user: "carol@example.com"},
		"with the prefix":                     {user: "oidc:ann@example.com", prefix: "oidc:", want: []string{"ns/a", "other/c"}},
		"the prefix is required":              {user: "ann@example.com", prefix: "oidc:"},
		"a username that only looks like one": {user: "system:serviceaccount:ns:ann@example.com"},
	}
	for name, tc := range cases {
		if diff := cmp.Diff(tc.want, ManagedBy(tc.user, tc.prefix, all)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestManagerLimit(t *testing.T) {
	mine := ut.MakeAssignment("x", "ns").License("cad").ServiceAccount("ci").Obj()
	mineShared := ut.MakeAssignment("x", "ns").License("cad", "vendor").ServiceAccount("ci").Obj()
	other := ut.MakeAssignment("x", "ns").License("other").ServiceAccount("ci").Obj()
	byProduct := ut.MakeAssignment("x", "ns").Product("cad").ServiceAccount("ci").Obj()
	managed := []string{"ns/cad", "vendor/cad"}
	const forbidden, required = "FieldValueForbidden spec.licenseRef", "FieldValueRequired spec.licenseRef"
	cases := map[string]struct {
		old, cur  *v1.LicenseAssignment
		managed   []string
		mayCreate bool
		field     string // "" when allowed, else the error's type and field
		detail    string // a part of the error's detail
	}{
		"not a manager: not limited":                      {cur: other},
		"not a manager, productRef: not limited":          {cur: byProduct},
		"manager, own licence":                            {cur: mine, managed: managed},
		"manager, own licence in another namespace":       {cur: mineShared, managed: managed},
		"manager, another licence":                        {cur: other, managed: managed, field: forbidden, detail: "a licence they manage (ns/cad, vendor/cad); it names ns/other"},
		"manager, a productRef":                           {cur: byProduct, managed: managed, field: required, detail: "a licence they manage (ns/cad, vendor/cad); this assignment names spec.productRef instead"},
		"manager who may create licences: another":        {cur: other, managed: managed, mayCreate: true},
		"manager who may create licences: a productRef":   {cur: byProduct, managed: managed, mayCreate: true},
		"manager, change within own licence":              {old: mine, cur: mine, managed: managed},
		"manager, licenseRef changed away from own":       {old: mine, cur: other, managed: managed, field: forbidden, detail: "it names ns/other"},
		"manager, another licence's assignment moved in":  {old: other, cur: mine, managed: managed, field: forbidden, detail: "this assignment draws on licence ns/other, which they do not manage"},
		"manager, a productRef assignment moved in":       {old: byProduct, cur: mine, managed: managed, field: forbidden, detail: "draws on spec.productRef, which they do not manage"},
		"manager who may create licences: changed away":   {old: mine, cur: other, managed: managed, mayCreate: true},
		"manager of another licence only, changing other": {old: other, cur: other, managed: []string{"ns/cad"}, field: forbidden, detail: "(ns/cad); it names ns/other"},
	}
	for name, c := range cases {
		e := ManagerLimit(c.old, c.cur, c.managed, c.mayCreate)
		if e == nil {
			if c.field != "" {
				t.Errorf("%s: allowed, want %s", name, c.field)
			}
			continue
		}
		if got := string(e.Type) + " " + e.Field; got != c.field || !strings.Contains(e.Detail, c.detail) {
			t.Errorf("%s: %s: %s; want %s containing %q", name, got, e.Detail, c.field, c.detail)
		}
		if !ManagerLimitNeedsReview(c.old, c.cur, c.managed) {
			t.Errorf("%s: refused without asking whether the requester may create licences", name)
		}
	}
	if ManagerLimitNeedsReview(nil, mine, managed) || ManagerLimitNeedsReview(nil, other, nil) {
		t.Errorf("a review is asked for where the answer changes nothing")
	}
}

// TestManagerClusterRoleShipped holds config/rbac/license_manager_role.yaml
// to what docs/managers.md says: named ManagerClusterRole once config/default
// adds its prefix, full rights on licenseassignments, get/list/watch on
// softwarelicenses and licenseproducts, and nothing else, above all nothing
// more on softwarelicenses (ManagerLimit depends on it).
func TestManagerClusterRoleShipped(t *testing.T) {
	root := ut.RepoRoot()
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "license_manager_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(raw, role); err != nil {
		t.Fatal(err)
	}
	kust, err := os.ReadFile(filepath.Join(root, "config", "default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		NamePrefix string `json:"namePrefix"`
	}
	if err := yaml.Unmarshal(kust, &k); err != nil {
		t.Fatal(err)
	}
	if got := k.NamePrefix + role.Name; got != ManagerClusterRole {
		t.Errorf("the shipped ClusterRole is named %q, the operator binds %q", got, ManagerClusterRole)
	}
	if role.AggregationRule != nil || len(role.Labels) != 2 {
		t.Errorf("the manager role must not aggregate or be aggregated: %v %v", role.AggregationRule, role.Labels)
	}
	grants := map[string][]string{}
	for _, r := range role.Rules {
		if len(r.ResourceNames) != 0 || len(r.NonResourceURLs) != 0 {
			t.Errorf("unexpected rule %+v", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				grants[g+"/"+res] = append(grants[g+"/"+res], r.Verbs...)
			}
		}
	}
	read := []string{"get", "list", "watch"}
	want := map[string][]string{
		v1.GroupVersion.Group + "/licenseassignments": {"create", "delete", "get", "list", "patch", "update", "watch"},
		v1.GroupVersion.Group + "/softwarelicenses":   read,
		v1.GroupVersion.Group + "/licenseproducts":    read,
	}
	if diff := cmp.Diff(want, grants); diff != "" {
		t.Errorf("the manager role grants (-want +got):\n%s", diff)
	}
}
