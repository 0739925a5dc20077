// Package workload is the admission webhook for workloads that need a licence
// seat: Pods, and the pod templates of Deployments, StatefulSets, DaemonSets,
// ReplicaSets, Jobs and CronJobs. The decisions are pure functions in
// internal/licensing; this package fetches the objects and asks the seat
// and use ledgers of internal/seats for a seat, a place in line or a use.
package workload

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
	"github.com/license-operator/license-operator/internal/seats"
)

const (
	// PodUpdatePath serves the updates of running Pods that change what they run.
	PodUpdatePath = "/validate-licensed-pod"
	// WorkloadPath serves Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
	WorkloadPath = "/validate-licensed-workload"

	// CoversIndex indexes SoftwareLicenses by status.product.covers.
	CoversIndex = "admission.status.product.covers"
)

// Handler decides admission of workloads.
type Handler struct {
	// Client reads products, licences, assignments and namespaces (a cache is fine:
	// they are decisions of the controllers, not counters).
	Client client.Reader
	Ledger *seats.Ledger
	// Uses keeps the uses of consumption licences and counted features;
	// nil counts none.
	Uses     *seats.UseLedger
	Decoder  admission.Decoder
	Recorder events.EventRecorder
	// Identity tells people from the trusted workload controllers: the
	// user of a workload is the requester the API server vouches for
	// (licensing.Identity.UserOf), never the annotation alone.
	Identity licensing.Identity
	// Kueue links the Pods of Kueue Workloads to the seats the
	// AdmissionCheck reserved for them (internal/kueue); nil without it.
	Kueue KueuePods
}

// KueuePods is what the admission of a Pod asks of the Kueue integration
// (internal/kueue.Integration): both answer nothing while it is not active.
type KueuePods interface {
	// RideOf is the reservation of the Kueue Workload whose Pod this is,
	// found from objects the operator trusts (nil when none).
	RideOf(ctx context.Context, pod *corev1.Pod) (*seats.Ride, error)
	// LeftToKueue says whether a plain Pod that Kueue gates waits for the
	// AdmissionCheck to reserve its seat: it takes none at its CREATE.
	LeftToKueue(ctx context.Context, pod *corev1.Pod) (bool, error)
}

// NewHandler returns a handler reading through c and keeping ledgers through ledger.
func NewHandler(c client.Reader, scheme *runtime.Scheme, ledger *seats.Ledger, recorder events.EventRecorder) *Handler {
	return &Handler{Client: c, Ledger: ledger, Decoder: admission.NewDecoder(scheme), Recorder: recorder, Identity: licensing.DefaultIdentity()}
}

var _ admission.Handler = &Handler{}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	log := ctrl.LoggerFrom(ctx).WithValues("kind", req.Kind.Kind, "object", klog.KRef(req.Namespace, req.Name), "operation", req.Operation)
	ctx = ctrl.LoggerInto(ctx, log)
	var (
		w, before *licensing.Workload
		unchanged bool
		err       error
	)
	if req.Kind.Kind == kindPod && req.Operation == admissionv1.Update {
		w, before, err = h.podUpdate(req)
	} else {
		w, unchanged, err = h.workload(req)
	}
	if err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if w == nil {
		return admission.Allowed("")
	}
	dryRun := ptr.Deref(req.DryRun, false)
	d, err := h.decide(ctx, w, before, podRef(req, w), dryRun)
	if err != nil {
		log.Error(err, "Admission decision failed")
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if !d.Allowed && unchanged {
		// An update that leaves the pod template alone (scaling, labels) is never
		// refused: refusing it would stop an administrator scaling down.
		d.Warnings = append(d.Warnings, d.Message)
		d.Allowed = true
		d.Outcomes = nil // neither a refusal nor a new admission
	}
	recordOutcomes(d, req.Kind.Kind, dryRun)
	if !d.Allowed {
		log.V(2).Info("Denied workload", "reason", d.Message)
		return admission.Denied(d.Message).WithWarnings(d.Warnings...)
	}
	return admission.Allowed("").WithWarnings(d.Warnings...)
}

// kindPod is the kind of the requests and workloads that are Pods.
const kindPod = "Pod"

