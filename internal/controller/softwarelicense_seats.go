package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// licensingResource names SoftwareLicenses in the Conflict errors a pass
// returns when it must be retried.
var licensingResource = licensingv1alpha1.GroupVersion.WithResource("softwarelicenses").GroupResource()

// retry is the error of a pass that must start again from a fresher view;
// it is a Conflict, like the write conflicts that also retry a pass.
func retry(lic *licensingv1alpha1.SoftwareLicense, why error) error {
	return apierrors.NewConflict(licensingResource, lic.Name, why)
}

// retryAfterConflict is how long a licence waits before retrying a pass
// that met a Conflict: long enough for the cache to show the write that
// caused it, short enough not to delay the queue behind it.
const retryAfterConflict = 50 * time.Millisecond

// seatResult is the result of a reconcile that ends with err. A Conflict (a
// write based on a stale object, or a pass that must start again from a
// fresher view) is part of the design, not a failure: the licence is retried
// shortly, without an error in the log.
func seatResult(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: retryAfterConflict}, nil
	}
	return ctrl.Result{}, err
}

// The seats of a licence are granted in three steps, one pass each
// reconcile (controller-runtime never reconciles one licence twice at once,
// and only the leader reconciles, so a licence is the only writer of the
// bindings to it):
//
//  1. gatherSeats reads the pool: the licence and, when a product it covers
//     has productRef assignments that hold nothing, every licence of that
//     product (they compete for those assignments); the assignments that
//     hold, reference or may draw from them, read from the cache through
//     field indexes and overlaid with this process's own writes the cache
//     has not shown yet; the namespaces' labels and the Nodes the NodeLocked
//     assignments name.
//  2. decideSeats (called by computeStatus, no I/O) decides with
//     licensing.Grant, the pure rules, and plans the writes.
//  3. applySeats, at the end of Reconcile, before writing any grant: checks
//     once per process that the cache holds everything the API server held
//     (cacheFence), re-reads the licence uncached so a lowered spec.seats or
//     a deletion is never missed, and makes sure the licence carries
//     LicenseFinalizer. Then it writes the statuses this licence answers
//     for, first come first served, each a full status Update guarded by the
//     resourceVersion the decision was made from; the first Conflict aborts
//     the pass, which is retried from a fresh view. Statuses that did not
//     change are not written.
//
// A licence being deleted binds nothing new, and what it does about its
// holders is licensing.LicenseDeletion: while assignments hold its seats it
// keeps them and its finalizer (DeletionWait); once none do, or when its
// namespace is being deleted (the protection yields, DeletionRelease: its
// holders are released, with an event on each), it removes the finalizer.

// seatInputs is what gatherSeats read for the seat decision.
type seatInputs struct {
	// grant is the decision's input. Its first licence is the licence
	// itself, with only what was read (License, Covers, Product, Deleting,
	// Releasing); decideSeats completes it from the status being computed.
	grant licensing.GrantInput
	// views are the assignments as decided from, by key.
	views map[string]*licensingv1alpha1.LicenseAssignment
	// waiting is the number of Pods in the line of each assignment (the
	// length of its seat ledger's spec.waiting), by key; absent is none.
	waiting map[string]int32
	// reserved is the number of seats of each assignment that Kueue
	// Workloads hold (licensing.ReservedSeats of its seat ledger), by key;
	// absent is none.
	reserved map[string]int32
}

// finalizerAction is what a pass does to the licence's LicenseFinalizer.
type finalizerAction int

const (
	finalizerKeep finalizerAction = iota
	// finalizerEnsure: the licence answers for a holder and lacks the
	// finalizer (applySeats checks the API server before adding it).
	finalizerEnsure
	// finalizerRemove: the licence is being deleted and nothing holds its
	// seats any more (or it released them all).
	finalizerRemove
)

// seatPlan is the seat decision of a pass and the writes it needs.
type seatPlan struct {
	writePlan
	// decisions are Grant's, by assignment key; views the assignments as
	// decided from.
	decisions map[string]licensing.AssignmentDecision
	views     map[string]*licensingv1alpha1.LicenseAssignment
	// usage is what the assignments hold of the licence.
	usage licensing.SeatUsage
	// releasing: the licence's deletion protection yields (its namespace is
	// being deleted); each holder it releases gets an event.
	releasing bool
	// finalizer is what happens to LicenseFinalizer; deletion is the
	// deletion action of a licence being deleted.
	finalizer finalizerAction
	deletion  licensing.DeletionAction
	// boundary is the next instant the decision changes with no event to
	// announce it (a node's offline grace period ending), if any.
	boundary *time.Time
	// waitingPods is the number of Pods waiting in line for a seat of the
	// assignments bound to the licence: status.seats.waitingPods.
	waitingPods int32
	// reservedByWorkloads is the number of seats of the assignments bound
	// to the licence that Kueue Workloads hold: status.seats.reservedByWorkloads.
	reservedByWorkloads int32
}

