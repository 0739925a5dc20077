package licensing

// This file holds the pure seat-granting decision: given a pool of licences
// and the assignments that hold or want their seats, which assignments bind,
// which wait (with their queue position and a message that says what is
// missing and what would fix it) and which are rejected. The SoftwareLicense
// controller (internal/controller/softwarelicense_seats.go) only gathers the
// objects, calls Grant and writes the statuses it returns; it decides nothing
// this file does not. docs/seat-accounting.md explains why writing these
// decisions never grants a seat twice.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// maxMessageLength is the schema's bound on status.message.
const maxMessageLength = 1024

// GrantLicense is one licence of the pool, as the seat decision sees it.
type GrantLicense struct {
	// License is the licence: its metadata, spec.seats, spec.users and spec.sharing.
	License *licensingv1alpha1.SoftwareLicense
	// Policy is its effective policy; nil while the policy does not resolve,
	// which binds nothing new.
	Policy *licensingv1alpha1.EffectivePolicy
	// Product is the licence's LicenseProduct: its authorization and
	// allowAssignmentsFrom apply. Nil for a licence without a product.
	Product *licensingv1alpha1.LicenseProduct
	// Covers are the products a seat of this licence is a seat of (the
	// product and, for a bundle, its members): productRef assignments of any
	// of them may draw from it.
	Covers []string
	// State is the lifecycle state now; it only words the messages.
	State licensingv1alpha1.LicenseState
	// Usable is true when the licence binds new seats: Active, ExpiringSoon or
	// InGracePeriod, and not being deleted.
	Usable bool
	// Deleting is true once the licence has a deletionTimestamp: nothing new
	// binds to it, and the assignments that hold its seats keep them (it
	// stays Terminating until they are released, see LicenseDeletion).
	Deleting bool
	// Releasing is true for a licence being deleted whose protection yields
	// (its namespace is being deleted, DeletionRelease): its assignments are
	// released (moved to Pending).
	Releasing bool
	// ValidUntil is the end of the current term, nil when it never ends; a
	// productRef assignment prefers the licence that lasts longest.
	ValidUntil *time.Time
	// GraceUntil is the end of the grace period, if any. A Bound assignment's
	// status.expiryTime is GraceUntil, else ValidUntil.
	GraceUntil *time.Time
	// PeriodStart is when the current consumption period began, for a
	// licence whose policy limits consumption; nil otherwise.
	PeriodStart *time.Time
}

// Key is "namespace/name", the form of an assignment's status.license.
func (l *GrantLicense) Key() string { return LicenseKey(l.License) }

// GrantInput is everything Grant decides from.
type GrantInput struct {
	// Now is the instant of the decision (boundTime, condition times).
	Now time.Time
	// Licenses is the pool: every licence whose seats the assignments below
	// hold or may draw.
	Licenses []GrantLicense
	// Assignments are the assignments that hold seats of a licence of the
	// pool (status.license), reference one (spec.licenseRef) or name a
	// product one of them covers (spec.productRef). Others are ignored.
	Assignments []*licensingv1alpha1.LicenseAssignment
	// Products are the LicenseProducts named by the productRef assignments,
	// by name; a name missing here is a product that does not exist.
	Products map[string]*licensingv1alpha1.LicenseProduct
	// NamespaceLabels are the labels of the namespaces of the assignments,
	// for sharing and allowAssignmentsFrom selectors.
	NamespaceLabels map[string]map[string]string
	// Nodes are the Nodes the NodeLocked assignments name, by name; a name
	// missing here is a node that does not exist (see CheckNodeLock).
	Nodes map[string]*corev1.Node
}

// AssignmentDecision is the status one assignment should have.
type AssignmentDecision struct {
	// Writer is the key of the licence whose reconcile writes this status:
	// the licence the assignment holds seats of, is bound to now, or waits
	// for. For a waiting productRef assignment it is the first licence, by
	// namespace/name, of the product in the pool, so that exactly one
	// licence writes it.
	Writer string
	// Status is the complete status the assignment should have. It equals
	// the current status (equality.Semantic) when nothing changed.
	Status licensingv1alpha1.LicenseAssignmentStatus
	// Bound is true when this decision grants seats the assignment did not
	// hold (a new binding or more seats): a write that must not be made from
	// a stale view of the licence.
	Bound bool
}

// GrantResult is the outcome of Grant.
type GrantResult struct {
	// Assignments are the decisions, by assignment "namespace/name", for every
	// input assignment that concerns the pool.
	Assignments map[string]AssignmentDecision
	// Order lists the keys of Assignments first come, first served: the order
	// in which their statuses are written.
	Order []string
	// Usage is what the assignments hold of each licence, by licence key.
	Usage map[string]SeatUsage
	// Boundaries are, by licence key, the next instant a decision of the
	// licence changes with no event to announce it: the end of the offline
	// grace period of a NotReady node that holds one of its seats.
	Boundaries map[string]time.Time
}

// AssignmentKey is "namespace/name" of an assignment.
func AssignmentKey(a *licensingv1alpha1.LicenseAssignment) string { return a.Namespace + "/" + a.Name }