// podUpdate is the workload of an update of a running Pod (its spec, or its
// ephemeral containers) and the workload it was before: the update is
// decided for the products it needs now and did not need before (changing
// an image to a licensed one, or adding a licensed ephemeral container,
// needs a seat like a new Pod); what it needed before was decided when it
// was created.
func (h *Handler) podUpdate(req admission.Request) (w, before *licensing.Workload, err error) {
	pod, old := &corev1.Pod{}, &corev1.Pod{}
	if err := h.Decoder.Decode(req, pod); err != nil {
		return nil, nil, err
	}
	if err := h.Decoder.DecodeRaw(req.OldObject, old); err != nil {
		return nil, nil, err
	}
	now := licensing.WorkloadFromPodSpec(kindPod, pod.Name, req.Namespace, pod.ObjectMeta, &pod.Spec, nil)
	was := licensing.WorkloadFromPodSpec(kindPod, old.Name, req.Namespace, old.ObjectMeta, &old.Spec, nil)
	now.User, _ = h.Identity.UserOf(req.UserInfo.Username, licensing.PodAsTemplate(old), licensing.PodAsTemplate(pod))
	return &now, &was, nil
}

// Decision is the outcome of Decide.
type Decision struct {
	Allowed  bool
	Message  string
	Warnings []string
	// PreventVM is true when a licence the Pod is admitted under has
	// preventVM: the Pod gets a node affinity that keeps it off
	// virtual-machine nodes (licensing.WithoutVMNodes).
	PreventVM bool
	// Gated is true when the Pod waits in line for a seat: it is admitted
	// with the scheduling gate licensingv1alpha1.SeatGate.
	Gated bool
	// UseGated is true when the Pod waits in the line of a licence's uses
	// for its next consumption period: it is admitted with the scheduling
	// gate licensingv1alpha1.UseGate.
	UseGated bool
	// Licensed is true when the Pod needs a product: it is labelled
	// licensingv1alpha1.LicensedLabel.
	Licensed bool
	// Outcomes are the result for each product decided (for a refusal, the
	// product refused), counted by recordOutcomes.
	Outcomes []Outcome
}

func podRef(req admission.Request, w *licensing.Workload) seats.PodRef {
	ref := seats.PodRef{Namespace: w.Namespace, Name: w.Name}
	if req.Kind.Kind == kindPod {
		meta := &metav1.PartialObjectMetadata{}
		if err := jsonUnmarshal(req.Object.Raw, meta); err == nil {
			ref.UID = meta.UID
		}
	}
	return ref
}

// Decide admits or refuses the workload; for a Pod it takes Concurrent seats
// from ledgers and uses of consumption licences (unless dryRun).
func (h *Handler) Decide(ctx context.Context, w *licensing.Workload, pod seats.PodRef, dryRun bool) (Decision, error) {
	return h.decide(ctx, w, nil, pod, dryRun)
}

// pass is one decision in progress: what it read, and the seats and
// uses it took, to give back if the workload is refused after all.
type pass struct {
	h      *Handler
	w      *licensing.Workload
	pod    seats.PodRef
	dryRun bool

	products    []licensingv1alpha1.LicenseProduct
	assignments []licensingv1alpha1.LicenseAssignment
	nsLabels    map[string]string

	d     Decision
	seats []*licensingv1alpha1.LicenseAssignment
	uses  []types.NamespacedName

	kueue kueuePod
}

// kueuePod is what the Kueue integration said of the Pod decided.
type kueuePod struct {
	// ride is the reservation of its Kueue Workload the Pod may ride.
	ride *seats.Ride
	// left is true for a plain Pod whose seat the AdmissionCheck reserves
	// (KueuePods.LeftToKueue).
	left bool
}

// undo gives back the seats and uses taken so far (also after the
// decision's deadline: what it cannot give back, the recount does).
func (a *pass) undo(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	for _, asg := range a.seats {
		if err := a.h.Ledger.Unreserve(ctx, asg, a.pod); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Releasing a seat of a refused Pod", "assignment", klog.KObj(asg))
		}
	}
	for _, key := range a.uses {
		if err := a.h.Uses.Release(ctx, key, a.pod.UID); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Releasing a use of a refused Pod", "ledger", key)
		}
	}
}

