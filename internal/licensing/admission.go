package licensing

// This file holds the pure decisions of workload admission: which products a
// Pod or pod template needs, which Bound assignments and Site licences could
// cover it, and the text of denials and warnings. The webhook
// (internal/webhook) only fetches objects and keeps the seat ledger; it never
// decides anything this file does not. Nothing here talks to a client.

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// UserAnnotation on a Pod or pod template records the person (the licence
// user, see Identity) the workload runs for. The mutating workload webhook
// writes it from the authenticated requester (Identity.StampFor); a value
// anyone else writes is replaced, so it is a record, never a claim.
const UserAnnotation = licensingv1alpha1.LabelPrefix + "user"

// HostnameLabel is the node label a nodeSelector or node affinity pins a Pod with.
const HostnameLabel = "kubernetes.io/hostname"

// UsableForAdmission says whether a licence in this state admits workloads:
// exactly the states in which it may bind seats (Usable), so the webhook and
// the controllers never disagree.
func UsableForAdmission(state licensingv1alpha1.LicenseState) bool {
	return Usable(state)
}

// ImagePatternRegexp converts an image pattern of spec.workloads.images, where
// '*' matches any run of characters and everything else is literal, into an
// anchored RE2 regular expression. The same expression is used in Go and in the
// CEL matchConditions of the webhook configuration, so both agree.
func ImagePatternRegexp(pattern string) string {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "^" + strings.Join(parts, ".*") + "$"
}

// MatchImage reports whether image matches the pattern ('*' matches any run of characters).
func MatchImage(pattern, image string) bool {
	// A hand-written glob: no regexp compilation on the admission path.
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == image
	}
	if !strings.HasPrefix(image, parts[0]) {
		return false
	}
	rest := image[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// Workload is what admission needs to know about a Pod or a pod template.
type Workload struct {
	// Kind and Name identify the object for messages ("Pod", "Deployment" ...).
	Kind string
	Name string
	// Namespace of the workload.
	Namespace string
	// ServiceAccount the Pods run as ("default" when the spec names none).
	ServiceAccount string
	// Labels and Annotations of the Pod or pod template.
	Labels      map[string]string
	Annotations map[string]string
	// Images of every container, init container included.
	Images []string
	// Node the Pods are pinned to (spec.nodeName, or a nodeSelector or required
	// node affinity naming exactly one kubernetes.io/hostname); empty when not pinned.
	Node string
	// Replicas the template asks for; nil for a Pod.
	Replicas *int32
	// User is the licence user the workload runs for (Identity.UserOf): the
	// person whose request this is, or the user a trusted controller's object
	// carries; "" when none was ever recorded. WorkloadFromPodSpec sets it
	// from the user annotation; the admission webhook sets it from the
	// request.
	User string
	// Features the workload asks for (RequestedFeatures of its
	// FeaturesAnnotation): every licence that covers it must grant each.
	Features []string
	// Priority is a Pod's spec.priority (set by the API server from its
	// PriorityClass before the webhooks see it): the line serves higher first.
	Priority int32
	// KueueGated is true for a Pod that carries Kueue's scheduling gate
	// (KueueGate): Kueue admits it, and it never waits in a seat line.
	KueueGated bool
	// NoUnavailable is true for a Deployment whose RollingUpdate allows no
	// unavailable Pod (maxUnavailable 0): a rollout needs a free seat for
	// its surge Pod.
	NoUnavailable bool
}

// KueueGate is the scheduling gate Kueue puts on the plain Pods it manages.
const KueueGate = "kueue.x-k8s.io/admission"

// IsTemplate says whether the workload is a pod template (nothing is counted for templates).
func (w *Workload) IsTemplate() bool { return w.Kind != "Pod" }

// WorkloadFromPodSpec fills a Workload from pod metadata and spec.
func WorkloadFromPodSpec(kind, name, namespace string, meta metav1.ObjectMeta, spec *corev1.PodSpec, replicas *int32) Workload {
	w := Workload{
		Kind:           kind,
		Name:           name,
		Namespace:      namespace,
		ServiceAccount: spec.ServiceAccountName,
		Labels:         meta.Labels,
		Annotations:    meta.Annotations,
		Node:           PinnedNode(spec),
		Replicas:       replicas,
		User:           meta.Annotations[UserAnnotation],
		Features:       RequestedFeatures(meta.Annotations),
	}
	if spec.Priority != nil {
		w.Priority = *spec.Priority
	}
	w.KueueGated = slices.ContainsFunc(spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == KueueGate })
	if w.ServiceAccount == "" {
		w.ServiceAccount = "default"
	}
	for _, c := range spec.InitContainers {
		w.Images = append(w.Images, c.Image)
	}
	for _, c := range spec.Containers {
		w.Images = append(w.Images, c.Image)
	}
	// Ephemeral containers (kubectl debug) run in a Pod too; templates have none.
	for _, c := range spec.EphemeralContainers {
		w.Images = append(w.Images, c.Image)
	}
	return w
}