// holderText names the assignment of key ("namespace/name") to a reader in
// namespace: by name when it is the reader's namespace's, else without
// disclosing where (DESIGN.md "What tenants cannot touch").
func holderText(namespace, key string) string {
	if ns, name, ok := strings.Cut(key, "/"); ok && ns == namespace {
		return "assignment " + name
	}
	return "an assignment in another namespace"
}

// AssignmentLicenseKey is the key of the licence spec.licenseRef names
// ("namespace/name", the namespace defaulting to the assignment's), or "".
func AssignmentLicenseKey(a *licensingv1alpha1.LicenseAssignment) string {
	ref := a.Spec.LicenseRef
	if ref == nil {
		return ""
	}
	ns := ref.Namespace
	if ns == "" {
		ns = a.Namespace
	}
	return ns + "/" + ref.Name
}

// FirstComeFirstServed orders assignments: earlier creationTimestamp first,
// then name, then namespace (assignments of several namespaces share the
// queue of a shared licence).
func FirstComeFirstServed(a, b *licensingv1alpha1.LicenseAssignment) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.Namespace < b.Namespace
}

// poolLicense is a licence during the decision: its policy and what the
// assignments decided so far hold of it.
type poolLicense struct {
	*GrantLicense
	key            string
	model          licensingv1alpha1.SeatModel
	enforcement    licensingv1alpha1.Enforcement
	maxActivations *int32
	maxTransfers   int32
	total          *int32

	used        int32
	activations int32
	consumption int64
	pending     int32
	// users are the NamedUser holders: email (exact) → key of the
	// assignment that holds the user's one seat.
	users map[string]string
	// blocked is the key of the first assignment that waits for capacity:
	// strict first come, first served, nothing behind it binds.
	blocked string
	// queued counts the assignments waiting in this licence's queue.
	queued int32
	// nodes and now are GrantInput's, for the node rules (CheckNodeLock).
	nodes map[string]*corev1.Node
	now   time.Time
	// next is the earliest end of an offline grace period of a node that
	// holds or takes a seat of the licence.
	next *time.Time
}

func newPoolLicense(l *GrantLicense) *poolLicense {
	p := &poolLicense{GrantLicense: l, key: l.Key(), users: map[string]string{}, total: l.License.Spec.Seats}
	p.model, p.enforcement = DefaultSeatModel, DefaultEnforcement
	if pol := l.Policy; pol != nil {
		if pol.SeatModel != nil {
			p.model = *pol.SeatModel
		}
		if pol.Enforcement != nil {
			p.enforcement = *pol.Enforcement
		}
		if pol.MaxTransfers != nil {
			p.maxTransfers = *pol.MaxTransfers
		}
	}
	p.maxActivations = ActivationLimit(l.Policy, l.Product)
	return p
}

// counted says whether the licence limits the seats it grants.
func (p *poolLicense) counted() bool {
	return p.model != licensingv1alpha1.SeatModelSite && p.total != nil
}

// free is the number of seats still free, -1 when unlimited.
func (p *poolLicense) free() int64 {
	if !p.counted() {
		return -1
	}
	return max(int64(*p.total)-int64(p.used), 0)
}

// consumptionExhausted says whether the period's usage reached the limit.
func (p *poolLicense) consumptionExhausted() bool {
	if p.PeriodStart == nil || p.Policy == nil || p.Policy.Consumption == nil {
		return false
	}
	return ComputeConsumption(p.Policy.Consumption, p.consumption).Exhausted
}

// seatsText is "7 of 10 seats used" or "7 seats used (unlimited)".
func (p *poolLicense) seatsText() string {
	if !p.counted() {
		return fmt.Sprintf("%d %s used, no seat limit", p.used, seatWord(p.used))
	}
	return fmt.Sprintf("%d of %d %s used", p.used, *p.total, seatWord(*p.total))
}

// seatWord is "seat" or "seats", as n wants.
func seatWord(n int32) string {
	if n == 1 {
		return "seat"
	}
	return "seats"
}

// check is why an assignment cannot bind to a licence now.
type check struct {
	// ok: it binds, taking need seats.
	ok   bool
	need int32
	// rejected: the assignment is Rejected, not Pending (a node the licence
	// can never be locked to as it is).
	rejected bool
	// queue: it waits for capacity of the licence (seats, activations,
	// consumption, the licence becoming usable) and takes a queue position.
	queue bool
	// block: strict first come, first served: nothing behind it binds.
	block   bool
	reason  string
	message string
}

// assigneeFits says whether the assignee suits the licence's seat model and users (AssigneeFits).
func (p *poolLicense) assigneeFits(as licensingv1alpha1.Assignee) (bool, string) {
	return AssigneeFits(p.model, p.key, p.License, p.Product, as)
}

func assigneeKind(as licensingv1alpha1.Assignee) string {
	switch {
	case as.User != nil:
		return "user " + as.User.Email
	case as.ServiceAccount != nil:
		return "service account " + as.ServiceAccount.Name
	case as.Node != nil:
		return "node " + as.Node.Name
	case as.Workload != nil:
		return "a workload selector"
	}
	return "no assignee"
}