// decide is Decide for the products w needs that before (when not nil) did
// not need. Each product is decided by admitProduct; a refusal of any gives
// back what the others took.
func (h *Handler) decide(ctx context.Context, w, before *licensing.Workload, pod seats.PodRef, dryRun bool) (Decision, error) {
	return h.decideKueue(ctx, w, before, pod, dryRun, kueuePod{})
}

// decideKueue is decide for a Pod of which the Kueue integration said kq.
func (h *Handler) decideKueue(ctx context.Context, w, before *licensing.Workload, pod seats.PodRef, dryRun bool, kq kueuePod) (Decision, error) {
	// Leave a margin of the webhook timeout for the answer to travel back.
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	a := &pass{h: h, w: w, pod: pod, dryRun: dryRun, kueue: kq}
	products := &licensingv1alpha1.LicenseProductList{}
	if err := h.Client.List(ctx, products); err != nil {
		return Decision{}, fmt.Errorf("listing LicenseProducts: %w", err)
	}
	a.products = products.Items
	needs, recheck := neededProducts(w, before, products.Items)
	if len(needs) == 0 {
		return Decision{Allowed: true}, nil
	}
	assignments := &licensingv1alpha1.LicenseAssignmentList{}
	if err := h.Client.List(ctx, assignments, client.InNamespace(w.Namespace)); err != nil {
		return Decision{}, fmt.Errorf("listing LicenseAssignments: %w", err)
	}
	a.assignments = assignments.Items
	ns := &corev1.Namespace{}
	if err := h.Client.Get(ctx, types.NamespacedName{Name: w.Namespace}, ns); err == nil {
		a.nsLabels = ns.Labels
	}
	for _, need := range needs {
		// Whether this product put the Pod in a line, apart from the others.
		gated, useGated := a.d.Gated, a.d.UseGated
		a.d.Gated, a.d.UseGated = false, false
		refusal, err := h.admitProduct(ctx, a, need, recheck[need.Product])
		result := metrics.ResultAdmitted
		if a.d.Gated || a.d.UseGated {
			result = metrics.ResultQueued
		}
		a.d.Gated, a.d.UseGated = a.d.Gated || gated, a.d.UseGated || useGated
		if err != nil || refusal != "" {
			a.undo(ctx)
			d := Decision{Message: refusal, Warnings: a.d.Warnings}
			if err == nil {
				d.Outcomes = []Outcome{{Product: need.Product, Result: metrics.ResultRefused}}
			}
			return d, err
		}
		a.d.Outcomes = append(a.d.Outcomes, Outcome{Product: need.Product, Result: result})
	}
	a.d.Allowed, a.d.Licensed = true, true
	return a.d, nil
}

// Outcome is the decision for one product a workload needs: a
// metrics.Result* value.
type Outcome struct {
	Product, Result string
}

// recordOutcomes counts the decision in metrics.AdmissionDecisions, unless
// it is a dry run.
func recordOutcomes(d Decision, kind string, dryRun bool) {
	if dryRun {
		return
	}
	for _, o := range d.Outcomes {
		metrics.RecordAdmission(o.Product, o.Result, kind)
	}
}

// admitProduct decides one product the workload needs and returns the
// refusal ("" when admitted): a freeToUse product needs no seat; otherwise
// a cover must exist (licensing.FindCovers). A pod template, or a product a
// running Pod already had (recheck), is only checked. A Pod takes its seat
// by the rule of the first cover's seat model (admitUncounted,
// admitConcurrent), then a use of the licence it was admitted under
// (takeUse).
func (h *Handler) admitProduct(ctx context.Context, a *pass, need licensing.ProductNeed, recheck bool) (string, error) {
	product := productNamed(a.products, need.Product)
	if licensing.FreeToUse(product) {
		return "", nil
	}

	licences, err := h.licencesFor(ctx, need.Product)
	if err != nil {
		return "", err
	}
	covers, considered := licensing.FindCovers(licensing.CoverageInput{
		Workload: a.w, Product: need.Product, NamespaceLabels: a.nsLabels,
		Licenses: licences, Assignments: a.assignments,
		Authorization: authorization(product),
	})
	if len(covers) == 0 {
		return licensing.DenialMessage(a.w, need, nil, considered, nil), nil
	}
	if a.w.IsTemplate() || recheck {
		return h.checkOnly(ctx, a, covers)
	}
	var c *licensing.Cover
	refusal := ""
	if line := licensing.LineOf(covers); line != nil && a.kueue.left {
		c = a.leftToKueue(line)
	} else if line != nil {
		c, refusal, err = h.admitConcurrent(ctx, a, need, line, covers, considered)
	} else {
		c = a.admitUncounted(covers)
	}
	if err != nil || refusal != "" {
		return refusal, err
	}
	return h.takeUse(ctx, a, c)
}