// gatherSeats reads what the seat decision of lic needs (step 1).
func (r *SoftwareLicenseReconciler) gatherSeats(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (seatInputs, error) {
	if err := r.settleUnsureWrites(ctx); err != nil {
		return seatInputs{}, err
	}
	self := licensing.GrantLicense{License: lic, Covers: licenseCovers(lic), Deleting: !lic.DeletionTimestamp.IsZero()}
	if ref := lic.Spec.ProductRef; ref != nil {
		product, err := r.cachedProduct(ctx, ref.Name)
		if err != nil {
			return seatInputs{}, err
		}
		self.Product = product
	}
	if self.Deleting {
		releasing, err := r.namespaceDeleting(ctx, lic.Namespace)
		if err != nil {
			return seatInputs{}, err
		}
		self.Releasing = releasing
	}
	in, views, err := r.gatherPool(ctx, self)
	if err != nil {
		return seatInputs{}, err
	}
	if in.Nodes, err = r.assignmentNodes(ctx, in.Assignments); err != nil {
		return seatInputs{}, err
	}
	waiting, reserved, err := r.gatherLines(ctx, in.Assignments)
	if err != nil {
		return seatInputs{}, err
	}
	return seatInputs{grant: in, views: views, waiting: waiting, reserved: reserved}, nil
}

// gatherLines reads, from the cache, how many Pods wait in the line of
// each assignment (the length of spec.waiting of its seat ledger, found
// through IndexLedgerAssignment) and how many of its seats Kueue Workloads
// hold (its spec.reservations). Assignments with no ledger, an empty line or
// no reservation are absent from the maps.
func (r *SoftwareLicenseReconciler) gatherLines(ctx context.Context, assignments []*licensingv1alpha1.LicenseAssignment) (waiting, reserved map[string]int32, err error) {
	for _, a := range assignments {
		var list licensingv1alpha1.SeatLedgerList
		// Only the lengths are read: no deep copies of lines of up to 10000 Pods.
		if err := r.List(ctx, &list, client.InNamespace(a.Namespace),
			client.MatchingFields{IndexLedgerAssignment: a.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, nil, fmt.Errorf("listing the seat ledger of assignment %s: %w", klog.KObj(a), err)
		}
		n, held := 0, 0
		for i := range list.Items {
			n += len(list.Items[i].Spec.Waiting)
			held += licensing.ReservedSeats(&list.Items[i].Spec)
		}
		if n > 0 {
			if waiting == nil {
				waiting = map[string]int32{}
			}
			waiting[licensing.AssignmentKey(a)] = int32(n)
		}
		if held > 0 {
			if reserved == nil {
				reserved = map[string]int32{}
			}
			reserved[licensing.AssignmentKey(a)] = int32(held)
		}
	}
	return waiting, reserved, nil
}

// assignmentNodes reads, from the cache, the Nodes the assignments name
// (spec.assignee.node and status.boundAssignee.node); a node that does not
// exist is absent from the map.
func (r *SoftwareLicenseReconciler) assignmentNodes(ctx context.Context, assignments []*licensingv1alpha1.LicenseAssignment) (map[string]*corev1.Node, error) {
	var nodes map[string]*corev1.Node
	for _, a := range assignments {
		for _, as := range []*licensingv1alpha1.Assignee{&a.Spec.Assignee, a.Status.BoundAssignee} {
			if as == nil || as.Node == nil {
				continue
			}
			name := as.Node.Name
			if _, done := nodes[name]; done {
				continue
			}
			if nodes == nil {
				nodes = map[string]*corev1.Node{}
			}
			var node corev1.Node
			switch err := r.Get(ctx, types.NamespacedName{Name: name}, &node); {
			case apierrors.IsNotFound(err):
				nodes[name] = nil
			case err != nil:
				return nil, fmt.Errorf("reading node %s: %w", name, err)
			default:
				nodes[name] = &node
			}
		}
	}
	for name, node := range nodes {
		if node == nil {
			delete(nodes, name)
		}
	}
	return nodes, nil
}

// decideSeats decides the seats of lic (step 2), with no I/O: eff is its
// effective policy, usable whether it may bind new seats now (its Ready
// condition).
func decideSeats(lic *licensingv1alpha1.SoftwareLicense, in seatInputs, eff *licensingv1alpha1.EffectivePolicy,
	usable bool, now time.Time) (seatPlan, error) {
	key := LicenseKey(lic.Namespace, lic.Name)
	grant := in.grant
	grant.Licenses = slices.Clone(grant.Licenses)
	self, err := completeSelf(grant.Licenses[0], eff, usable, now)
	if err != nil {
		return seatPlan{}, err
	}
	grant.Licenses[0] = self
	grant.Now = now
	res := licensing.Grant(grant)
	waitingPods, reserved := setLines(key, res.Assignments, in.waiting, in.reserved)

	p := seatPlan{
		writePlan:   planWrites(key, res, in.views),
		decisions:   res.Assignments,
		views:       in.views,
		usage:       res.Usage[key],
		releasing:   self.Releasing,
		waitingPods: waitingPods,

		reservedByWorkloads: reserved,
	}
	if t, ok := res.Boundaries[key]; ok {
		p.boundary = &t
	}
	has := controllerutil.ContainsFinalizer(lic, licensingv1alpha1.LicenseFinalizer)
	switch {
	case self.Deleting:
		p.deletion = licensing.LicenseDeletion(len(p.holders), self.Releasing)
		if p.deletion != licensing.DeletionWait && has {
			p.finalizer = finalizerRemove
		}
	case p.holds && !has:
		p.finalizer = finalizerEnsure
	}
	return p, nil
}

// setLines sets status.waitingPods and status.reservedByWorkloads of every
// decided assignment: the Pods in its line and the seats Kueue Workloads
// hold while it is Bound, else 0 (an assignment that is not Bound has no
// seats to wait for or to hold). It returns the sums over the assignments
// Bound to the licence key, its status.seats.waitingPods and
// status.seats.reservedByWorkloads.
func setLines(key string, decisions map[string]licensing.AssignmentDecision, waiting, reserved map[string]int32) (waitingSum, reservedSum int32) {
	for k, d := range decisions {
		d.Status.WaitingPods, d.Status.ReservedByWorkloads = 0, 0
		if d.Status.State == licensingv1alpha1.AssignmentStateBound {
			d.Status.WaitingPods, d.Status.ReservedByWorkloads = waiting[k], reserved[k]
			if d.Status.License == key {
				waitingSum += waiting[k]
				reservedSum += reserved[k]
			}
		}
		decisions[k] = d
	}
	return waitingSum, reservedSum
}

// applySeats makes the writes a seat plan needs (step 3) and reports
// whether the licence is gone (its finalizer removed).
func (r *SoftwareLicenseReconciler) applySeats(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, p *seatPlan) (bool, error) {
	log := ctrl.LoggerFrom(ctx)
	key := LicenseKey(lic.Namespace, lic.Name)
	var fresh *licensingv1alpha1.SoftwareLicense
	if p.grants {
		if err := r.seats.fence.check(ctx, r.APIReader, r.Client); err != nil {
			return false, retry(lic, err)
		}
		var err error
		if fresh, err = r.guardLicense(ctx, lic); err != nil {
			return false, err
		}
	}
	if p.finalizer == finalizerEnsure {
		if err := r.ensureFinalizer(ctx, lic, fresh); err != nil {
			return false, err
		}
	}
	for _, k := range p.writes {
		a, d := p.views[k], p.decisions[k]
		if err := r.writeAssignmentStatus(ctx, a, d.Status); err != nil {
			if apierrors.IsNotFound(err) {
				continue // deleted meanwhile: its seats are free, the next pass sees it gone
			}
			return false, fmt.Errorf("writing the status of assignment %s: %w", k, err)
		}
		log.V(1).Info("Updated assignment status", "assignment", klog.KObj(a), "state", d.Status.State,
			"license", d.Status.License, "queuePosition", d.Status.QueuePosition)
		r.recordAssignmentTransition(a, &a.Status, &d.Status)
		if p.releasing && a.Status.License == key && licensing.HoldsSeats(a) && d.Status.License == "" {
			r.announceRelease(a, key)
		}
	}
	gone := false
	if p.finalizer == finalizerRemove {
		var err error
		if gone, err = r.releaseDeleted(ctx, lic, p.deletion); err != nil {
			return false, err
		}
	}
	for k := range p.kicks {
		r.kick(ctx, k)
	}
	return gone, nil
}

// writePlan is what one pass writes and learns from a decision.
type writePlan struct {
	// writes are the assignments whose status this licence writes, in queue order.
	writes []string
	// holders hold seats of this licence after the decision.
	holders []licensing.SeatHolder
	// grants: a write grants seats; holds: this licence answers for a holder.
	grants, holds bool
	// kicks are the licences that must write a status this pass decided.
	kicks map[string]bool
}

// planWrites sorts the decision of licence key: what it writes, what others must.
func planWrites(key string, res licensing.GrantResult, views map[string]*licensingv1alpha1.LicenseAssignment) writePlan {
	p := writePlan{kicks: map[string]bool{}}
	for _, k := range res.Order {
		d := res.Assignments[k]
		// Rejected holds seats only on a licence (a refused transfer); a
		// node the licence refuses holds nothing.
		holding := (d.Status.State == licensingv1alpha1.AssignmentStateBound || d.Status.State == licensingv1alpha1.AssignmentStateRejected) &&
			d.Status.License != ""
		if holding && d.Status.License == key {
			p.holders = append(p.holders, licensing.SeatHolder{Namespace: views[k].Namespace, Name: views[k].Name, License: key})
		}
		p.holds = p.holds || (holding && d.Writer == key)
		if equality.Semantic.DeepEqual(views[k].Status, d.Status) {
			continue
		}
		if d.Writer != key {
			p.kicks[d.Writer] = true
			continue
		}
		p.writes = append(p.writes, k)
		p.grants = p.grants || d.Bound
	}
	return p
}

// announceRelease tells the holder a licence deleted with its namespace
// released its seats.
func (r *SoftwareLicenseReconciler) announceRelease(a *licensingv1alpha1.LicenseAssignment, key string) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(a, nil, corev1.EventTypeWarning, EventLicenseReleased, actionSeats, "%s",
		fmt.Sprintf("Licence %s was deleted with its namespace: this assignment's seats are released", key))
}

// releaseDeleted removes the finalizer of a licence being deleted unless the
// deletion waits for its holders, and reports whether it did.
func (r *SoftwareLicenseReconciler) releaseDeleted(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense, action licensing.DeletionAction) (bool, error) {
	if action == licensing.DeletionWait || !controllerutil.ContainsFinalizer(lic, licensingv1alpha1.LicenseFinalizer) {
		return false, nil
	}
	// Nothing holds seats of the licence any more (or it released them all);
	// make sure the cache has seen every binding before letting it go.
	if err := r.seats.fence.check(ctx, r.APIReader, r.Client); err != nil {
		return false, retry(lic, err)
	}
	controllerutil.RemoveFinalizer(lic, licensingv1alpha1.LicenseFinalizer)
	r.seats.licences.forget(client.ObjectKeyFromObject(lic))
	if err := r.Update(ctx, lic); err != nil {
		return false, client.IgnoreNotFound(fmt.Errorf("removing the seats-protection finalizer: %w", err))
	}
	ctrl.LoggerFrom(ctx).Info("Removed the seats-protection finalizer of a deleted licence", "license", klog.KObj(lic), "action", action)
	return true, nil
}

// namespaceDeleting says whether the namespace is being deleted (or is
// gone), from the cache.
func (r *SoftwareLicenseReconciler) namespaceDeleting(ctx context.Context, name string) (bool, error) {
	var ns corev1.Namespace
	switch err := r.Get(ctx, types.NamespacedName{Name: name}, &ns); {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading namespace %s: %w", name, err)
	}
	return !ns.DeletionTimestamp.IsZero(), nil
}

// guardLicense re-reads the licence from the API server and fails the pass
// when its spec (seats, sharing, users, policy) or its deletion changed
// since the cached copy the decision was made from. It returns the licence
// as read (nil without an APIReader).
func (r *SoftwareLicenseReconciler) guardLicense(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (*licensingv1alpha1.SoftwareLicense, error) {
	if r.APIReader == nil {
		return nil, nil
	}
	var fresh licensingv1alpha1.SoftwareLicense
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(lic), &fresh); err != nil {
		return nil, fmt.Errorf("re-reading the licence before granting: %w", err)
	}
	if fresh.Generation != lic.Generation || fresh.UID != lic.UID || !fresh.DeletionTimestamp.Equal(lic.DeletionTimestamp) {
		return nil, retry(lic, fmt.Errorf("the licence changed since the cached copy (generation %d, cached %d)", fresh.Generation, lic.Generation))
	}
	return &fresh, nil
}

// ensureFinalizer adds LicenseFinalizer to a licence that holds seats,
// before its first grant: a licence deleted from then on waits for its
// assignments to be released. fresh is the licence as just read from the
// API server, if it was; a cached copy without the finalizer is checked
// against the API server first, so that a cache that has not seen the
// finalizer yet costs a read, not a failed write. The Update is guarded by
// the licence's resourceVersion: a stale licence fails with Conflict.
func (r *SoftwareLicenseReconciler) ensureFinalizer(ctx context.Context, lic, fresh *licensingv1alpha1.SoftwareLicense) error {
	if controllerutil.ContainsFinalizer(lic, licensingv1alpha1.LicenseFinalizer) {
		return nil
	}
	if fresh == nil && r.APIReader != nil {
		fresh = &licensingv1alpha1.SoftwareLicense{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(lic), fresh); err != nil {
			return fmt.Errorf("re-reading the licence: %w", err)
		}
	}
	if fresh != nil && controllerutil.ContainsFinalizer(fresh, licensingv1alpha1.LicenseFinalizer) {
		return nil
	}
	before := lic.ResourceVersion
	controllerutil.AddFinalizer(lic, licensingv1alpha1.LicenseFinalizer)
	if err := r.Update(ctx, lic); err != nil {
		return fmt.Errorf("adding the seats-protection finalizer: %w", err)
	}
	r.seats.licences.record(before, lic, false)
	return nil
}

// completeSelf completes the licence being reconciled as the decision sees
// it, computed from its spec now (not from its status, which this pass
// rewrites): gl holds what gatherSeats read.
func completeSelf(gl licensing.GrantLicense, eff *licensingv1alpha1.EffectivePolicy, usable bool, now time.Time) (licensing.GrantLicense, error) {
	lic := gl.License
	gl.Policy = eff
	if eff != nil {
		life, err := licensing.ComputeLifecycle(lic, &eff.PolicySettings, now)
		if err != nil {
			return gl, err
		}
		admin := lic.Spec.State
		if admin == "" {
			admin = licensingv1alpha1.AdminStateActive
		}
		gl.State = life.State(admin, now)
		gl.ValidUntil, gl.GraceUntil = life.ValidUntil, life.GraceUntil
		if eff.Type != nil && *eff.Type == licensingv1alpha1.LicenseTypeConsumption {
			gl.PeriodStart = life.PeriodStart
		}
	}
	gl.Usable = usable && !gl.Deleting
	if !usable && eff != nil && licensing.Usable(gl.State) {
		// Usable by its dates but not Ready: a policy, product or key problem.
		if c := meta.FindStatusCondition(lic.Status.Conditions, licensingv1alpha1.ConditionReady); c != nil && c.Status != metav1.ConditionTrue {
			gl.State = licensingv1alpha1.LicenseState(fmt.Sprintf("not ready (%s)", c.Reason))
		} else {
			gl.State = "not ready"
		}
	}
	return gl, nil
}

// peerGrantLicense is another licence of the pool as the decision sees it:
// from the status its own reconcile wrote.
func (r *SoftwareLicenseReconciler) peerGrantLicense(ctx context.Context, lic *licensingv1alpha1.SoftwareLicense) (licensing.GrantLicense, error) {
	st := &lic.Status
	gl := licensing.GrantLicense{
		License:  lic,
		Policy:   st.EffectivePolicy,
		Covers:   licenseCovers(lic),
		State:    st.State,
		Deleting: !lic.DeletionTimestamp.IsZero(),
	}
	gl.Usable = !gl.Deleting && meta.IsStatusConditionTrue(st.Conditions, licensingv1alpha1.ConditionReady) && licensing.Usable(st.State)
	if gl.Deleting {
		releasing, err := r.namespaceDeleting(ctx, lic.Namespace)
		if err != nil {
			return gl, err
		}
		gl.Releasing = releasing
	}
	if st.ValidUntil != nil {
		gl.ValidUntil = &st.ValidUntil.Time
	}
	if st.GraceUntil != nil {
		gl.GraceUntil = &st.GraceUntil.Time
	}
	if st.Consumption != nil && st.Consumption.PeriodStart != nil {
		gl.PeriodStart = &st.Consumption.PeriodStart.Time
	}
	if ref := lic.Spec.ProductRef; ref != nil {
		product, err := r.cachedProduct(ctx, ref.Name)
		if err != nil {
			return gl, err
		}
		gl.Product = product
	}
	return gl, nil
}

func (r *SoftwareLicenseReconciler) cachedProduct(ctx context.Context, name string) (*licensingv1alpha1.LicenseProduct, error) {
	var p licensingv1alpha1.LicenseProduct
	switch err := r.Get(ctx, types.NamespacedName{Name: name}, &p); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading product %s: %w", name, err)
	}
	return &p, nil
}