// userKey is the NamedUser identity of an assignee ("" when not a user).
func userKey(as *licensingv1alpha1.Assignee) string {
	if as == nil || as.User == nil {
		return ""
	}
	return as.User.Email
}

// eligible checks what does not depend on capacity: the licence's state,
// sharing, the product's allowAssignmentsFrom and the assignee.
func (p *poolLicense) eligible(a *licensingv1alpha1.LicenseAssignment, nsLabels map[string]string) check {
	switch {
	case p.Deleting:
		return check{reason: licensingv1alpha1.ReasonLicenseNotUsable,
			message: fmt.Sprintf("licence %s is being deleted: reference another licence, or a product with spec.productRef", p.key)}
	case productDeleting(p.Product):
		return check{reason: licensingv1alpha1.ReasonLicenseNotUsable,
			message: fmt.Sprintf("product %s of licence %s is being deleted and binds no new seats: use a licence of another product", p.Product.Name, p.key)}
	case p.Policy == nil:
		return check{queue: true, reason: licensingv1alpha1.ReasonLicenseNotUsable,
			message: fmt.Sprintf("the policy of licence %s does not resolve (see its PolicyResolved condition): fix its product or policyCode", p.key)}
	case !p.Usable:
		return check{queue: true, reason: licensingv1alpha1.ReasonLicenseNotUsable, message: notUsableText(p)}
	case !LicenseSharedWith(p.License, a.Namespace, nsLabels):
		return check{reason: licensingv1alpha1.ReasonSharingForbidden,
			message: fmt.Sprintf("licence %s is not shared with namespace %s: its owner can allow it in the licence's spec.sharing", p.key, a.Namespace)}
	case !NamespaceAllowedByProduct(p.Product, nsLabels):
		return check{reason: licensingv1alpha1.ReasonSharingForbidden,
			message: fmt.Sprintf("product %s does not allow assignments from namespace %s (spec.allowAssignmentsFrom): label the namespace to match its selector", p.Product.Name, a.Namespace)}
	}
	if ok, why := p.assigneeFits(a.Spec.Assignee); !ok {
		return check{reason: licensingv1alpha1.ReasonAssigneeNotAllowed, message: why}
	}
	if v, locked := p.nodeLock(&a.Spec.Assignee, false); locked && !v.OK {
		return check{reason: v.Reason, message: v.Message, rejected: v.Rejected}
	}
	return check{ok: true}
}

// productDeleting says whether the product is being deleted: its licences
// bind no new seats, and the seats they gave stay.
func productDeleting(p *licensingv1alpha1.LicenseProduct) bool {
	return p != nil && p.DeletionTimestamp != nil
}

func notUsableText(p *poolLicense) string {
	state := p.State
	if state == "" {
		state = "not usable"
	}
	fix := "wait for it or ask its administrator"
	switch state {
	case licensingv1alpha1.LicenseStateExpired:
		fix = "renew it (spec.expiryDate or autoRenew) or use another licence"
	case licensingv1alpha1.LicenseStateSuspended:
		fix = "an administrator can set its spec.state back to Active"
	case licensingv1alpha1.LicenseStateRevoked:
		fix = "use another licence"
	case licensingv1alpha1.LicenseStatePending:
		fix = "it binds once its start date is reached"
	}
	return fmt.Sprintf("licence %s is %s and binds no new seats: %s", p.key, state, fix)
}

// capacity checks, for an eligible assignment, the seats, activations and
// consumption of the licence. extra is the number of seats asked for (all of
// spec.seats for a new binding, the increase for a Bound assignment).
func (p *poolLicense) capacity(a *licensingv1alpha1.LicenseAssignment, extra int32, newBinding bool) check {
	need := extra
	switch p.model {
	case licensingv1alpha1.SeatModelNamedUser:
		need = 1
		if _, holds := p.users[userKey(&a.Spec.Assignee)]; holds {
			need = 0
		}
	case licensingv1alpha1.SeatModelSite:
		// Everything binds while the licence is usable; seats are only reported.
		return check{ok: true, need: need}
	}
	if newBinding && p.consumptionExhausted() {
		return check{queue: true, block: true, reason: licensingv1alpha1.ReasonConsumptionExhausted,
			message: fmt.Sprintf("licence %s used up its consumption for this period (%s): it binds again after the next reset, or raise maxConsumptions or allow overages", p.key, consumptionText(p))}
	}
	if newBinding && p.maxActivations != nil && p.activations >= *p.maxActivations {
		return check{queue: true, block: true, reason: licensingv1alpha1.ReasonActivationLimit,
			message: fmt.Sprintf("licence %s holds %d of maxActivations %d: delete an assignment of it or raise maxActivations", p.key, p.activations, *p.maxActivations)}
	}
	if p.blocked != "" {
		return check{queue: true, block: true, reason: licensingv1alpha1.ReasonWaitingForSeats,
			message: fmt.Sprintf("waiting behind %s in the queue of licence %s (%s): first come, first served", p.blocked, p.key, p.seatsText())}
	}
	if p.counted() && p.enforcement == licensingv1alpha1.EnforcementHard && int64(p.used)+int64(need) > int64(*p.total) {
		// What the assignment would hold once granted: a Bound one asking
		// for more holds the seats it has besides the need.
		whole := need
		if !newBinding {
			whole = a.Spec.Seats
		}
		if whole > *p.total {
			// It can never fit: it would block the queue for good, so it waits aside.
			return check{reason: licensingv1alpha1.ReasonWaitingForSeats,
				message: fmt.Sprintf("requests %d %s but licence %s has only %d: lower spec.seats or raise the licence's spec.seats", whole, seatWord(whole), p.key, *p.total)}
		}
		return check{queue: true, block: true, reason: licensingv1alpha1.ReasonWaitingForSeats,
			message: fmt.Sprintf("waiting for %d %s of licence %s (%s): delete a Bound assignment or raise the licence's spec.seats", need, seatWord(need), p.key, p.seatsText())}
	}
	return check{ok: true, need: need}
}