// checkOnly decides a workload that takes no seat here (a pod template, or
// a product a running Pod already holds): warnings, and for a template
// whose replicas could never all run under whenNoSeat Refuse, a refusal
// (licensing.TemplateSeats, with the seats held now read from the ledgers).
func (h *Handler) checkOnly(ctx context.Context, a *pass, covers []licensing.Cover) (string, error) {
	a.d.Warnings = append(a.d.Warnings, licensing.CoverWarnings(covers[0])...)
	if a.w.IsTemplate() && covers[0].Counted {
		// The template's Pods will be decided as gang members: refuse now
		// what would refuse every one of them.
		gang, err := licensing.ParseGang(a.w.Annotations)
		if err != nil {
			return err.Error(), nil
		}
		if c := covers[0]; gang.Size > c.Seats && c.Enforcement != licensingv1alpha1.EnforcementSoft {
			return licensing.GangTooLargeMessage(a.w, licensing.ProductNeed{Product: c.Product}, c, gang), nil
		}
		if _, err := licensing.ParseWhenNoSeat(a.w.Annotations); err != nil {
			return err.Error(), nil
		}
	}
	if a.w.Replicas == nil || !covers[0].Counted {
		return "", nil
	}
	held := map[string]int{}
	for _, c := range covers {
		if !c.Counted {
			continue
		}
		n, err := h.Ledger.Held(ctx, c.Assignment)
		if err != nil {
			return "", err
		}
		held[c.Assignment.Name] = n
	}
	warnings, refusal := licensing.TemplateSeats(a.w, covers[0].Product, covers, held)
	a.d.Warnings = append(a.d.Warnings, warnings...)
	return refusal, nil
}

// leftToKueue admits a plain Pod that Kueue gates until the AdmissionCheck
// reserved its seat on its Workload (KueuePods.LeftToKueue): it takes no
// seat here and joins no line (two queues would hold each other up); the
// reservation names it as a rider.
func (a *pass) leftToKueue(line *licensing.Cover) *licensing.Cover {
	a.d.Warnings = append(a.d.Warnings, licensing.CoverWarnings(*line)...)
	a.d.PreventVM = a.d.PreventVM || licensing.PreventsVM(line.License)
	return line
}

// ride admits a Pod of a Kueue Workload on the Workload's reservation: on
// the first counted cover whose ledger holds a reservation of the Workload
// with a free place. rode is false when none has one (the Pod is beyond
// the reservation's count, or no reservation covers it): it is then decided
// as any Pod, and told so.
func (h *Handler) ride(ctx context.Context, a *pass, need licensing.ProductNeed, covers []licensing.Cover) (c *licensing.Cover, refusal string, rode bool, err error) {
	full := false
	for i := range covers {
		c := &covers[i]
		if !c.Counted {
			continue
		}
		res, err := h.ask(ctx, c, seats.Ask{Pod: a.pod, Ride: a.kueue.ride}, a.dryRun)
		if err != nil {
			return nil, "", false, err
		}
		if res.NameHeld {
			return nil, licensing.NameHeldMessage(a.w, need, *c), false, nil
		}
		if res.Rode {
			a.seated(c, "")
			return c, "", true, nil
		}
		full = full || res.RideFull
	}
	if full {
		a.d.Warnings = append(a.d.Warnings, fmt.Sprintf("%s %s/%s is a Pod of a Kueue Workload whose reserved seats of product %q all have a Pod already: "+
			"it takes a seat of its own like any Pod", a.w.Kind, a.w.Namespace, a.w.Name, need.Product))
	}
	return nil, "", false, nil
}