// licenseCovers are the products a seat of the licence is a seat of:
// status.product.covers and spec.productRef.
func licenseCovers(lic *licensingv1alpha1.SoftwareLicense) []string {
	var covers []string
	if lic.Status.Product != nil {
		covers = append(covers, lic.Status.Product.Covers...)
	}
	if ref := lic.Spec.ProductRef; ref != nil && !slices.Contains(covers, ref.Name) {
		covers = append(covers, ref.Name)
	}
	return covers
}

// gatherPool reads the pool of a licence and its assignments (see
// gatherSeats). It returns the decision's input and the assignments
// as decided from, by key.
func (r *SoftwareLicenseReconciler) gatherPool(ctx context.Context, self licensing.GrantLicense) (licensing.GrantInput, map[string]*licensingv1alpha1.LicenseAssignment, error) {
	in := licensing.GrantInput{Licenses: []licensing.GrantLicense{self}, Products: map[string]*licensingv1alpha1.LicenseProduct{}}
	views := map[string]*licensingv1alpha1.LicenseAssignment{}
	add := func(items []licensingv1alpha1.LicenseAssignment) {
		for i := range items {
			a := r.seats.assumed.view(&items[i])
			k := licensing.AssignmentKey(a)
			if _, seen := views[k]; !seen {
				views[k] = a
				in.Assignments = append(in.Assignments, a)
			}
		}
	}
	// The decision only reads the assignments, and a write copies the one it
	// writes (writeAssignmentStatus): no deep copies of the cache.
	list := func(field, value string) ([]licensingv1alpha1.LicenseAssignment, error) {
		var l licensingv1alpha1.LicenseAssignmentList
		if err := r.List(ctx, &l, client.MatchingFields{field: value}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing assignments by %s=%s: %w", field, value, err)
		}
		return l.Items, nil
	}

	poolKeys := map[string]bool{self.Key(): true}
	for _, product := range self.Covers {
		items, err := list(IndexAssignmentProduct, product)
		if err != nil {
			return in, nil, err
		}
		if len(items) == 0 {
			continue
		}
		add(items)
		p, err := r.cachedProduct(ctx, product)
		if err != nil {
			return in, nil, err
		}
		if p != nil {
			in.Products[product] = p
		}
		waiting := false
		for i := range items {
			if a := r.seats.assumed.view(&items[i]); a.Status.License == "" {
				waiting = true
				break
			}
		}
		if !waiting {
			continue
		}
		var peers licensingv1alpha1.SoftwareLicenseList
		if err := r.List(ctx, &peers, client.MatchingFields{IndexLicenseCovers: product}, client.UnsafeDisableDeepCopy); err != nil {
			return in, nil, fmt.Errorf("listing the licences of product %s: %w", product, err)
		}
		for i := range peers.Items {
			peer := &peers.Items[i]
			k := LicenseKey(peer.Namespace, peer.Name)
			if poolKeys[k] {
				continue
			}
			gl, err := r.peerGrantLicense(ctx, peer)
			if err != nil {
				return in, nil, err
			}
			poolKeys[k] = true
			in.Licenses = append(in.Licenses, gl)
		}
	}
	for k := range poolKeys {
		for _, field := range []string{IndexAssignmentLicenseRef, IndexAssignmentLicense} {
			items, err := list(field, k)
			if err != nil {
				return in, nil, err
			}
			add(items)
		}
	}

	labels, err := r.namespaceLabels(ctx, in)
	if err != nil {
		return in, nil, err
	}
	in.NamespaceLabels = labels
	return in, views, nil
}