func consumptionText(p *poolLicense) string {
	return fmt.Sprintf("%d used of %s", p.consumption, ConsumptionLimitText(p.Policy.Consumption))
}

// outcome is the decision for one assignment before it becomes a status.
type outcome struct {
	state         licensingv1alpha1.AssignmentState
	license       string
	seats         int32
	boundAssignee *licensingv1alpha1.Assignee
	transfers     int32
	bound         bool
	positions     []int32
	reason        string
	message       string
	consumption   *licensingv1alpha1.AssignmentConsumption
	holder        *poolLicense
	writer        string
}

// Grant decides the seats of a pool of licences. It is deterministic: the
// same input gives the same result, whichever licence of the pool computes it.
//
// The rules, in order:
//
//  1. An assignment being deleted is Released and holds nothing.
//  2. A Bound (or Rejected) assignment keeps the seats it holds
//     (status.license, status.seats), even beyond the licence's seats (a
//     lowered spec.seats flags OverAllocated, it unbinds nobody) and while the
//     licence is not usable (its Bound condition says so). A lower spec.seats
//     gives seats back at once; a higher one queues for the difference. A
//     licence (or product) being deleted keeps its holders and binds nothing
//     new (deletion protection); only a licence whose protection yields
//     (Releasing: its namespace is being deleted) releases its assignments
//     (they become Pending).
//  3. A Bound assignment whose spec.assignee differs from status.boundAssignee
//     is a transfer: it keeps its seats and counts status.transfers, up to
//     the policy's maxTransfers. Beyond it, or when the new assignee does not
//     suit the licence, the change is not applied: the assignment is
//     Rejected, still holding its seats for status.boundAssignee.
//  4. Everything else binds first come, first served (creation time, name,
//     namespace), strictly: a licence binds from the head of its queue while
//     the head fits, and the first assignment that waits for capacity (seats
//     under Hard enforcement, maxActivations, exhausted consumption) blocks
//     every assignment behind it. Assignments that can never bind as they
//     are (sharing, assignee, a request larger than the licence) wait aside
//     and block nobody.
//  5. A productRef assignment binds to the licence that can take it with the
//     fewest new seats (a NamedUser licence where its user holds a seat
//     already takes none), then the most free seats, then the latest
//     validUntil (none first), then namespace/name. It waits in the queue of
//     every licence it waits for.
//  6. Seat models: NamedUser takes one seat per distinct user (a second
//     assignment of the same user binds without another seat: status.seats
//     0), NodeLocked and Concurrent take spec.seats (NodeLocked only on a
//     node CheckNodeLock accepts: it exists, matches the licence's
//     machineFingerprints, is not a VM under preventVM and is not offline
//     past the offlineGracePeriod; a held seat whose node is deleted or
//     offline past it is the one exception to rule 2: it is released, the
//     assignment Pending), Site counts nothing and
//     binds everything (seats are reported, never enforced; maxActivations
//     does not apply). Soft enforcement binds beyond the seats.
//  7. A licence that limits consumption counts, per period, spec.consumption
//     less the baseline recorded at the period's start; once it reaches
//     maxConsumptions (plus maxOverages when allowOverages) new assignments
//     wait for the next period.
func Grant(in GrantInput) GrantResult {
	now := metav1.NewTime(in.Now.UTC().Truncate(time.Second))
	res := GrantResult{Assignments: map[string]AssignmentDecision{}, Usage: map[string]SeatUsage{}, Boundaries: map[string]time.Time{}}

	pool := make(map[string]*poolLicense, len(in.Licenses))
	poolKeys := make([]string, 0, len(in.Licenses))
	for i := range in.Licenses {
		p := newPoolLicense(&in.Licenses[i])
		p.nodes, p.now = in.Nodes, in.Now
		pool[p.key] = p
		poolKeys = append(poolKeys, p.key)
	}
	sort.Strings(poolKeys)
	byProduct := map[string][]*poolLicense{}
	for _, k := range poolKeys {
		for _, prod := range pool[k].Covers {
			byProduct[prod] = append(byProduct[prod], pool[k])
		}
	}

	assignments := make([]*licensingv1alpha1.LicenseAssignment, 0, len(in.Assignments))
	seen := map[string]bool{}
	for _, a := range in.Assignments {
		if k := AssignmentKey(a); !seen[k] {
			seen[k] = true
			assignments = append(assignments, a)
		}
	}
	sort.SliceStable(assignments, func(i, j int) bool { return FirstComeFirstServed(assignments[i], assignments[j]) })

	outcomes := map[string]*outcome{}
	var waiting []*licensingv1alpha1.LicenseAssignment
	var increases []*licensingv1alpha1.LicenseAssignment

	// Rules 1–3: what is held, before anything new binds.
	for _, a := range assignments {
		key := AssignmentKey(a)
		holder := heldBy(a, pool)
		if holder == nil && holds(a) {
			continue // it holds seats of a licence outside the pool: not this pool's business
		}
		target := targetOf(a, pool, byProduct)
		if holder == nil && target == "" {
			continue // not this pool's business
		}
		if a.DeletionTimestamp != nil {
			writer := target
			if holder != nil {
				writer = holder.key
			}
			outcomes[key] = &outcome{state: licensingv1alpha1.AssignmentStateReleased, writer: writer,
				reason: licensingv1alpha1.ReasonReleased, message: "the assignment is being deleted: its seats are released"}
			continue
		}
		if holder == nil {
			waiting = append(waiting, a)
			continue
		}
		if holder.Releasing {
			outcomes[key] = &outcome{state: licensingv1alpha1.AssignmentStatePending, writer: holder.key,
				transfers: a.Status.Transfers, reason: licensingv1alpha1.ReasonLicenseNotUsable,
				message: fmt.Sprintf("licence %s was deleted and released the seats: reference another licence, or a product with spec.productRef", holder.key)}
			continue
		}
		lost, note := holder.nodeLost(a)
		if lost != nil {
			outcomes[key] = lost
			continue
		}
		o := hold(a, holder)
		if o.message == "" {
			o.message = note
		}
		outcomes[key] = o
		if o.state == licensingv1alpha1.AssignmentStateBound && holder.model != licensingv1alpha1.SeatModelNamedUser && a.Spec.Seats > o.seats {
			increases = append(increases, a)
		}
	}

	// Rule 4: the queue, merged over new bindings and seat increases.
	queue := append(waiting, increases...)
	sort.SliceStable(queue, func(i, j int) bool { return FirstComeFirstServed(queue[i], queue[j]) })
	for _, a := range queue {
		key := AssignmentKey(a)
		if o, ok := outcomes[key]; ok {
			increase(a, o, in.NamespaceLabels[a.Namespace])
			continue
		}
		outcomes[key] = bind(a, pool, byProduct, in)
	}

	for _, a := range assignments {
		key := AssignmentKey(a)
		o, ok := outcomes[key]
		if !ok {
			continue
		}
		res.Order = append(res.Order, key)
		res.Assignments[key] = AssignmentDecision{Writer: o.writer, Status: o.status(a, now), Bound: o.bound}
	}
	for _, k := range poolKeys {
		p := pool[k]
		res.Usage[k] = SeatUsage{Used: p.used, Pending: p.pending, Activations: p.activations, Consumption: p.consumption}
		if p.next != nil {
			res.Boundaries[k] = *p.next
		}
	}
	return res
}