// PinnedNode returns the one node a pod spec can run on, or "" when it may run on several.
func PinnedNode(spec *corev1.PodSpec) string {
	if spec.NodeName != "" {
		return spec.NodeName
	}
	if n := spec.NodeSelector[HostnameLabel]; n != "" {
		return n
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil ||
		spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	// Terms are ORed: the Pod is pinned only when every term pins the same node.
	node := ""
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		n := termNode(term)
		if n == "" || (node != "" && n != node) {
			return ""
		}
		node = n
	}
	return node
}

func termNode(term corev1.NodeSelectorTerm) string {
	for _, r := range term.MatchExpressions {
		if r.Key == HostnameLabel && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
			return r.Values[0]
		}
	}
	for _, r := range term.MatchFields {
		if r.Key == "metadata.name" && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
			return r.Values[0]
		}
	}
	return ""
}

// ProductNeed is one product a workload needs a seat of, and why.
type ProductNeed struct {
	Product string
	// Reason is "annotation" or the image and the pattern it matched.
	Reason string
}

// AnnotatedProducts splits the product annotation: a comma-separated list of product names.
func AnnotatedProducts(annotations map[string]string) []string {
	v, ok := annotations[licensingv1alpha1.ProductAnnotation]
	if !ok {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// RequiredProducts returns the products the workload needs a seat of, sorted by
// name: every product named by the product annotation, and every product whose
// spec.workloads.images matches one of its images.
func RequiredProducts(w *Workload, products []licensingv1alpha1.LicenseProduct) []ProductNeed {
	needs := map[string]string{}
	for _, p := range AnnotatedProducts(w.Annotations) {
		needs[p] = "annotation " + licensingv1alpha1.ProductAnnotation
	}
	for i := range products {
		p := &products[i]
		if _, ok := needs[p.Name]; ok || p.Spec.Workloads == nil {
			continue
		}
	images:
		for _, img := range w.Images {
			for _, pat := range p.Spec.Workloads.Images {
				if MatchImage(pat, img) {
					needs[p.Name] = fmt.Sprintf("image %s matches %q", img, pat)
					break images
				}
			}
		}
	}
	out := make([]ProductNeed, 0, len(needs))
	for p, r := range needs {
		out = append(out, ProductNeed{Product: p, Reason: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Product < out[j].Product })
	return out
}

// LicenseKey is "namespace/name", the form of assignment status.license.
func LicenseKey(l *licensingv1alpha1.SoftwareLicense) string { return l.Namespace + "/" + l.Name }

// LicenseCovers says whether a seat of the licence is a seat of product (status.product.covers).
func LicenseCovers(l *licensingv1alpha1.SoftwareLicense, product string) bool {
	if l.Status.Product == nil {
		return false
	}
	for _, c := range l.Status.Product.Covers {
		if c == product {
			return true
		}
	}
	return false
}

// LicenseSharedWith says whether the licence's spec.sharing lets namespace (with
// its labels) draw from it.
func LicenseSharedWith(l *licensingv1alpha1.SoftwareLicense, namespace string, nsLabels map[string]string) bool {
	if l.Namespace == namespace {
		return true
	}
	s := l.Spec.Sharing
	if s == nil {
		return false
	}
	switch s.From {
	case licensingv1alpha1.NamespacesFromAll:
		return true
	case licensingv1alpha1.NamespacesFromSelector:
		if s.NamespaceSelector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(s.NamespaceSelector)
		return err == nil && sel.Matches(labels.Set(nsLabels))
	}
	return false
}

// seatModel is the licence's effective seat model (SeatModelOf).
func seatModel(l *licensingv1alpha1.SoftwareLicense) licensingv1alpha1.SeatModel {
	return SeatModelOf(l.Status.EffectivePolicy)
}

// EnforcementOf is the licence's effective enforcement (Hard when unset).
func EnforcementOf(l *licensingv1alpha1.SoftwareLicense) licensingv1alpha1.Enforcement {
	if p := l.Status.EffectivePolicy; p != nil && p.Enforcement != nil {
		return *p.Enforcement
	}
	return licensingv1alpha1.EnforcementHard
}

// Cover is one way a workload may be admitted for a product.
type Cover struct {
	Product string
	License *licensingv1alpha1.SoftwareLicense
	// Assignment is nil for a Site licence.
	Assignment *licensingv1alpha1.LicenseAssignment
	SeatModel  licensingv1alpha1.SeatModel
	// Counted covers (Concurrent seats, or NamedUser seats kept for other
	// than a user) admit a Pod only while the assignment's live Pods are
	// fewer than Seats, under Hard enforcement.
	Counted     bool
	Seats       int32
	Enforcement licensingv1alpha1.Enforcement
}

// Considered is a licence of the product that was looked at and why it did not cover.
type Considered struct {
	License string
	State   licensingv1alpha1.LicenseState
	Model   licensingv1alpha1.SeatModel
	// Seats are the licence's seats used/total (status.seats); nil when the
	// licence was not among the licences fetched.
	Seats *licensingv1alpha1.LicenseSeatStatus
	Why   string
}

// CoverageInput is everything FindCovers needs.
type CoverageInput struct {
	Workload *Workload
	Product  string
	// NamespaceLabels are the labels of the workload's namespace (for Site sharing selectors).
	NamespaceLabels map[string]string
	// Licenses are the licences whose status.product.covers contains Product, plus
	// those the namespace's assignments are bound to.
	Licenses []licensingv1alpha1.SoftwareLicense
	// Assignments are the LicenseAssignments of the workload's namespace.
	Assignments []licensingv1alpha1.LicenseAssignment
	// Authorization is the needed product's spec.authorization: a seat of a
	// User product, on its own licence or a bundle's, covers only a workload
	// whose user is one of the licence's spec.users.
	Authorization licensingv1alpha1.AuthorizationMethod
}

// FindCovers returns every cover of the workload for the product, uncounted
// covers first (they admit without a ledger), then counted ones by assignment
// name, and the licences considered that did not cover it, for denial text.
func FindCovers(in CoverageInput) ([]Cover, []Considered) {
	w := in.Workload
	byKey := make(map[string]*licensingv1alpha1.SoftwareLicense, len(in.Licenses))
	for i := range in.Licenses {
		byKey[LicenseKey(&in.Licenses[i])] = &in.Licenses[i]
	}
	var covers []Cover
	consideredWhy := map[string]string{}
	note := func(key, why string) {
		if _, ok := consideredWhy[key]; !ok {
			consideredWhy[key] = why
		}
	}
	covered := map[string]bool{}

	// Site licences admit every Pod of the namespaces they are shared with.
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l := byKey[k]
		if !LicenseCovers(l, in.Product) || seatModel(l) != licensingv1alpha1.SeatModelSite {
			continue
		}
		switch {
		case !UsableForAdmission(l.Status.State):
			note(k, fmt.Sprintf("licence is %s", stateText(l.Status.State)))
		case !LicenseSharedWith(l, w.Namespace, in.NamespaceLabels):
			note(k, fmt.Sprintf("Site licence is not shared with namespace %s", w.Namespace))
		case userRule(in, l) != "":
			note(k, userRule(in, l))
		case featuresMismatch(l, w.Features) != "":
			note(k, featuresMismatch(l, w.Features))
		default:
			covered[k] = true
			covers = append(covers, Cover{Product: in.Product, License: l, SeatModel: licensingv1alpha1.SeatModelSite, Enforcement: EnforcementOf(l)})
		}
	}

	asgs := append([]licensingv1alpha1.LicenseAssignment(nil), in.Assignments...)
	sort.Slice(asgs, func(i, j int) bool { return asgs[i].Name < asgs[j].Name })
	var counted []Cover
	for i := range asgs {
		a := &asgs[i]
		if a.Namespace != w.Namespace || a.DeletionTimestamp != nil {
			continue
		}
		l, ok := byKey[a.Status.License]
		if !ok || !LicenseCovers(l, in.Product) {
			continue
		}
		k := a.Status.License
		if a.Status.State != licensingv1alpha1.AssignmentStateBound {
			note(k, fmt.Sprintf("assignment %s is %s", a.Name, orText(string(a.Status.State), "not bound yet")))
			continue
		}
		if !UsableForAdmission(l.Status.State) {
			note(k, fmt.Sprintf("licence is %s", stateText(l.Status.State)))
			continue
		}
		model := seatModel(l)
		if why := coverMismatch(in, a, l, model); why != "" {
			note(k, why)
			continue
		}
		seats := a.Status.Seats
		if seats == 0 {
			seats = a.Spec.Seats
		}
		c := Cover{Product: in.Product, License: l, Assignment: a, SeatModel: model, Seats: seats, Enforcement: EnforcementOf(l)}
		covered[k] = true
		switch {
		case model == licensingv1alpha1.SeatModelConcurrent,
			// Only a person holds a NamedUser seat without counting Pods; seats
			// kept for anyone else (bound before the licence became NamedUser)
			// count the Pods they admit.
			model == licensingv1alpha1.SeatModelNamedUser && boundAssignee(a).User == nil:
			c.Counted = true
			counted = append(counted, c)
		default:
			covers = append(covers, c)
		}
	}
	covers = append(covers, counted...)

	for _, k := range keys {
		l := byKey[k]
		if covered[k] || !LicenseCovers(l, in.Product) {
			continue
		}
		if _, ok := consideredWhy[k]; !ok {
			if !UsableForAdmission(l.Status.State) {
				consideredWhy[k] = fmt.Sprintf("licence is %s", stateText(l.Status.State))
			} else {
				consideredWhy[k] = fmt.Sprintf("no Bound assignment in namespace %s covers %s", w.Namespace, assigneeText(w))
			}
		}
	}
	var considered []Considered
	for k, why := range consideredWhy {
		if covered[k] {
			continue
		}
		c := Considered{License: k, Why: why}
		if l, ok := byKey[k]; ok {
			c.State, c.Model, c.Seats = l.Status.State, seatModel(l), &l.Status.Seats
		}
		considered = append(considered, c)
	}
	sort.Slice(considered, func(i, j int) bool { return considered[i].License < considered[j].License })
	return covers, considered
}

// LineOf is the cover in whose line a Pod that finds no free seat waits:
// the first of FindCovers' covers, when it counts seats. It is nil when the
// first cover counts none (a Site licence, a NodeLocked seat, a person's
// NamedUser seat admits at once, and the Pod never waits) or there is no
// cover. The admission webhook puts Pods in this line, and `kubectl license
// why` looks for a waiting Pod there.
func LineOf(covers []Cover) *Cover {
	if len(covers) == 0 || !covers[0].Counted {
		return nil
	}
	return &covers[0]
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stateText(s licensingv1alpha1.LicenseState) string {
	if s == "" {
		return "not evaluated yet (no status.state)"
	}
	return string(s)
}

// assigneeMismatch returns why the assignment's assignee does not cover the
// workload, or "". The assignee is the one the seats were granted to
// (status.boundAssignee): a spec.assignee that differs from it is a transfer
// the controller has not applied (yet, or ever: beyond maxTransfers it is
// refused), and admitting its workloads would take the transfer regardless.
func assigneeMismatch(a *licensingv1alpha1.LicenseAssignment, w *Workload, model licensingv1alpha1.SeatModel) string {
	as := boundAssignee(a)
	if model == licensingv1alpha1.SeatModelNodeLocked {
		if as.Node == nil {
			return "a NodeLocked seat is held by a node; this assignment names no node"
		}
		if w.Node != as.Node.Name {
			return fmt.Sprintf("NodeLocked seat of node %s: pin the workload to it (spec.nodeName or nodeSelector %s=%s)", as.Node.Name, HostnameLabel, as.Node.Name)
		}
		return ""
	}
	switch {
	case as.ServiceAccount != nil:
		if as.ServiceAccount.Name != w.ServiceAccount {
			return fmt.Sprintf("held by serviceAccount %s, workload runs as %s", as.ServiceAccount.Name, w.ServiceAccount)
		}
	case as.Workload != nil:
		sel, err := metav1.LabelSelectorAsSelector(&as.Workload.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.Labels)) {
			return "its workload selector does not match the workload's labels"
		}
	case as.User != nil:
		// Exact: the seat controller matches emails exactly too.
		if w.User == "" {
			return fmt.Sprintf("the seat is user %s's, and %s", as.User.Email, NoUserText)
		}
		if w.User != as.User.Email {
			return fmt.Sprintf("%s runs for user %s, and the seat is user %s's", w.Kind, w.User, as.User.Email)
		}
	case as.Node != nil:
		if w.Node != as.Node.Name {
			return fmt.Sprintf("held by node %s: pin the workload to it", as.Node.Name)
		}
	default:
		return "it names no assignee"
	}
	return ""
}

// NoUserText is why a workload with no recorded user is not covered by a
// user's seat: a trusted controller created it from a template that was never
// stamped (applied before the operator was installed, or licensed later by an
// image pattern).
const NoUserText = "the workload has no recorded user (its template was never stamped): re-apply the workload so that its user is recorded"

// coverMismatch returns why the Bound assignment a on licence l does not
// cover the workload of in, or "": its assignee, then the product's users,
// then the features the workload asks for.
func coverMismatch(in CoverageInput, a *licensingv1alpha1.LicenseAssignment, l *licensingv1alpha1.SoftwareLicense, model licensingv1alpha1.SeatModel) string {
	if why := assigneeMismatch(a, in.Workload, model); why != "" {
		return fmt.Sprintf("assignment %s: %s", a.Name, why)
	}
	if why := userRule(in, l); why != "" {
		return why
	}
	return featuresMismatch(l, in.Workload.Features)
}

// userRule returns why licence l does not cover the workload of in by the
// rules of a user-based product, or "" (also when the product is not one).
func userRule(in CoverageInput, l *licensingv1alpha1.SoftwareLicense) string {
	if in.Authorization != licensingv1alpha1.AuthorizationUser {
		return ""
	}
	return userNotListed(l, in.Workload)
}

// userNotListed returns why a licence of a user-based product does not cover
// the workload, or "": the workload's user must be one of spec.users. The
// users of the licence are not named: the licence may be another namespace's.
func userNotListed(l *licensingv1alpha1.SoftwareLicense, w *Workload) string {
	if w.User == "" {
		return "the product is user-based, and " + NoUserText
	}
	for _, u := range l.Spec.Users {
		if u.Email == w.User {
			return ""
		}
	}
	return fmt.Sprintf("the product is user-based, and user %s is not among the %d users of the licence (spec.users)", w.User, len(l.Spec.Users))
}

// boundAssignee is the assignee the seats of a Bound assignment were granted
// to: status.boundAssignee, else spec.assignee.
func boundAssignee(a *licensingv1alpha1.LicenseAssignment) licensingv1alpha1.Assignee {
	if a.Status.BoundAssignee != nil {
		return *a.Status.BoundAssignee
	}
	return a.Spec.Assignee
}

func assigneeText(w *Workload) string {
	return "serviceAccount " + w.ServiceAccount
}

// LedgerUse is how a counted cover's seats are used now.
type LedgerUse struct {
	Assignment string
	Used       int
	Seats      int32
	Holders    []string
}

// DenialMessage explains why the workload is refused for product and what to do.
// uses are the seat counts of the counted covers that were full (may be empty).
func DenialMessage(w *Workload, need ProductNeed, covers []Cover, considered []Considered, uses []LedgerUse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s needs a seat of product %q (%s), ", w.Kind, w.Namespace, w.Name, need.Product, need.Reason)
	if len(uses) > 0 {
		b.WriteString("and every seat that covers it is taken: ")
		for i, u := range uses {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "assignment %s holds %d/%d seats in use", u.Assignment, u.Used, u.Seats)
			for _, c := range covers {
				if c.Counted && c.Assignment != nil && c.Assignment.Name == u.Assignment {
					fmt.Fprintf(&b, " on licence %s (%s, %s, %s)", LicenseKey(c.License), c.License.Status.State, c.SeatModel, c.Enforcement)
					break
				}
			}
			if len(u.Holders) > 0 {
				h := u.Holders
				if len(h) > 5 {
					h = append(append([]string(nil), h[:5]...), "…")
				}
				fmt.Fprintf(&b, " (Pods %s)", strings.Join(h, ", "))
			}
		}
		if len(considered) > 0 {
			b.WriteString("; other licences considered: ")
			writeConsidered(&b, considered)
		}
		b.WriteString(". To fix: delete or scale down a workload holding a seat, raise spec.seats of the assignment (the licence needs free seats), or create another LicenseAssignment for this workload")
		return b.String()
	}
	fmt.Fprintf(&b, "and no Bound LicenseAssignment in namespace %s covers it", w.Namespace)
	if len(considered) == 0 {
		fmt.Fprintf(&b, "; no licence of %q (or of a bundle containing it) is usable here", need.Product)
	} else {
		b.WriteString("; licences considered: ")
		writeConsidered(&b, considered)
	}
	models := map[licensingv1alpha1.SeatModel]bool{}
	for _, c := range considered {
		models[c.Model] = true
	}
	assignee := "spec.assignee.serviceAccount.name " + w.ServiceAccount
	if len(models) == 1 && models[licensingv1alpha1.SeatModelNamedUser] && CanHoldNamedSeat(w.User) {
		// Only NamedUser licences: a seat is a user's, the one the workload
		// runs for, when that user is a person the CRDs accept as an assignee.
		assignee = "spec.assignee.user.email " + w.User
	}
	fmt.Fprintf(&b, ". To fix: create a LicenseAssignment in namespace %s with spec.productRef.name %s (or a licenseRef to a usable licence of it) and %s, and wait until it is Bound",
		w.Namespace, need.Product, assignee)
	if models[licensingv1alpha1.SeatModelNamedUser] {
		b.WriteString(namedUserFix(w))
	}
	if models[licensingv1alpha1.SeatModelNodeLocked] {
		fmt.Fprintf(&b, "; for a NodeLocked licence, pin the workload (spec.nodeName or nodeSelector %s) to a node with a Bound assignment", HostnameLabel)
	}
	for _, c := range considered {
		if fix := unusableFix(c); fix != "" {
			b.WriteString("; " + fix)
		}
	}
	return b.String()
}

// namedUserFix is the part of a denial that says how a workload gets a
// NamedUser seat. Never how to get around the check: a user's seat covers
// the workloads that user creates, and nobody else's. A workload that runs
// for a user who cannot hold such a seat (a ServiceAccount such as a GitOps
// controller's, CanHoldNamedSeat) is told to use seats that count workloads.
func namedUserFix(w *Workload) string {
	if w.User == "" || CanHoldNamedSeat(w.User) {
		return "; for a NamedUser licence, the workload must be created (or its image last changed) by a user who holds a Bound assignment in this namespace"
	}
	return fmt.Sprintf("; the workload runs for %s, which cannot hold a NamedUser seat (a NamedUser seat is a person's, named by email address): "+
		"give it a Concurrent licence of the product with an assignee spec.assignee.serviceAccount.name %s (or spec.assignee.workload.selector), or a Site licence, "+
		"or have a user who holds a Bound assignment in this namespace create it (or last change its image)", w.User, w.ServiceAccount)
}

// unusableFix says what makes a licence that admits nothing in its state usable, or "".
func unusableFix(c Considered) string {
	switch c.State {
	case licensingv1alpha1.LicenseStateExpired:
		return fmt.Sprintf("renew licence %s (a later spec.expiryDate)", c.License)
	case licensingv1alpha1.LicenseStateSuspended:
		return fmt.Sprintf("set spec.state Active on licence %s", c.License)
	case licensingv1alpha1.LicenseStateRevoked:
		return fmt.Sprintf("licence %s is revoked: use another licence", c.License)
	case licensingv1alpha1.LicenseStatePending:
		return fmt.Sprintf("wait until licence %s starts (spec.startDate)", c.License)
	}
	return ""
}

// writeConsidered lists the licences considered: state, seat model, seats used/total and why not.
func writeConsidered(b *strings.Builder, considered []Considered) {
	for i, c := range considered {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(b, "%s (%s", c.License, stateText(c.State))
		if c.Model != "" {
			fmt.Fprintf(b, ", %s", c.Model)
		}
		b.WriteString(")")
		if c.Seats != nil {
			b.WriteString(" " + seatsText(c.Seats))
		}
		fmt.Fprintf(b, ": %s", c.Why)
	}
}

// seatsText is "used/total seats used", or "used seats used, unlimited".
func seatsText(s *licensingv1alpha1.LicenseSeatStatus) string {
	if s.Total == nil {
		return fmt.Sprintf("%d seats used, unlimited", s.Used)
	}
	return fmt.Sprintf("%d/%d seats used", s.Used, *s.Total)
}

// NameHeldMessage refuses a Pod whose name another Pod, holding a seat of the
// cover's assignment, still has.
func NameHeldMessage(w *Workload, need ProductNeed, c Cover) string {
	return fmt.Sprintf("%s %s/%s needs a seat of product %q (%s), and a Pod named %s that holds a seat of assignment %s (licence %s) still exists. To fix: delete that Pod and wait until it is gone, or give this Pod another name",
		w.Kind, w.Namespace, w.Name, need.Product, need.Reason, w.Name, c.Assignment.Name, LicenseKey(c.License))
}

// CoverWarnings are the admission warnings a cover carries: a trial
// licence, a licence expiring soon or in its grace period.
func CoverWarnings(c Cover) []string {
	l := c.License
	if !l.Status.Trial {
		return stateWarnings(c)
	}
	until := ""
	if t := l.Status.ValidUntil; t != nil {
		until = " until " + t.UTC().Format("2006-01-02T15:04:05Z")
	}
	trial := fmt.Sprintf("licence %s of product %q is a trial licence%s: workloads needing %q are refused once it ends", LicenseKey(l), c.Product, until, c.Product)
	return append([]string{trial}, stateWarnings(c)...)
}

// stateWarnings are the warnings of a cover's licence state: expiring soon,
// or in its grace period.
func stateWarnings(c Cover) []string {
	l := c.License
	switch l.Status.State {
	case licensingv1alpha1.LicenseStateExpiringSoon:
		until := "soon"
		if t := l.Status.RenewalTime; t != nil {
			until = "at " + t.UTC().Format("2006-01-02T15:04:05Z")
		} else if t := l.Status.ValidUntil; t != nil {
			until = "at " + t.UTC().Format("2006-01-02T15:04:05Z")
		}
		return []string{fmt.Sprintf("licence %s of product %q is ExpiringSoon: renew it (due %s) or workloads needing %q will be refused", LicenseKey(l), c.Product, until, c.Product)}
	case licensingv1alpha1.LicenseStateInGracePeriod:
		until := ""
		if t := l.Status.GraceUntil; t != nil {
			until = " until " + t.UTC().Format("2006-01-02T15:04:05Z")
		}
		return []string{fmt.Sprintf("licence %s of product %q has expired and is in its grace period%s: renew it", LicenseKey(l), c.Product, until)}
	}
	return nil
}

// OverSeatsWarning is the warning of a Soft licence admitting beyond its seats.
func OverSeatsWarning(w *Workload, c Cover, used int) string {
	return fmt.Sprintf("%s %s/%s admitted beyond the seats of assignment %s (product %q, licence %s, Soft enforcement): %d/%d seats in use; the licence is over-allocated",
		w.Kind, w.Namespace, w.Name, c.Assignment.Name, c.Product, LicenseKey(c.License), used, c.Seats)
}

// TemplateSeats checks a pod template's replicas against the counted
// covers' seats, held holds the Pods holding each assignment's seats now
// (by assignment name). It returns warnings, and a refusal only when the
// Pods could never all run and the policy (or the template's
// when-no-seat annotation) says Refuse: a template is never refused
// because seats are busy now, since its Pods wait in line for them.
//   - Soft enforcement: replicas beyond the seats over-allocate the licence.
//   - Queue: "2 of 3 replicas will wait for a seat".
//   - Refuse: replicas beyond the free seats are refused when created.
//   - A Deployment whose RollingUpdate allows no unavailable Pod, with its
//     replicas holding every seat, deadlocks its next rollout: its surge
//     Pod waits for a seat only the rollout would free.
//
// It returns nothing when replicas are unknown (a DaemonSet) or an
// uncounted cover admits every Pod.
func TemplateSeats(w *Workload, product string, covers []Cover, held map[string]int) (warnings []string, refusal string) {
	if w.Replicas == nil || len(covers) == 0 {
		return nil, ""
	}
	var seats, free int32
	var names []string
	soft := false
	for _, c := range covers {
		if !c.Counted {
			return nil, ""
		}
		soft = soft || c.Enforcement == licensingv1alpha1.EnforcementSoft
		seats += c.Seats
		free += max(0, c.Seats-int32(held[c.Assignment.Name]))
		names = append(names, c.Assignment.Name)
	}
	replicas := *w.Replicas
	who := fmt.Sprintf("%s %s/%s asks for %d replicas but the assignments covering it (%s)", w.Kind, w.Namespace, w.Name, replicas, strings.Join(names, ", "))
	if soft {
		if replicas > seats {
			warnings = append(warnings, fmt.Sprintf("%s hold %d counted seats of product %q: Soft enforcement admits the Pods beyond them, and the licence will be over-allocated",
				who, seats, product))
		}
		return warnings, ""
	}
	when := WhenNoSeatOf(covers[0].License, w.Annotations)
	switch {
	case when == licensingv1alpha1.WhenNoSeatRefuse && replicas > seats:
		return nil, fmt.Sprintf("%s hold %d seats of product %q and the policy says whenNoSeat Refuse: at most %d of its Pods could ever run. "+
			"To fix: lower the replicas to %d, raise spec.seats of the assignments, or let the Pods wait in line (whenNoSeat Queue)",
			who, seats, product, seats, seats)
	case when == licensingv1alpha1.WhenNoSeatRefuse && replicas > free:
		warnings = append(warnings, fmt.Sprintf("%s have %d of %d seats of product %q free now, and the policy says whenNoSeat Refuse: at most %d Pods will be admitted until seats free",
			who, free, seats, product, free))
	case replicas > free:
		warnings = append(warnings, fmt.Sprintf("%d of %d replicas will wait for a seat of product %q: the assignments covering %s %s/%s (%s) have %d of %d seats free. "+
			"The Pods beyond them are admitted with the scheduling gate %s and start in line as seats free",
			replicas-free, replicas, product, w.Kind, w.Namespace, w.Name, strings.Join(names, ", "), free, seats, SeatGateName))
	}
	if w.NoUnavailable && replicas >= seats {
		warnings = append(warnings, fmt.Sprintf("%s %s/%s rolls out with maxUnavailable 0, and its %d replicas hold every one of the %d seats of product %q of the assignments covering it (%s): "+
			"a rollout's new Pod would wait in line for a seat that only the rollout frees, and the rollout would never finish. "+
			"To fix: set spec.strategy.rollingUpdate.maxUnavailable to 1 or more, or raise spec.seats of the assignments above the replicas",
			w.Kind, w.Namespace, w.Name, replicas, seats, product, strings.Join(names, ", ")))
	}
	return warnings, ""
}