// namespaceLabels reads the labels of the assignments' namespaces, only
// when a sharing or allowAssignmentsFrom selector of the pool needs them.
func (r *SoftwareLicenseReconciler) namespaceLabels(ctx context.Context, in licensing.GrantInput) (map[string]map[string]string, error) {
	needed := false
	for _, l := range in.Licenses {
		if s := l.License.Spec.Sharing; s != nil && s.From == licensingv1alpha1.NamespacesFromSelector {
			needed = true
		}
		if l.Product != nil && l.Product.Spec.AllowAssignmentsFrom != nil && l.Product.Spec.AllowAssignmentsFrom.From == licensingv1alpha1.AssignmentsFromSelector {
			needed = true
		}
	}
	for _, p := range in.Products {
		if p.Spec.AllowAssignmentsFrom != nil && p.Spec.AllowAssignmentsFrom.From == licensingv1alpha1.AssignmentsFromSelector {
			needed = true
		}
	}
	if !needed {
		return nil, nil
	}
	out := map[string]map[string]string{}
	for _, a := range in.Assignments {
		if _, done := out[a.Namespace]; done {
			continue
		}
		var ns corev1.Namespace
		switch err := r.Get(ctx, types.NamespacedName{Name: a.Namespace}, &ns); {
		case apierrors.IsNotFound(err):
			out[a.Namespace] = nil
		case err != nil:
			return nil, fmt.Errorf("reading namespace %s: %w", a.Namespace, err)
		default:
			out[a.Namespace] = ns.Labels
		}
	}
	return out, nil
}