// holds says whether the assignment holds seats: it is Bound, or Rejected
// (a refused transfer keeps the seats), on status.license.
func holds(a *licensingv1alpha1.LicenseAssignment) bool {
	switch a.Status.State {
	case licensingv1alpha1.AssignmentStateBound, licensingv1alpha1.AssignmentStateRejected:
		return a.Status.License != ""
	}
	return false
}

// heldBy is the pool licence the assignment holds seats of, or nil.
func heldBy(a *licensingv1alpha1.LicenseAssignment, pool map[string]*poolLicense) *poolLicense {
	if !holds(a) {
		return nil
	}
	return pool[a.Status.License]
}

// targetOf is the key of the licence the assignment waits for (licenseRef),
// "*" for a productRef assignment of a product the pool covers, or "".
func targetOf(a *licensingv1alpha1.LicenseAssignment, pool map[string]*poolLicense, byProduct map[string][]*poolLicense) string {
	if k := AssignmentLicenseKey(a); k != "" {
		if _, ok := pool[k]; ok {
			return k
		}
		return ""
	}
	if a.Spec.ProductRef != nil && len(byProduct[a.Spec.ProductRef.Name]) > 0 {
		return byProduct[a.Spec.ProductRef.Name][0].key
	}
	return ""
}

// hold keeps the seats of a Bound or Rejected assignment (rules 2 and 3).
func hold(a *licensingv1alpha1.LicenseAssignment, p *poolLicense) *outcome {
	o := &outcome{
		state:         licensingv1alpha1.AssignmentStateBound,
		license:       p.key,
		holder:        p,
		writer:        p.key,
		transfers:     a.Status.Transfers,
		boundAssignee: a.Status.BoundAssignee,
		reason:        licensingv1alpha1.ReasonSeatsGranted,
	}
	if o.boundAssignee == nil {
		o.boundAssignee = a.Spec.Assignee.DeepCopy()
	}
	if !equality.Semantic.DeepEqual(a.Spec.Assignee, *o.boundAssignee) {
		fits, why := p.assigneeFits(a.Spec.Assignee)
		if v, locked := p.nodeLock(&a.Spec.Assignee, false); fits && locked && !v.OK {
			fits, why = false, v.Message
		}
		switch {
		case !fits:
			o.state, o.reason = licensingv1alpha1.AssignmentStateRejected, licensingv1alpha1.ReasonAssigneeNotAllowed
			o.message = fmt.Sprintf("the change of assignee to %s is not applied: %s. The seats stay with %s: set spec.assignee back, or delete the assignment", assigneeKind(a.Spec.Assignee), why, assigneeKind(*o.boundAssignee))
		case o.transfers >= p.maxTransfers:
			o.state, o.reason = licensingv1alpha1.AssignmentStateRejected, licensingv1alpha1.ReasonTransferLimit
			o.message = fmt.Sprintf("the change of assignee to %s is not applied: %d of maxTransfers %d transfers used on licence %s. The seats stay with %s: set spec.assignee back, or raise maxTransfers",
				assigneeKind(a.Spec.Assignee), o.transfers, p.maxTransfers, p.key, assigneeKind(*o.boundAssignee))
		default:
			o.boundAssignee = a.Spec.Assignee.DeepCopy()
			o.transfers++
		}
	}

	// Seats: what was granted, less any decrease of spec.seats.
	seats := a.Status.Seats
	if a.Spec.Seats < seats {
		seats = a.Spec.Seats
	}
	if p.model == licensingv1alpha1.SeatModelNamedUser {
		if u := userKey(o.boundAssignee); u != "" {
			seats = 0
			if _, taken := p.users[u]; !taken {
				p.users[u] = AssignmentKey(a)
				seats = 1
			}
		}
	}
	o.seats = seats
	p.used += seats
	p.activations++

	if p.PeriodStart != nil {
		o.consumption = rebase(a, p.PeriodStart)
		p.consumption += o.consumption.Used
	}
	if o.state == licensingv1alpha1.AssignmentStateBound && (p.Deleting || productDeleting(p.Product)) {
		// Deletion protection: the holder keeps its seats and its workloads
		// are still admitted; only new bindings stop.
		what := "licence " + p.key
		if !p.Deleting {
			what = "product " + p.Product.Name + " of licence " + p.key
		}
		o.message = fmt.Sprintf("%s is being deleted: this assignment keeps its seats and its workloads are still admitted; the deletion completes once it is released", what)
	} else if o.state == licensingv1alpha1.AssignmentStateBound && !p.Usable {
		o.reason = licensingv1alpha1.ReasonLicenseNotUsable
		o.message = notUsableText(p) + "; this assignment keeps its seats, but workloads are not admitted until the licence is usable again"
	}
	if o.state == licensingv1alpha1.AssignmentStateBound && o.seats == 0 && p.model == licensingv1alpha1.SeatModelNamedUser {
		o.message = fmt.Sprintf("shares the seat of user %s held by %s on licence %s", o.boundAssignee.User.Email, holderText(a.Namespace, p.users[userKey(o.boundAssignee)]), p.key)
	}
	return o
}