// admitUncounted is the rule of the covers that count no Pods (Site
// licences, NodeLocked seats, a person's NamedUser seat): the first admits.
func (a *pass) admitUncounted(covers []licensing.Cover) *licensing.Cover {
	c := &covers[0]
	a.d.Warnings = append(a.d.Warnings, licensing.CoverWarnings(*c)...)
	a.d.PreventVM = a.d.PreventVM || licensing.PreventsVM(c.License)
	return c
}

// admitConcurrent is the rule of counted seats (Concurrent, and NamedUser
// seats kept for other than a person), each decided on the cover's ledger
// with licensing.TakeSeats; first is the cover whose line the Pod joins
// (licensing.LineOf):
//   - a gang member joins the line of the first cover (gated even with
//     seats free: its gang starts all together); a gang larger than that
//     assignment's seats is refused;
//   - otherwise the Pod takes a free seat of the first cover that has one
//     and nobody waiting ahead of it;
//   - when none has, a Soft cover admits it beyond its seats with a warning;
//   - otherwise, unless the first cover's policy (or the Pod) says Refuse,
//     it joins the line of the first cover and is admitted gated;
//   - otherwise it is refused with the seats in use.
func (h *Handler) admitConcurrent(ctx context.Context, a *pass, need licensing.ProductNeed, first *licensing.Cover, covers []licensing.Cover, considered []licensing.Considered) (*licensing.Cover, string, error) {
	if a.kueue.ride != nil {
		// A Pod of a Kueue Workload rides its reservation: no second seat.
		if c, refusal, rode, err := h.ride(ctx, a, need, covers); err != nil || refusal != "" || rode {
			return c, refusal, err
		}
	}
	gang, err := licensing.ParseGang(a.w.Annotations)
	if err != nil {
		return nil, err.Error(), nil
	}
	when, err := licensing.ParseWhenNoSeat(a.w.Annotations)
	if err != nil {
		return nil, err.Error(), nil
	}
	if a.w.KueueGated {
		// Kueue admits the Pods it gates: they never wait in a seat line
		// (two queues would hold each other up); a seat is taken now or
		// the Pod is refused, and Kueue's AdmissionCheck reserves seats
		// for its Workloads.
		when, gang = licensingv1alpha1.WhenNoSeatRefuse, licensing.Gang{}
	}
	ask := func(c *licensing.Cover) seats.Ask {
		return seats.Ask{Pod: a.pod, Seats: c.Seats, Priority: a.w.Priority}
	}
	if gang.Size > 0 {
		if gang.Size > first.Seats && first.Enforcement != licensingv1alpha1.EnforcementSoft {
			return nil, licensing.GangTooLargeMessage(a.w, need, *first, gang), nil
		}
		q := ask(first)
		q.Gang, q.AllowOver = gang, first.Enforcement == licensingv1alpha1.EnforcementSoft
		res, err := h.ask(ctx, first, q, a.dryRun)
		if err != nil {
			return nil, "", err
		}
		return h.placed(a, need, first, res)
	}
	var uses []licensing.LedgerUse
	for i := range covers {
		c := &covers[i]
		res, err := h.ask(ctx, c, ask(c), a.dryRun)
		if err != nil {
			return nil, "", err
		}
		if res.NameHeld {
			return nil, licensing.NameHeldMessage(a.w, need, *c), nil
		}
		if res.Admitted {
			a.seated(c, "")
			return c, "", nil
		}
		uses = append(uses, licensing.LedgerUse{Assignment: c.Assignment.Name, Used: res.Used, Seats: c.Seats, Holders: res.Holders})
	}
	for i := range covers {
		c := &covers[i]
		if c.Enforcement != licensingv1alpha1.EnforcementSoft {
			continue
		}
		q := ask(c)
		q.AllowOver = true
		res, err := h.ask(ctx, c, q, a.dryRun)
		if err != nil {
			return nil, "", err
		}
		if res.Admitted {
			msg := licensing.OverSeatsWarning(a.w, *c, res.Used)
			a.seated(c, msg)
			if h.Recorder != nil && !a.dryRun {
				h.Recorder.Eventf(c.Assignment, nil, corev1.EventTypeWarning, "SeatsOverused", "Admit", "%s", msg)
			}
			return c, "", nil
		}
	}
	if when != licensingv1alpha1.WhenNoSeatRefuse && licensing.WhenNoSeatOf(first.License, nil) == licensingv1alpha1.WhenNoSeatQueue {
		q := ask(first)
		q.Queue = true
		res, err := h.ask(ctx, first, q, a.dryRun)
		if err != nil {
			return nil, "", err
		}
		if res.NameHeld {
			return nil, licensing.NameHeldMessage(a.w, need, *first), nil
		}
		if res.Admitted || res.Queued {
			return h.placed(a, need, first, res)
		}
	}
	return nil, licensing.DenialMessage(a.w, need, covers, considered, uses), nil
}

