package licensing

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

func TestMatchImage(t *testing.T) {
	cases := []struct {
		pattern, image string
		want           bool
	}{
		{"registry.example.com/acme/cad:*", "registry.example.com/acme/cad:2026.1", true},
		{"registry.example.com/acme/cad:*", "registry.example.com/acme/cadx:1", false},
		{"*/acme-cad*", "quay.io/x/acme-cad:1", true},
		{"*/acme-cad*", "acme-cad:1", false},
		{"nginx", "nginx", true},
		{"nginx", "nginx:1", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"*", "anything", true},
		{"a.b*", "aXb", false},
		{"*c*c", "cc", true},
		{"ab*ba", "aba", false},
	}
	for _, c := range cases {
		if got := MatchImage(c.pattern, c.image); got != c.want {
			t.Errorf("MatchImage(%q, %q) = %v, want %v", c.pattern, c.image, got, c.want)
		}
		re := regexp.MustCompile(ImagePatternRegexp(c.pattern))
		if got := re.MatchString(c.image); got != c.want {
			t.Errorf("regexp %s on %q = %v, want %v (Go glob and CEL regexp must agree)", re, c.image, got, c.want)
		}
	}
}

func TestPinnedNode(t *testing.T) {
	aff := func(terms ...[]string) *corev1.Affinity {
		var ts []corev1.NodeSelectorTerm
		for _, vals := range terms {
			ts = append(ts, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: HostnameLabel, Operator: corev1.NodeSelectorOpIn, Values: vals}}})
		}
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: ts}}}
	}
	cases := map[string]struct {
		spec corev1.PodSpec
		want string
	}{
		"nodeName":       {corev1.PodSpec{NodeName: "n1"}, "n1"},
		"nodeSelector":   {corev1.PodSpec{NodeSelector: map[string]string{HostnameLabel: "n2"}}, "n2"},
		"affinity":       {corev1.PodSpec{Affinity: aff([]string{"n3"})}, "n3"},
		"two nodes":      {corev1.PodSpec{Affinity: aff([]string{"n3", "n4"})}, ""},
		"two terms":      {corev1.PodSpec{Affinity: aff([]string{"n3"}, []string{"n4"})}, ""},
		"same two terms": {corev1.PodSpec{Affinity: aff([]string{"n3"}, []string{"n3"})}, "n3"},
		"not pinned":     {corev1.PodSpec{}, ""},
	}
	for name, c := range cases {
		if got := PinnedNode(&c.spec); got != c.want {
			t.Errorf("%s: PinnedNode = %q, want %q", name, got, c.want)
		}
	}
}

func TestRequiredProducts(t *testing.T) {
	products := []licensingv1alpha1.LicenseProduct{
		*utiltesting.MakeProduct("cad").Images("registry.example.com/acme/cad:*").Obj(),
		*utiltesting.MakeProduct("db").Obj(),
	}
	w := &Workload{
		Annotations: map[string]string{licensingv1alpha1.ProductAnnotation: " db , other,"},
		Images:      []string{"busybox", "registry.example.com/acme/cad:1"},
	}
	var got []string
	for _, n := range RequiredProducts(w, products) {
		got = append(got, n.Product)
	}
	if diff := cmp.Diff([]string{"cad", "db", "other"}, got); diff != "" {
		t.Errorf("RequiredProducts (-want +got):\n%s", diff)
	}
	if n := RequiredProducts(&Workload{Images: []string{"busybox"}}, products); len(n) != 0 {
		t.Errorf("a Pod with no annotation and no matching image needs %v", n)
	}
}

func licence(name, ns string, state licensingv1alpha1.LicenseState, model licensingv1alpha1.SeatModel, enf licensingv1alpha1.Enforcement, covers ...string) licensingv1alpha1.SoftwareLicense {
	l := *utiltesting.MakeLicense(name, ns).Obj()
	l.Status.State = state
	l.Status.Product = &licensingv1alpha1.ResolvedProduct{Name: covers[0], Covers: covers}
	l.Status.EffectivePolicy = &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{SeatModel: &model, Enforcement: &enf}}
	return l
}