// rebase is the consumption of a held assignment in the licence's current
// period (rule 7): the baseline is spec.consumption for an assignment that
// was already bound when the period began (recorded once, at its first
// decision in the period), and zero for one bound during the period.
func rebase(a *licensingv1alpha1.LicenseAssignment, periodStart *time.Time) *licensingv1alpha1.AssignmentConsumption {
	reported := int64(0)
	if a.Spec.Consumption != nil {
		reported = *a.Spec.Consumption
	}
	start := metav1.NewTime(periodStart.UTC().Truncate(time.Second))
	c := &licensingv1alpha1.AssignmentConsumption{PeriodStart: &start}
	switch prev := a.Status.Consumption; {
	case prev != nil && prev.PeriodStart != nil && prev.PeriodStart.Time.Equal(start.Time):
		c.Baseline = prev.Baseline
	case a.Status.BoundTime != nil && a.Status.BoundTime.Time.Before(start.Time):
		c.Baseline = reported
	}
	c.Used = max(reported-c.Baseline, 0)
	return c
}

// increase grants, in queue order, the seats a Bound assignment asks for
// beyond those it holds (rule 2).
func increase(a *licensingv1alpha1.LicenseAssignment, o *outcome, nsLabels map[string]string) {
	p := o.holder
	extra := a.Spec.Seats - o.seats
	c := p.eligible(a, nsLabels)
	if c.ok {
		c = p.capacity(a, extra, false)
	}
	if c.ok {
		p.used += c.need
		o.seats += c.need
		o.bound = true
		return
	}
	p.pending += extra
	if c.queue {
		p.queued++
		o.positions = append(o.positions, p.queued)
	}
	if c.block && p.blocked == "" {
		p.blocked = AssignmentKey(a)
	}
	o.message = fmt.Sprintf("holds %d of the %d seats requested; the other %d: %s", o.seats, a.Spec.Seats, extra, c.message)
}