// placed records where an ask that may queue left the Pod: holding a seat
// of c, or in its line (the Pod is admitted with the seat gate, holding
// nothing, and told its place).
func (h *Handler) placed(a *pass, need licensing.ProductNeed, c *licensing.Cover, res seats.Reservation) (*licensing.Cover, string, error) {
	switch {
	case res.NameHeld:
		return nil, licensing.NameHeldMessage(a.w, need, *c), nil
	case res.Admitted:
		a.seated(c, "")
		return c, "", nil
	}
	a.d.Gated = true
	a.d.Warnings = append(a.d.Warnings, licensing.CoverWarnings(*c)...)
	a.d.Warnings = append(a.d.Warnings, licensing.WaitingMessage(a.w, need, *c, licensing.LinePlace{
		Position: res.Position, Waiting: res.Waiting, Used: res.Used, Holders: res.Holders, Stopped: res.Stopped,
	}))
	a.d.PreventVM = a.d.PreventVM || licensing.PreventsVM(c.License)
	if !a.dryRun {
		a.seats = append(a.seats, c.Assignment)
	}
	return c, "", nil
}

// seated records the seat the Pod took on c (and the warning of taking it beyond the seats).
func (a *pass) seated(c *licensing.Cover, over string) {
	a.d.Warnings = append(a.d.Warnings, licensing.CoverWarnings(*c)...)
	if over != "" {
		a.d.Warnings = append(a.d.Warnings, over)
	}
	a.d.PreventVM = a.d.PreventVM || licensing.PreventsVM(c.License)
	if !a.dryRun {
		a.seats = append(a.seats, c.Assignment)
	}
}

// takeUse takes the Pod's use of the licence it was admitted under, when
// the licence counts uses (licensing.CountsUses), and returns the refusal
// when its limit is reached (licensing.DecideUse).
func (h *Handler) takeUse(ctx context.Context, a *pass, c *licensing.Cover) (string, error) {
	if h.Uses == nil || !licensing.CountsUses(c.License, a.w.Features) {
		return "", nil
	}
	queue := !a.w.KueueGated && licensing.WhenNoSeatOf(c.License, a.w.Annotations) == licensingv1alpha1.WhenNoSeatQueue
	d, key, err := h.Uses.Ask(ctx, c.License, seats.UseAsk{Pod: a.pod, Features: a.w.Features, Queue: queue, Priority: a.w.Priority}, a.dryRun)
	if err != nil {
		return "", err
	}
	if d.Queued {
		a.d.UseGated = true
		a.d.Warnings = append(a.d.Warnings, licensing.UseWaitingMessage(a.w, c.License, d))
	} else if !d.Allowed {
		return d.Message, nil
	}
	if !a.dryRun {
		a.uses = append(a.uses, key)
	}
	return "", nil
}

func (h *Handler) ask(ctx context.Context, c *licensing.Cover, ask seats.Ask, dryRun bool) (seats.Reservation, error) {
	if dryRun {
		return h.Ledger.PeekAsk(ctx, c.Assignment, ask)
	}
	return h.Ledger.Ask(ctx, c.Assignment, ask)
}