func bound(a *utiltesting.AssignmentWrapper, lic string, seats int32) licensingv1alpha1.LicenseAssignment {
	o := *a.Obj()
	o.Status.State = licensingv1alpha1.AssignmentStateBound
	o.Status.License = lic
	o.Status.Seats = seats
	return o
}

// boundSA sets status.boundAssignee to a service account.
func boundSA(a licensingv1alpha1.LicenseAssignment, name string) licensingv1alpha1.LicenseAssignment {
	a.Status.BoundAssignee = &licensingv1alpha1.Assignee{ServiceAccount: &licensingv1alpha1.ServiceAccountAssignee{Name: name}}
	return a
}

func TestFindCovers(t *testing.T) {
	const ns = "team"
	pod := &Workload{Kind: "Pod", Name: "p", Namespace: ns, ServiceAccount: "builder", Labels: map[string]string{"app": "cad"}}
	// userPod is a Pod of the default ServiceAccount run for the user email.
	userPod := func(email string) *Workload {
		return &Workload{Kind: "Pod", Name: "p", Namespace: ns, ServiceAccount: "default", User: email}
	}
	// annotatedPod carries a user annotation but runs for nobody: the
	// annotation is a record the webhook writes, never a claim.
	annotatedPod := &Workload{Kind: "Pod", Name: "p", Namespace: ns, ServiceAccount: "default", Annotations: map[string]string{UserAnnotation: "ann@example.com"}}
	conc := licence("conc", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	bundle := licence("suite", ns, licensingv1alpha1.LicenseStateExpiringSoon, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementSoft, "suite", "cad", "db")
	expired := licence("old", ns, licensingv1alpha1.LicenseStateExpired, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	site := licence("site", "other", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, "cad")
	siteShared := site
	siteShared.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromAll}
	node := licence("node", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelNodeLocked, licensingv1alpha1.EnforcementHard, "cad")
	named := licence("named", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelNamedUser, licensingv1alpha1.EnforcementHard, "cad")
	// featured grants the features render and export.
	featured := licence("feat", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	featured.Status.EffectivePolicy.Features = []licensingv1alpha1.PolicyFeature{{Code: "render"}, {Code: "export"}}
	featuredSite := siteShared
	featuredSite.Status.EffectivePolicy = site.Status.EffectivePolicy.DeepCopy()
	featuredSite.Status.EffectivePolicy.Features = featured.Status.EffectivePolicy.Features
	asking := func(features ...string) *Workload {
		w := *pod
		w.Features = features
		return &w
	}

	type want struct {
		covers     []string // assignment name or licence key for site
		counted    []bool
		considered []string
	}
	cases := map[string]struct {
		w    *Workload
		lics []licensingv1alpha1.SoftwareLicense
		asgs []licensingv1alpha1.LicenseAssignment
		want want
	}{
		"service account": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/conc", 2)},
			want: want{covers: []string{"a"}, counted: []bool{true}},
		},
		"other service account": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("x"), "team/conc", 2)},
			want: want{considered: []string{"team/conc"}},
		},
		"workload selector via bundle": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{bundle},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("b", ns).Workload(map[string]string{"app": "cad"}), "team/suite", 1)},
			want: want{covers: []string{"b"}, counted: []bool{true}},
		},
		"pending assignment": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{*utiltesting.MakeAssignment("a", ns).ServiceAccount("builder").Obj()},
			want: want{considered: []string{"team/conc"}},
		},
		"expired licence": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{expired},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/old", 1)},
			want: want{considered: []string{"team/old"}},
		},
		"site not shared": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{site},
			want: want{considered: []string{"other/site"}},
		},
		"site shared": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{siteShared},
			want: want{covers: []string{"other/site"}, counted: []bool{false}},
		},
		"node locked unpinned": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{node},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("n", ns).Node("n1"), "team/node", 1)},
			want: want{considered: []string{"team/node"}},
		},
		"node locked pinned": {
			w: &Workload{Kind: "Pod", Name: "p", Namespace: ns, ServiceAccount: "default", Node: "n1"}, lics: []licensingv1alpha1.SoftwareLicense{node},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("n", ns).Node("n1"), "team/node", 1)},
			want: want{covers: []string{"n"}, counted: []bool{false}},
		},
		// A Bound assignment covers the assignee its seats were granted to
		// (status.boundAssignee): a changed spec.assignee is a transfer the
		// controller has not applied yet (it may refuse it beyond maxTransfers).
		"transfer not applied yet": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{boundSA(bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/conc", 2), "old")},
			want: want{considered: []string{"team/conc"}},
		},
		"bound assignee before the transfer": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{boundSA(bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("new"), "team/conc", 2), "builder")},
			want: want{covers: []string{"a"}, counted: []bool{true}},
		},
		// The user is matched exactly, as the seat controller matches it.
		"named user, other case": {
			w:    userPod("Ann@Example.com"),
			lics: []licensingv1alpha1.SoftwareLicense{named},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("u", ns).User("ann@example.com"), "team/named", 1)},
			want: want{considered: []string{"team/named"}},
		},
		"named user, another user": {
			w:    userPod("bob@example.com"),
			lics: []licensingv1alpha1.SoftwareLicense{named},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("u", ns).User("ann@example.com"), "team/named", 1)},
			want: want{considered: []string{"team/named"}},
		},
		"named user written in the annotation only": {
			w:    annotatedPod,
			lics: []licensingv1alpha1.SoftwareLicense{named},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("u", ns).User("ann@example.com"), "team/named", 1)},
			want: want{considered: []string{"team/named"}},
		},
		// A NamedUser seat is a person's; an assignment that kept its seats for
		// a service account (bound before the licence became NamedUser) holds
		// Pods, and is counted like a Concurrent one, never unlimited.
		"named user licence, service account assignment": {
			w: pod, lics: []licensingv1alpha1.SoftwareLicense{named},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/named", 2)},
			want: want{covers: []string{"a"}, counted: []bool{true}},
		},
		// A workload that asks for features is covered only by a licence
		// whose effective policy lists every one of them.
		"features the licence grants": {
			w: asking("export", "render"), lics: []licensingv1alpha1.SoftwareLicense{featured},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/feat", 2)},
			want: want{covers: []string{"a"}, counted: []bool{true}},
		},
		"a feature the licence does not grant": {
			w: asking("render", "simulate"), lics: []licensingv1alpha1.SoftwareLicense{featured},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/feat", 2)},
			want: want{considered: []string{"team/feat"}},
		},
		"a feature of a licence without features": {
			w: asking("render"), lics: []licensingv1alpha1.SoftwareLicense{conc},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("a", ns).ServiceAccount("builder"), "team/conc", 2)},
			want: want{considered: []string{"team/conc"}},
		},
		"a site licence granting the feature": {
			w: asking("export"), lics: []licensingv1alpha1.SoftwareLicense{featuredSite},
			want: want{covers: []string{"other/site"}, counted: []bool{false}},
		},
		"a site licence without the feature": {
			w: asking("simulate"), lics: []licensingv1alpha1.SoftwareLicense{featuredSite},
			want: want{considered: []string{"other/site"}},
		},
		"named user": {
			w:    userPod("ann@example.com"),
			lics: []licensingv1alpha1.SoftwareLicense{named},
			asgs: []licensingv1alpha1.LicenseAssignment{bound(utiltesting.MakeAssignment("u", ns).User("ann@example.com"), "team/named", 1)},
			want: want{covers: []string{"u"}, counted: []bool{false}},
		},
	}
	for name, c := range cases {
		covers, considered := FindCovers(CoverageInput{Workload: c.w, Product: "cad", Licenses: c.lics, Assignments: c.asgs})
		var got want
		for _, cv := range covers {
			if cv.Assignment != nil {
				got.covers = append(got.covers, cv.Assignment.Name)
			} else {
				got.covers = append(got.covers, LicenseKey(cv.License))
			}
			got.counted = append(got.counted, cv.Counted)
		}
		for _, cs := range considered {
			got.considered = append(got.considered, cs.License)
		}
		if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("%s: FindCovers (-want +got):\n%s", name, diff)
		}
	}
}