// bind decides an assignment that holds nothing (rules 4–6).
func bind(a *licensingv1alpha1.LicenseAssignment, pool map[string]*poolLicense, byProduct map[string][]*poolLicense, in GrantInput) *outcome {
	nsLabels := in.NamespaceLabels[a.Namespace]
	o := &outcome{state: licensingv1alpha1.AssignmentStatePending, transfers: a.Status.Transfers}
	var candidates []*poolLicense
	if k := AssignmentLicenseKey(a); k != "" {
		candidates = []*poolLicense{pool[k]}
		o.writer = k
	} else {
		prod := a.Spec.ProductRef.Name
		candidates = byProduct[prod]
		o.writer = candidates[0].key
		if p, known := in.Products[prod]; known && productDeleting(p) {
			o.reason = licensingv1alpha1.ReasonLicenseNotUsable
			o.message = fmt.Sprintf("product %s is being deleted and binds no new seats: draw seats of another product", prod)
			return o
		}
		if p, known := in.Products[prod]; known && !NamespaceAllowedByProduct(p, nsLabels) {
			o.reason = licensingv1alpha1.ReasonSharingForbidden
			o.message = fmt.Sprintf("product %s does not allow assignments from namespace %s (spec.allowAssignmentsFrom): label the namespace to match its selector", prod, a.Namespace)
			return o
		}
	}

	type tried struct {
		p *poolLicense
		c check
	}
	var fits, failed []tried
	for _, p := range candidates {
		c := p.eligible(a, nsLabels)
		if c.ok {
			c = p.capacity(a, a.Spec.Seats, true)
		}
		if c.ok {
			fits = append(fits, tried{p, c})
		} else {
			failed = append(failed, tried{p, c})
		}
	}
	if len(fits) > 0 {
		best := fits[0]
		for _, f := range fits[1:] {
			// Fewest new seats first: a named user's second assignment shares
			// the seat the user holds rather than take another licence's.
			if f.c.need < best.c.need || (f.c.need == best.c.need && preferred(f.p, best.p)) {
				best = f
			}
		}
		p, need := best.p, best.c.need
		p.used += need
		p.activations++
		if u := userKey(&a.Spec.Assignee); u != "" && p.model == licensingv1alpha1.SeatModelNamedUser {
			if _, taken := p.users[u]; !taken {
				p.users[u] = AssignmentKey(a)
			}
		}
		o.state, o.license, o.seats, o.holder, o.writer = licensingv1alpha1.AssignmentStateBound, p.key, need, p, p.key
		o.boundAssignee = a.Spec.Assignee.DeepCopy()
		o.bound = true
		o.reason = licensingv1alpha1.ReasonSeatsGranted
		if p.PeriodStart != nil {
			// Bound during the period: everything reported counts in it.
			o.consumption = rebase(a, p.PeriodStart)
			p.consumption += o.consumption.Used
		}
		if need == 0 && p.model == licensingv1alpha1.SeatModelNamedUser {
			o.message = fmt.Sprintf("shares the seat of user %s held by %s on licence %s", a.Spec.Assignee.User.Email, holderText(a.Namespace, p.users[userKey(&a.Spec.Assignee)]), p.key)
		}
		return o
	}

	// It waits: in the queue of every licence it waits for capacity of.
	if a.Spec.LicenseRef != nil {
		candidates[0].pending += a.Spec.Seats
	}
	var checks []check
	for _, f := range failed {
		checks = append(checks, f.c)
		if f.c.queue {
			f.p.queued++
			o.positions = append(o.positions, f.p.queued)
			if a.Spec.LicenseRef == nil {
				f.p.pending += a.Spec.Seats
			}
		}
		if f.c.block && f.p.blocked == "" {
			f.p.blocked = AssignmentKey(a)
		}
	}
	o.reason, o.message = waitReason(a, candidates, checks)
	if a.Spec.LicenseRef != nil && checks[0].rejected {
		o.state = licensingv1alpha1.AssignmentStateRejected
	}
	return o
}

// waitReason words why an assignment waits: the one reason for a licenseRef,
// a summary of every licence considered for a productRef.
func waitReason(a *licensingv1alpha1.LicenseAssignment, candidates []*poolLicense, checks []check) (string, string) {
	if a.Spec.LicenseRef != nil {
		return checks[0].reason, checks[0].message
	}
	// The most actionable reason first: capacity, then usability, then eligibility.
	rank := map[string]int{
		licensingv1alpha1.ReasonWaitingForSeats:         0,
		licensingv1alpha1.ReasonActivationLimit:         1,
		licensingv1alpha1.ReasonConsumptionExhausted:    2,
		licensingv1alpha1.ReasonLicenseNotUsable:        3,
		licensingv1alpha1.ReasonNodeOffline:             3,
		licensingv1alpha1.ReasonNodeNotFound:            3,
		licensingv1alpha1.ReasonAssigneeNotAllowed:      4,
		licensingv1alpha1.ReasonFingerprintMismatch:     4,
		licensingv1alpha1.ReasonVirtualMachineForbidden: 4,
		licensingv1alpha1.ReasonSharingForbidden:        5,
	}
	best := 0
	for i := range checks {
		if rank[checks[i].reason] < rank[checks[best].reason] {
			best = i
		}
	}
	var parts []string
	for _, c := range checks {
		parts = append(parts, c.message)
	}
	msg := fmt.Sprintf("no licence of product %s can take it (%d considered): %s", a.Spec.ProductRef.Name, len(candidates), strings.Join(parts, "; "))
	return checks[best].reason, msg
}