// neededProducts are the products w needs a decision for: all it needs, or,
// for an update of a running Pod (before not nil), those it did not need
// before. recheck are the products the Pod already had when its user or the
// features it asks for change: they are decided again (a user's seat covers
// only that user, a licence covers only the features it grants) but take no
// new counted seat (the Pod holds its own).
func neededProducts(w, before *licensing.Workload, products []licensingv1alpha1.LicenseProduct) ([]licensing.ProductNeed, map[string]bool) {
	needs := licensing.RequiredProducts(w, products)
	if before == nil {
		return needs, nil
	}
	had := map[string]bool{}
	for _, n := range licensing.RequiredProducts(before, products) {
		had[n.Product] = true
	}
	if before.User != w.User || !slices.Equal(before.Features, w.Features) {
		return needs, had
	}
	return slices.DeleteFunc(needs, func(n licensing.ProductNeed) bool { return had[n.Product] }), nil
}

// productNamed is the product of products named name, or nil.
func productNamed(products []licensingv1alpha1.LicenseProduct, name string) *licensingv1alpha1.LicenseProduct {
	for i := range products {
		if products[i].Name == name {
			return &products[i]
		}
	}
	return nil
}

// authorization is the spec.authorization of the product ("" for nil).
func authorization(p *licensingv1alpha1.LicenseProduct) licensingv1alpha1.AuthorizationMethod {
	if p == nil {
		return ""
	}
	return p.Spec.Authorization
}

// licencesFor returns the licences covering product: its own and those of the bundles that contain it.
func (h *Handler) licencesFor(ctx context.Context, product string) ([]licensingv1alpha1.SoftwareLicense, error) {
	list := &licensingv1alpha1.SoftwareLicenseList{}
	if err := h.Client.List(ctx, list, client.MatchingFields{CoversIndex: product}); err != nil {
		return nil, fmt.Errorf("listing SoftwareLicenses of %s: %w", product, err)
	}
	return list.Items, nil
}

// workload extracts the workload of the request; nil when there is nothing to
// check. unchanged is true for an update that leaves the pod template alone.
func (h *Handler) workload(req admission.Request) (*licensing.Workload, bool, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, false, nil
	}
	if req.Kind.Kind == kindPod {
		// A Pod's CREATE is decided on the mutating path (PodAdmission).
		return nil, false, nil
	}
	obj := licensing.NewTemplated(req.Kind.Kind)
	if obj == nil {
		return nil, false, nil
	}
	if err := h.Decoder.Decode(req, obj); err != nil {
		return nil, false, err
	}
	tmpl, replicas := licensing.PodTemplateOf(obj)
	unchanged := false
	var oldTmpl *corev1.PodTemplateSpec
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		old := licensing.NewTemplated(req.Kind.Kind)
		if err := h.Decoder.DecodeRaw(req.OldObject, old); err == nil {
			oldTmpl, _ = licensing.PodTemplateOf(old)
			unchanged = equality.Semantic.DeepEqual(oldTmpl, tmpl)
		}
	}
	name := req.Name
	if name == "" {
		name = obj.GetName()
	}
	w := licensing.WorkloadFromPodSpec(req.Kind.Kind, name, req.Namespace, tmpl.ObjectMeta, &tmpl.Spec, replicas)
	w.User, _ = h.Identity.UserOf(req.UserInfo.Username, oldTmpl, tmpl)
	w.NoUnavailable = noUnavailable(obj)
	return &w, unchanged, nil
}

// noUnavailable says whether the object is a Deployment whose RollingUpdate
// allows no unavailable Pod: maxUnavailable (default 25%) resolves to 0 of
// its replicas, rounded down as the Deployment controller does (so 25% of
// fewer than 4 replicas is 0), and maxSurge (default 25%, rounded up) does
// not, since the Deployment controller takes maxUnavailable 1 when both
// resolve to 0 (ResolveFenceposts).
func noUnavailable(obj client.Object) bool {
	d, ok := obj.(*appsv1.Deployment)
	if !ok || d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return false
	}
	def := intstr.FromString("25%")
	unavailable, surge := &def, &def
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		unavailable = cmp.Or(ru.MaxUnavailable, unavailable)
		surge = cmp.Or(ru.MaxSurge, surge)
	}
	replicas := int(ptr.Deref(d.Spec.Replicas, 1))
	u, err := intstr.GetScaledValueFromIntOrPercent(unavailable, replicas, false)
	if err != nil || u != 0 {
		return false
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(surge, replicas, true)
	return err == nil && s > 0
}

func jsonUnmarshal(raw []byte, into any) error { return json.Unmarshal(raw, into) }