// watchSeats adds the watches seat accounting needs to the SoftwareLicense
// controller, besides the licenseRef and status.license mapping of
// licensesForAssignment:
//   - productRef assignments, mapped through IndexLicenseCovers to every
//     licence of the product (or, when there is none, to orphanRequest);
//   - assignment spec changes (an assignee transfer, a deletion), which
//     change what the licence decides;
//   - namespace label changes, mapped to the licences shared by selector and
//     the licences of products that allow assignments by selector;
//   - the start of a namespace's deletion, mapped to its licences: the
//     deletion protection of those already Terminating yields;
//   - Nodes, mapped through IndexAssignmentNode to the licences of the
//     assignments that name them, when they are created or deleted or what
//     the NodeLocked rules read of them changes (readiness, machine
//     identities, the virtual-machine label);
//   - seat ledgers, mapped through their spec.assignment to the licence the
//     assignment is bound to, when the number of Pods in their line or of
//     seats reserved by Kueue Workloads changes (ledgerWaitingChanged):
//     status.waitingPods and status.reservedByWorkloads follow it;
//   - the kicks of passes that decided a status another licence writes.
func (r *SoftwareLicenseReconciler) watchSeats(b *builder.Builder) *builder.Builder {
	r.seats.kicks = make(chan event.GenericEvent, 1024)
	return b.
		Watches(&licensingv1alpha1.LicenseAssignment{}, handler.EnqueueRequestsFromMapFunc(r.licensesForAssignmentSeats),
			builder.WithPredicates(assignmentDecisionChanged)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.licensesForNamespace),
			builder.WithPredicates(namespaceLabelsChanged)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.licensesInNamespace),
			builder.WithPredicates(namespaceDeletionStarted)).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.licensesForNode),
			builder.WithPredicates(nodeLockChanged)).
		Watches(&licensingv1alpha1.SeatLedger{}, handler.EnqueueRequestsFromMapFunc(r.licenseForLedger),
			builder.WithPredicates(ledgerWaitingChanged)).
		WatchesRawSource(source.Channel(r.seats.kicks, &handler.EnqueueRequestForObject{}))
}