// preferred says whether a is a better home than b for a productRef
// assignment: more free seats (unlimited is most), then the later
// validUntil (none is latest), then namespace/name.
func preferred(a, b *poolLicense) bool {
	fa, fb := a.free(), b.free()
	if fa != fb {
		if fa < 0 || fb < 0 {
			return fa < 0
		}
		return fa > fb
	}
	switch {
	case a.ValidUntil == nil && b.ValidUntil != nil:
		return true
	case a.ValidUntil != nil && b.ValidUntil == nil:
		return false
	case a.ValidUntil != nil && !a.ValidUntil.Equal(*b.ValidUntil):
		return a.ValidUntil.After(*b.ValidUntil)
	}
	return a.key < b.key
}

// status turns an outcome into the complete status of the assignment,
// keeping what did not change (boundTime, condition transition times).
func (o *outcome) status(a *licensingv1alpha1.LicenseAssignment, now metav1.Time) licensingv1alpha1.LicenseAssignmentStatus {
	s := *a.Status.DeepCopy()
	s.ObservedGeneration = a.Generation
	s.State = o.state
	s.Transfers = o.transfers
	cond := metav1.Condition{
		Type:               licensingv1alpha1.ConditionBound,
		ObservedGeneration: a.Generation,
		Reason:             o.reason,
		LastTransitionTime: now,
	}
	switch {
	case o.license != "" && (o.state == licensingv1alpha1.AssignmentStateBound || o.state == licensingv1alpha1.AssignmentStateRejected):
		if s.License != o.license || s.BoundTime == nil || (a.Status.State != licensingv1alpha1.AssignmentStateBound && a.Status.State != licensingv1alpha1.AssignmentStateRejected) {
			s.BoundTime = &now
		}
		s.License = o.license
		s.Seats = o.seats
		s.BoundAssignee = o.boundAssignee
		s.QueuePosition = nil
		s.Consumption = o.consumption
		s.ExpiryTime = nil
		if t := o.holder.GraceUntil; t != nil {
			s.ExpiryTime = ptrMetaTime(*t)
		} else if t := o.holder.ValidUntil; t != nil {
			s.ExpiryTime = ptrMetaTime(*t)
		}
		s.Message = o.message
		cond.Status = metav1.ConditionTrue
		cond.Message = fmt.Sprintf("holds %d %s of licence %s", o.seats, seatWord(o.seats), o.license)
		if o.message != "" {
			cond.Message = o.message
		}
	default:
		s.License, s.Seats, s.BoundTime, s.ExpiryTime, s.BoundAssignee, s.Consumption = "", 0, nil, nil, nil, nil
		// No seats, so no Pods wait for one of them (the licence controller
		// sets waitingPods of Bound assignments from their seat ledgers).
		s.WaitingPods, s.ReservedByWorkloads = 0, 0
		s.QueuePosition = nil
		if len(o.positions) > 0 {
			pos := o.positions[0]
			for _, p := range o.positions[1:] {
				pos = min(pos, p)
			}
			s.QueuePosition = &pos
		}
		s.Message = o.message
		if s.QueuePosition != nil {
			s.Message = fmt.Sprintf("position %d in the queue: %s", *s.QueuePosition, o.message)
		}
		cond.Status = metav1.ConditionFalse
		cond.Message = s.Message
	}
	s.Message = truncate(s.Message, maxMessageLength)
	cond.Message = truncate(cond.Message, maxMessageLength)
	meta.SetStatusCondition(&s.Conditions, cond)
	s.Assignee = AssigneeName(&a.Spec.Assignee)
	setHealth(&s, a.Generation, o.reason, cond.Message, now)
	return s
}

func ptrMetaTime(t time.Time) *metav1.Time {
	m := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &m
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// WaitingStatus is the status of an assignment that holds nothing and waits
// for the reason a message explains, for assignments no licence of a pool
// answers for (their licence or product does not exist).
func WaitingStatus(a *licensingv1alpha1.LicenseAssignment, reason, message string, now time.Time) licensingv1alpha1.LicenseAssignmentStatus {
	o := &outcome{state: licensingv1alpha1.AssignmentStatePending, transfers: a.Status.Transfers, reason: reason, message: message}
	return o.status(a, metav1.NewTime(now.UTC().Truncate(time.Second)))
}