func TestMessages(t *testing.T) {
	w := &Workload{Kind: "Pod", Name: "p", Namespace: "team", ServiceAccount: "builder", Replicas: nil}
	need := ProductNeed{Product: "cad", Reason: "annotation"}
	msg := DenialMessage(w, need, nil, []Considered{{License: "team/old", State: licensingv1alpha1.LicenseStateExpired, Why: "licence is Expired"}}, nil)
	for _, s := range []string{`"cad"`, "team/old (Expired", "create a LicenseAssignment", "serviceAccount.name builder"} {
		if !strings.Contains(msg, s) {
			t.Errorf("denial %q lacks %q", msg, s)
		}
	}
	// When the licences are not usable, the fix says how to make them usable:
	// an assignment alone would not help.
	for state, fix := range map[licensingv1alpha1.LicenseState]string{
		licensingv1alpha1.LicenseStateExpired:   "renew licence team/old",
		licensingv1alpha1.LicenseStateSuspended: "set spec.state Active on licence team/old",
		licensingv1alpha1.LicenseStatePending:   "licence team/old starts",
	} {
		msg = DenialMessage(w, need, nil, []Considered{{License: "team/old", State: state, Why: "licence is " + string(state)}}, nil)
		if !strings.Contains(msg, fix) {
			t.Errorf("denial for a %s licence %q lacks %q", state, msg, fix)
		}
	}
	msg = DenialMessage(w, need, nil, []Considered{{License: "team/n", State: licensingv1alpha1.LicenseStateActive, Model: licensingv1alpha1.SeatModelNamedUser, Why: "Pod runs for user b@example.com, and the seat is user a@example.com's"}}, nil)
	if !strings.Contains(msg, "created (or its image last changed) by a user who holds a Bound assignment") || strings.Contains(msg, "NodeLocked") {
		t.Errorf("denial for a NamedUser licence %q lacks the user fix or names NodeLocked", msg)
	}
	// Where only NamedUser licences were considered, the fix is a seat for the
	// user the workload runs for.
	named := &Workload{Kind: "Pod", Name: "p", Namespace: "team", ServiceAccount: "builder", User: "b@example.com"}
	if got := DenialMessage(named, need, nil, []Considered{{License: "team/n", State: licensingv1alpha1.LicenseStateActive, Model: licensingv1alpha1.SeatModelNamedUser, Why: "x"}}, nil); !strings.Contains(got, "spec.assignee.user.email b@example.com") {
		t.Errorf("denial for a NamedUser licence %q does not suggest a seat for the user", got)
	}
	// A ServiceAccount (a GitOps controller, a pipeline) cannot hold a
	// NamedUser seat: no assignment can name it as a user (the CRD wants an
	// email address), so the fix names seats that count workloads.
	for _, requester := range []string{"system:serviceaccount:argocd:argocd-application-controller", "deployer"} {
		sa := &Workload{Kind: "Deployment", Name: "web", Namespace: "team", ServiceAccount: "builder", User: requester}
		got := DenialMessage(sa, need, nil, []Considered{{License: "team/n", State: licensingv1alpha1.LicenseStateActive, Model: licensingv1alpha1.SeatModelNamedUser, Why: "x"}}, nil)
		for _, s := range []string{
			"spec.productRef.name cad (or a licenseRef to a usable licence of it) and spec.assignee.serviceAccount.name builder, and wait until it is Bound",
			"the workload runs for " + requester + ", which cannot hold a NamedUser seat",
			"a Concurrent licence of the product with an assignee spec.assignee.serviceAccount.name builder (or spec.assignee.workload.selector), or a Site licence",
		} {
			if !strings.Contains(got, s) {
				t.Errorf("denial for %s on a NamedUser licence %q lacks %q", requester, got, s)
			}
		}
		if strings.Contains(got, "user.email") || strings.Contains(got, UserAnnotation) {
			t.Errorf("denial for %s on a NamedUser licence %q suggests a user assignee the CRD refuses, or names the user annotation", requester, got)
		}
	}
	// A denial never says which annotation would get around the check.
	if strings.Contains(msg, UserAnnotation) || strings.Contains(msg, "annotate") {
		t.Errorf("denial for a NamedUser licence %q names the user annotation", msg)
	}
	l := licence("conc", "team", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	a := bound(utiltesting.MakeAssignment("a", "team").ServiceAccount("builder"), "team/conc", 2)
	cv := Cover{Product: "cad", License: &l, Assignment: &a, SeatModel: licensingv1alpha1.SeatModelConcurrent, Counted: true, Seats: 2, Enforcement: licensingv1alpha1.EnforcementHard}
	msg = DenialMessage(w, need, []Cover{cv}, nil, []LedgerUse{{Assignment: "a", Used: 2, Seats: 2, Holders: []string{"p1", "p2"}}})
	for _, s := range []string{"2/2 seats", "p1, p2", "team/conc"} {
		if !strings.Contains(msg, s) {
			t.Errorf("denial %q lacks %q", msg, s)
		}
	}
	// The licences considered carry their seats used/total, so the reader
	// knows whether an assignment could bind.
	counted := licence("full", "team", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	counted.Status.Seats = licensingv1alpha1.LicenseSeatStatus{Total: ptr.To[int32](5), Used: 3}
	unlimited := licence("site", "other", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, "cad")
	unlimited.Status.Seats = licensingv1alpha1.LicenseSeatStatus{Used: 7}
	_, considered := FindCovers(CoverageInput{Workload: w, Product: "cad", Licenses: []licensingv1alpha1.SoftwareLicense{counted, unlimited}})
	msg = DenialMessage(w, need, nil, considered, nil)
	for _, s := range []string{"team/full (Active, Concurrent) 3/5 seats used:", "other/site (Active, Site) 7 seats used, unlimited:"} {
		if !strings.Contains(msg, s) {
			t.Errorf("denial %q lacks %q", msg, s)
		}
	}
	// Every full assignment is named with its licence, and so are the
	// licences that were considered but could not cover the workload.
	l2 := licence("conc2", "team", licensingv1alpha1.LicenseStateExpiringSoon, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	a2 := bound(utiltesting.MakeAssignment("a2", "team").ServiceAccount("builder"), "team/conc2", 1)
	cv2 := Cover{Product: "cad", License: &l2, Assignment: &a2, SeatModel: licensingv1alpha1.SeatModelConcurrent, Counted: true, Seats: 1, Enforcement: licensingv1alpha1.EnforcementHard}
	msg = DenialMessage(w, need, []Cover{cv, cv2}, []Considered{{License: "team/old", State: licensingv1alpha1.LicenseStateExpired, Why: "licence is Expired"}},
		[]LedgerUse{{Assignment: "a", Used: 2, Seats: 2}, {Assignment: "a2", Used: 1, Seats: 1}})
	for _, s := range []string{"assignment a holds 2/2 seats in use on licence team/conc (Active", "assignment a2 holds 1/1 seats in use on licence team/conc2 (ExpiringSoon", "team/old (Expired): licence is Expired"} {
		if !strings.Contains(msg, s) {
			t.Errorf("denial %q lacks %q", msg, s)
		}
	}
	msg = NameHeldMessage(w, need, cv)
	for _, s := range []string{`"cad"`, "a Pod named p", "assignment a", "team/conc", "To fix"} {
		if !strings.Contains(msg, s) {
			t.Errorf("name held denial %q lacks %q", msg, s)
		}
	}
	dep := &Workload{Kind: "Deployment", Name: "d", Namespace: "team", Replicas: ptr.To[int32](3)}
	if got, refusal := TemplateSeats(dep, "cad", []Cover{cv}, nil); refusal != "" || len(got) != 1 || !strings.Contains(got[0], "1 of 3 replicas will wait") {
		t.Errorf("TemplateSeats = %q, %q", got, refusal)
	}
	if got, _ := TemplateSeats(dep, "cad", []Cover{cv}, map[string]int{cv.Assignment.Name: 1}); len(got) != 1 || !strings.Contains(got[0], "2 of 3 replicas will wait") {
		t.Errorf("TemplateSeats with a seat held = %q", got)
	}
	dep.Replicas = ptr.To[int32](2)
	if got, refusal := TemplateSeats(dep, "cad", []Cover{cv}, nil); len(got) != 0 || refusal != "" {
		t.Errorf("TemplateSeats for replicas within seats = %q, %q", got, refusal)
	}
	// maxUnavailable 0 with every seat held by the replicas: the next rollout deadlocks.
	dep.NoUnavailable = true
	if got, _ := TemplateSeats(dep, "cad", []Cover{cv}, nil); len(got) != 1 || !strings.Contains(got[0], "maxUnavailable 0") {
		t.Errorf("TemplateSeats with maxUnavailable 0 = %q", got)
	}
	dep.NoUnavailable = false
	// Refuse: replicas that could never all run are refused; beyond the free seats only warned.
	refuse := &Workload{Kind: "Deployment", Name: "d", Namespace: "team", Replicas: ptr.To[int32](3),
		Annotations: map[string]string{licensingv1alpha1.WhenNoSeatAnnotation: "Refuse"}}
	if _, refusal := TemplateSeats(refuse, "cad", []Cover{cv}, nil); !strings.Contains(refusal, "at most 2 of its Pods could ever run") {
		t.Errorf("TemplateSeats under Refuse = %q", refusal)
	}
	refuse.Replicas = ptr.To[int32](2)
	if got, refusal := TemplateSeats(refuse, "cad", []Cover{cv}, map[string]int{cv.Assignment.Name: 1}); refusal != "" || len(got) != 1 || !strings.Contains(got[0], "at most 1 Pods will be admitted") {
		t.Errorf("TemplateSeats under Refuse with a seat held = %q, %q", got, refusal)
	}
	// Soft enforcement admits the Pods beyond the seats: the person creating
	// the workload is warned that the licence will be over-allocated.
	softCover := cv
	softCover.Enforcement = licensingv1alpha1.EnforcementSoft
	dep.Replicas = ptr.To[int32](3)
	if got, _ := TemplateSeats(dep, "cad", []Cover{softCover}, nil); len(got) != 1 || !strings.Contains(got[0], "3 replicas") || !strings.Contains(got[0], "over-allocated") {
		t.Errorf("TemplateSeats with Soft enforcement = %q", got)
	}
}

// FuzzMatchImage checks that the Go glob and the RE2 expression written into
// the webhook's CEL matchConditions agree on every pattern and image.
func FuzzMatchImage(f *testing.F) {
	for _, s := range [][2]string{{"r.io/a/cad:*", "r.io/a/cad:1"}, {"*/cad*", "x/cad"}, {"a*b*c", "aXbYc"}, {"*", ""}, {"ab*ba", "aba"}, {"[.*+?]", "[.x+?]"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, image string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(image) {
			return // Kubernetes strings are UTF-8 (JSON)
		}
		re, err := regexp.Compile(ImagePatternRegexp(pattern))
		if err != nil {
			t.Fatalf("pattern %q gives an invalid expression: %v", pattern, err)
		}
		if g, r := MatchImage(pattern, image), re.MatchString(image); g != r {
			t.Fatalf("pattern %q image %q: glob %v, regexp %v", pattern, image, g, r)
		}
	})
}

// TestUserCovers: a user's seat covers only the workloads of that user, the
// users of a user-based product's licence are checked for each member of a
// bundle, and the reasons say why without naming who else may use it.
func TestUserCovers(t *testing.T) {
	const ns = "team"
	named := licence("named", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelNamedUser, licensingv1alpha1.EnforcementHard, "cad")
	named.Spec.Users = []licensingv1alpha1.LicenseUser{{Email: "ann@example.com"}}
	suite := licence("suite", "vendor", licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, "suite", "cad", "db")
	suite.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromAll}
	suite.Spec.Users = []licensingv1alpha1.LicenseUser{{Email: "ann@example.com"}, {Email: "carl@example.com"}}
	conc := licence("conc", ns, licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, "cad")
	annSeat := bound(utiltesting.MakeAssignment("ann", ns).User("ann@example.com"), "team/named", 1)
	saSeat := bound(utiltesting.MakeAssignment("ci", ns).ServiceAccount("default"), "team/conc", 1)
	pod := func(user string) *Workload {
		return &Workload{Kind: "Pod", Name: "p", Namespace: ns, ServiceAccount: "default", User: user}
	}
	cases := map[string]struct {
		w       *Workload
		auth    licensingv1alpha1.AuthorizationMethod
		lics    []licensingv1alpha1.SoftwareLicense
		asgs    []licensingv1alpha1.LicenseAssignment
		covers  int
		why     string
		notWhat []string
	}{
		"the seat holder's own workload": {
			w: pod("ann@example.com"), lics: []licensingv1alpha1.SoftwareLicense{named}, asgs: []licensingv1alpha1.LicenseAssignment{annSeat}, covers: 1,
		},
		"another user's workload names both": {
			w: pod("bob@example.com"), lics: []licensingv1alpha1.SoftwareLicense{named}, asgs: []licensingv1alpha1.LicenseAssignment{annSeat},
			why: "Pod runs for user bob@example.com, and the seat is user ann@example.com's", notWhat: []string{UserAnnotation, "annotate"},
		},
		"a never-stamped workload is told to re-apply": {
			w: pod(""), lics: []licensingv1alpha1.SoftwareLicense{named}, asgs: []licensingv1alpha1.LicenseAssignment{annSeat},
			why: "re-apply the workload so that its user is recorded", notWhat: []string{UserAnnotation},
		},
		"a user-based product needs the user among the licence users": {
			w: pod("ann@example.com"), auth: licensingv1alpha1.AuthorizationUser, lics: []licensingv1alpha1.SoftwareLicense{named}, asgs: []licensingv1alpha1.LicenseAssignment{annSeat}, covers: 1,
		},
		"a user-based product refuses a seat holder missing from spec.users": {
			w: pod("ann@example.com"), auth: licensingv1alpha1.AuthorizationUser,
			lics: []licensingv1alpha1.SoftwareLicense{conc}, asgs: []licensingv1alpha1.LicenseAssignment{saSeat},
			why: "user ann@example.com is not among the 0 users of the licence",
		},
		// A bundle's seat is a seat of each member by the member's rules:
		// cad is user-based, so the Site bundle covers only its users, and
		// the users of another namespace's licence are counted, not named.
		"a bundle member that is user-based admits a licence user": {
			w: pod("carl@example.com"), auth: licensingv1alpha1.AuthorizationUser, lics: []licensingv1alpha1.SoftwareLicense{suite}, covers: 1,
		},
		"a bundle member that is user-based refuses anyone else": {
			w: pod("bob@example.com"), auth: licensingv1alpha1.AuthorizationUser, lics: []licensingv1alpha1.SoftwareLicense{suite},
			why: "user bob@example.com is not among the 2 users of the licence", notWhat: []string{"ann@example.com", "carl@example.com"},
		},
		"a bundle member that is key-based admits anyone in the namespace": {
			w: pod("bob@example.com"), auth: licensingv1alpha1.AuthorizationKey, lics: []licensingv1alpha1.SoftwareLicense{suite}, covers: 1,
		},
	}
	for name, c := range cases {
		covers, considered := FindCovers(CoverageInput{Workload: c.w, Product: "cad", Licenses: c.lics, Assignments: c.asgs, Authorization: c.auth})
		if len(covers) != c.covers {
			t.Errorf("%s: %d covers, want %d (considered %+v)", name, len(covers), c.covers, considered)
		}
		if c.why == "" {
			continue
		}
		if len(considered) != 1 || !strings.Contains(considered[0].Why, c.why) {
			t.Errorf("%s: considered %+v, want one saying %q", name, considered, c.why)
			continue
		}
		msg := DenialMessage(c.w, ProductNeed{Product: "cad", Reason: "annotation"}, nil, considered, nil)
		for _, s := range c.notWhat {
			if strings.Contains(msg, s) {
				t.Errorf("%s: denial %q discloses %q", name, msg, s)
			}
		}
	}
}