// licensesForNode maps a Node to the licences of the assignments that name
// it (IndexAssignmentNode): those its NodeLocked seats are of or wait for.
func (r *SoftwareLicenseReconciler) licensesForNode(ctx context.Context, obj client.Object) []reconcile.Request {
	var list licensingv1alpha1.LicenseAssignmentList
	if err := r.List(ctx, &list, client.MatchingFields{IndexAssignmentNode: obj.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the assignments of a node", "node", obj.GetName())
		return nil
	}
	var reqs []reconcile.Request
	seen := map[reconcile.Request]bool{}
	for i := range list.Items {
		for _, req := range r.licensesForAssignmentSeats(ctx, &list.Items[i]) {
			if !seen[req] {
				seen[req] = true
				reqs = append(reqs, req)
			}
		}
	}
	return reqs
}

// licenseForLedger maps an assignment's seat ledger to the licence the
// assignment is bound to (status.license, read from the cache). A use
// ledger (spec.license) maps to nothing here: the licence owns it.
func (r *SoftwareLicenseReconciler) licenseForLedger(ctx context.Context, obj client.Object) []reconcile.Request {
	l, ok := obj.(*licensingv1alpha1.SeatLedger)
	if !ok || l.Spec.Assignment == "" {
		return nil
	}
	var a licensingv1alpha1.LicenseAssignment
	if err := r.Get(ctx, types.NamespacedName{Namespace: l.Namespace, Name: l.Spec.Assignment}, &a); err != nil {
		if !apierrors.IsNotFound(err) {
			ctrl.LoggerFrom(ctx).Error(err, "Reading the assignment of a seat ledger", "ledger", klog.KObj(l))
		}
		return nil
	}
	ns, name, found := cutKey(a.Status.License)
	if !found {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

// ledgerWaitingChanged passes the creation and deletion of seat ledgers and
// the updates that change how many Pods wait in their line or how many seats
// Kueue Workloads hold, not those that only move seats between Pods or
// reorder the line.
var ledgerWaitingChanged = predicate.Funcs{
	GenericFunc: func(event.GenericEvent) bool { return false },
	// A seat object of a Pod's seat changes neither; one of a reservation does.
	CreateFunc: func(e event.CreateEvent) bool { return !podSeatObject(e.Object) },
	DeleteFunc: func(e event.DeleteEvent) bool { return !podSeatObject(e.Object) },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*licensingv1alpha1.SeatLedger)
		n, ok2 := e.ObjectNew.(*licensingv1alpha1.SeatLedger)
		return !ok1 || !ok2 || len(o.Spec.Waiting) != len(n.Spec.Waiting) ||
			licensing.ReservedSeats(&o.Spec) != licensing.ReservedSeats(&n.Spec)
	},
}

// podSeatObject says whether obj is the seat object of a Pod's seat (no reservation).
func podSeatObject(obj client.Object) bool {
	l, ok := obj.(*licensingv1alpha1.SeatLedger)
	if !ok {
		return false
	}
	_, seat := licensing.SeatIndex(l)
	return seat && len(l.Spec.Reservations) == 0
}

// nodeLockChanged passes the creation and deletion of Nodes and the changes
// the NodeLocked rules read (licensing.NodeLockChanged), not heartbeats.
var nodeLockChanged = predicate.Funcs{
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Node)
		n, ok2 := e.ObjectNew.(*corev1.Node)
		return !ok1 || !ok2 || licensing.NodeLockChanged(o, n)
	},
}

// licensesForAssignmentSeats maps an assignment to the licence its
// licenseRef names, the licence it is bound to and, for a productRef, every
// licence of the product (orphanRequest when there is none).
func (r *SoftwareLicenseReconciler) licensesForAssignmentSeats(ctx context.Context, obj client.Object) []reconcile.Request {
	a, ok := obj.(*licensingv1alpha1.LicenseAssignment)
	if !ok {
		return nil
	}
	reqs := licensesForAssignment(ctx, a)
	if a.Spec.ProductRef == nil {
		return reqs
	}
	var list licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &list, client.MatchingFields{IndexLicenseCovers: a.Spec.ProductRef.Name}, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the licences of a product", "product", a.Spec.ProductRef.Name)
		return reqs
	}
	if len(list.Items) == 0 {
		return append(reqs, orphanRequest(a.Spec.ProductRef.Name))
	}
	return append(reqs, licenseRequests(list.Items)...)
}

// licensesForNamespace maps a namespace to the licences whose decision
// depends on its labels.
func (r *SoftwareLicenseReconciler) licensesForNamespace(ctx context.Context, _ client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	var shared licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &shared, client.MatchingFields{IndexLicenseSharing: string(licensingv1alpha1.NamespacesFromSelector)}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the licences shared by selector")
		return nil
	}
	reqs = append(reqs, licenseRequests(shared.Items)...)
	var products licensingv1alpha1.LicenseProductList
	if err := r.List(ctx, &products); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the products")
		return reqs
	}
	for i := range products.Items {
		p := &products.Items[i]
		if p.Spec.AllowAssignmentsFrom == nil || p.Spec.AllowAssignmentsFrom.From != licensingv1alpha1.AssignmentsFromSelector {
			continue
		}
		var list licensingv1alpha1.SoftwareLicenseList
		if err := r.List(ctx, &list, client.MatchingFields{IndexLicenseCovers: p.Name}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the licences of a product", "product", p.Name)
			continue
		}
		reqs = append(reqs, licenseRequests(list.Items)...)
	}
	return reqs
}

// assignmentDecisionChanged passes what may change a seat decision beyond
// what assignmentSeatsChanged passes: creations, deletions, spec changes
// (generation) and the start of a deletion.
var assignmentDecisionChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
			!e.ObjectOld.GetDeletionTimestamp().Equal(e.ObjectNew.GetDeletionTimestamp()) ||
			assignmentSeatsChanged.Update(e)
	},
}

// licensesInNamespace maps a namespace to its licences being deleted.
func (r *SoftwareLicenseReconciler) licensesInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var list licensingv1alpha1.SoftwareLicenseList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the licences of a namespace", "namespace", obj.GetName())
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if !list.Items[i].DeletionTimestamp.IsZero() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// namespaceDeletionStarted passes the update that sets a namespace's deletionTimestamp.
var namespaceDeletionStarted = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetDeletionTimestamp() == nil && e.ObjectNew.GetDeletionTimestamp() != nil
	},
}

// namespaceLabelsChanged passes label changes of namespaces only.
var namespaceLabelsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
}
