package kubectllicense

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// NewHoldersCmd is `kubectl license holders`: who holds the seats of a
// licence (or of every licence of a product) and who waits for one.
func NewHoldersCmd(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	var product string
	cmd := &cobra.Command{
		Use:   "holders (LICENCE | --product PRODUCT)",
		Short: "The assignments and Pods holding seats of a licence or product, and those waiting in line",
		Long: `List the LicenseAssignments holding seats of a licence (or of each licence of a
product) and those waiting in its queue, and the live Pods that hold the
assignments' seats or wait in line for one, with their place in line.

It reads what the operator writes: the status of licences and assignments,
the labels and scheduling gates of Pods, and the WaitingForSeat and SeatTaken
events of the queue; never the operator's internal seat ledgers. Holders in
namespaces you may not read are counted, not named.

LICENCE is NAME (in the namespace of -n) or NAMESPACE/NAME. --product lists
the licences of the product in the namespace of -n, or in every namespace
you may read with -A.`,
		Example: `  # who holds the seats of licence cad-pro in namespace team-a
  kubectl license holders cad-pro -n team-a

  # every licence of product cad, as JSON
  kubectl license holders --product cad -A -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: CompleteLicenceNames(f),
	}
	output := AddOutputFlag(cmd, FormatTable, FormatJSON, FormatYAML)
	cmd.Flags().StringVar(&product, "product", "", "List the holders of every licence of this LicenseProduct (a bundle's licences included).")
	_ = cmd.RegisterFlagCompletionFunc("product", CompleteProductNames(f))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		format, err := output.Format()
		if err != nil {
			return err
		}
		if (len(args) == 1) == (product != "") {
			return errors.New("name a licence, or a product with --product (not both)")
		}
		c, err := f.Client()
		if err != nil {
			return err
		}
		current, err := f.Namespace()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		var licences []licensingv1alpha1.SoftwareLicense
		if product != "" {
			licences, err = productLicences(ctx, c, f, current, product)
		} else {
			licences, err = oneLicence(ctx, c, current, args[0])
		}
		if err != nil {
			return err
		}
		in, err := GatherHolders(ctx, c, licences, product, current)
		if err != nil {
			return err
		}
		return Print(streams.Out, format, BuildHolders(in).Output())
	}
	return cmd
}

// oneLicence gets the licence NAME (in namespace) or NAMESPACE/NAME.
func oneLicence(ctx context.Context, c client.Reader, namespace, arg string) ([]licensingv1alpha1.SoftwareLicense, error) {
	if ns, name, ok := strings.Cut(arg, "/"); ok {
		namespace, arg = ns, name
	}
	l := &licensingv1alpha1.SoftwareLicense{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: arg}, l); err != nil {
		return nil, err
	}
	return []licensingv1alpha1.SoftwareLicense{*l}, nil
}

// productLicences are the licences of product (licensing.ProductLicense)
// in the namespace of -n, or in each namespace the user may read with -A.
func productLicences(ctx context.Context, c client.Reader, f *Factory, current, product string) ([]licensingv1alpha1.SoftwareLicense, error) {
	var items []licensingv1alpha1.SoftwareLicense
	if f.AllNamespaces {
		lists, _, err := ListReadable(ctx, c, newLicenceList, NamespacesOrKnown(c, current))
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			items = append(items, l.Items...)
		}
	} else {
		l, err := ListIn(ctx, c, newLicenceList, current)
		if err != nil {
			return nil, err
		}
		items = l.Items
	}
	out := slices.DeleteFunc(items, func(l licensingv1alpha1.SoftwareLicense) bool { return !licensing.ProductLicense(&l, product) })
	if len(out) == 0 {
		where := "namespace " + current
		if f.AllNamespaces {
			where = "the namespaces you may read"
		}
		return nil, fmt.Errorf("no licence of product %q in %s", product, where)
	}
	return out, nil
}

func newLicenceList() *licensingv1alpha1.SoftwareLicenseList {
	return &licensingv1alpha1.SoftwareLicenseList{}
}

func newAssignmentList() *licensingv1alpha1.LicenseAssignmentList {
	return &licensingv1alpha1.LicenseAssignmentList{}
}

// HoldersInput is everything BuildHolders needs, read from the cluster by
// GatherHolders.
type HoldersInput struct {
	// Product is --product, or "".
	Product string
	// Licenses are the licences whose holders are wanted.
	Licenses []licensingv1alpha1.SoftwareLicense
	// Assignments are the assignments the user may read, of every namespace read.
	Assignments []licensingv1alpha1.LicenseAssignment
	// EveryNamespace says Assignments hold every namespace's: nothing is
	// hidden (a difference from the licences' status is only their status
	// lagging behind).
	EveryNamespace bool
	// OtherLicenses are the other licences the Pods' namespaces' assignments
	// are bound to, as far as the user may read them: the webhook chooses
	// among all the covers of a Pod.
	OtherLicenses []licensingv1alpha1.SoftwareLicense
	// Products are the LicenseProducts (nil when the user may not list them).
	Products []licensingv1alpha1.LicenseProduct
	// Pods are the licensed Pods (LicensedLabel) by namespace, of the
	// namespaces whose Pods were read.
	Pods map[string][]corev1.Pod
	// NamespaceLabels are the labels of the Pods' namespaces, where readable.
	NamespaceLabels map[string]map[string]string
	// Events are the latest seat events of the Pods, by Pod UID.
	Events map[types.UID]SeatEvent
	// Notes say what could not be read.
	Notes []string
}

// GatherHolders reads what BuildHolders needs: the assignments of every
// namespace the user may read, then the licensed Pods, their events and the
// namespaces' labels where related assignments live. What is Forbidden is
// skipped and counted by BuildHolders from the licences' status.
func GatherHolders(ctx context.Context, c client.Reader, licences []licensingv1alpha1.SoftwareLicense, product, current string) (HoldersInput, error) {
	in := HoldersInput{
		Product: product, Licenses: licences,
		Pods: map[string][]corev1.Pod{}, NamespaceLabels: map[string]map[string]string{}, Events: map[types.UID]SeatEvent{},
	}
	known := make([]string, 0, 1+len(licences))
	known = append(known, current)
	for i := range licences {
		known = append(known, licences[i].Namespace)
	}
	lists, complete, err := ListReadable(ctx, c, newAssignmentList, NamespacesOrKnown(c, known...))
	if err != nil {
		return in, fmt.Errorf("listing LicenseAssignments: %w", err)
	}
	in.EveryNamespace = complete
	for _, l := range lists {
		in.Assignments = append(in.Assignments, l.Items...)
	}

	products := &licensingv1alpha1.LicenseProductList{}
	switch err := c.List(ctx, products); {
	case apierrors.IsForbidden(err):
		in.Notes = append(in.Notes, "You may not list LicenseProducts: Pods that need a seat by an image pattern (spec.workloads.images) are not shown, only those with the product annotation.")
	case err != nil:
		return in, fmt.Errorf("listing LicenseProducts: %w", err)
	default:
		in.Products = products.Items
	}

	keys := licenceKeys(licences)
	for _, ns := range podNamespaces(in, keys) {
		if err := readNamespace(ctx, c, &in, ns); err != nil {
			return in, err
		}
	}
	in.OtherLicenses, err = otherLicences(ctx, c, in, keys)
	return in, err
}

// readNamespace reads the licensed Pods of ns, their seat events and the
// namespace's labels into in, noting what it may not read.
func readNamespace(ctx context.Context, c client.Reader, in *HoldersInput, ns string) error {
	pods, err := ListIn(ctx, c, func() *corev1.PodList { return &corev1.PodList{} }, ns,
		client.MatchingLabels{licensingv1alpha1.LicensedLabel: licensingv1alpha1.LicensedLabelValue})
	switch {
	case apierrors.IsForbidden(err):
		in.Notes = append(in.Notes, fmt.Sprintf("You may not list Pods in namespace %s: its assignments are shown without their Pods.", ns))
		return nil
	case err != nil:
		return fmt.Errorf("listing Pods in namespace %s: %w", ns, err)
	}
	in.Pods[ns] = pods.Items
	events, err := ListIn(ctx, c, func() *eventsv1.EventList { return &eventsv1.EventList{} }, ns)
	switch {
	case apierrors.IsForbidden(err):
		in.Notes = append(in.Notes, fmt.Sprintf("You may not list events in namespace %s: places in line are not shown.", ns))
	case err != nil:
		return fmt.Errorf("listing events in namespace %s: %w", ns, err)
	default:
		for uid, e := range LatestSeatEvents(events.Items) {
			in.Events[uid] = e
		}
	}
	n := &corev1.Namespace{}
	if err := c.Get(ctx, types.NamespacedName{Name: ns}, n); err == nil {
		in.NamespaceLabels[ns] = n.Labels
	}
	return nil
}

// otherLicences gets the licences the assignments of the Pods' namespaces
// are bound to, other than keys; those the user may not read are left out.
func otherLicences(ctx context.Context, c client.Reader, in HoldersInput, keys map[string]bool) ([]licensingv1alpha1.SoftwareLicense, error) {
	want := map[string]bool{}
	for i := range in.Assignments {
		a := &in.Assignments[i]
		if _, read := in.Pods[a.Namespace]; read && a.Status.License != "" && !keys[a.Status.License] {
			want[a.Status.License] = true
		}
	}
	var out []licensingv1alpha1.SoftwareLicense
	for _, k := range sortedKeys(want) {
		ns, name, _ := strings.Cut(k, "/")
		l := &licensingv1alpha1.SoftwareLicense{}
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, l)
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, *l)
	}
	return out, nil
}

func licenceKeys(ls []licensingv1alpha1.SoftwareLicense) map[string]bool {
	keys := make(map[string]bool, len(ls))
	for i := range ls {
		keys[licensing.LicenseKey(&ls[i])] = true
	}
	return keys
}

// podNamespaces are the namespaces whose Pods may hold the licences' seats:
// those of the related assignments read, and the namespace of each Site
// licence (a Site licence covers the Pods of its namespaces without an
// assignment).
func podNamespaces(in HoldersInput, keys map[string]bool) []string {
	set := map[string]bool{}
	for i := range in.Assignments {
		if related(&in.Assignments[i], keys, in.Product) {
			set[in.Assignments[i].Namespace] = true
		}
	}
	for i := range in.Licenses {
		if l := &in.Licenses[i]; seatModelOf(l) == licensingv1alpha1.SeatModelSite {
			set[l.Namespace] = true
		}
	}
	return sortedKeys(set)
}

// related says whether the assignment holds seats of one of the licences
// keys, or waits for one of them (or, for a product, for any licence of it).
func related(a *licensingv1alpha1.LicenseAssignment, keys map[string]bool, product string) bool {
	if licensing.HoldsSeats(a) {
		return keys[a.Status.License]
	}
	if a.DeletionTimestamp != nil || a.Status.State != licensingv1alpha1.AssignmentStatePending {
		return false
	}
	if keys[a.Status.License] || keys[licensing.AssignmentLicenseKey(a)] {
		return true
	}
	return product != "" && a.Spec.ProductRef != nil && a.Spec.ProductRef.Name == product
}

func seatModelOf(l *licensingv1alpha1.SoftwareLicense) licensingv1alpha1.SeatModel {
	return licensing.SeatModelOf(l.Status.EffectivePolicy)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Holders is what `holders` prints.
type Holders struct {
	Licenses    []HeldLicense      `json:"licenses"`
	Assignments []HolderAssignment `json:"assignments"`
	Pods        []HolderPod        `json:"pods"`
	// Hidden counts what is held in namespaces the user may not read.
	Hidden HiddenHolders `json:"hidden"`
	// Notes say what could not be read.
	Notes []string `json:"notes,omitempty"`
}

// HeldLicense is a licence whose holders are listed.
type HeldLicense struct {
	Namespace string                         `json:"namespace"`
	Name      string                         `json:"name"`
	Product   string                         `json:"product"`
	State     licensingv1alpha1.LicenseState `json:"state"`
	Seats     ReportSeats                    `json:"seats"`
	// Holders is the number of assignments holding its seats (status.activations).
	Holders int32 `json:"holders"`
}

// HolderAssignment is an assignment that holds seats, or waits for them.
type HolderAssignment struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// License is the licence bound to or asked for ("namespace/name"), or
	// "product/<name>" for a product assignment not bound yet.
	License  string                            `json:"license"`
	Assignee string                            `json:"assignee"`
	State    licensingv1alpha1.AssignmentState `json:"state"`
	// Seats are the seats held; Requested those asked for.
	Seats       int32 `json:"seats"`
	Requested   int32 `json:"requested"`
	WaitingPods int32 `json:"waitingPods"`
	// ReservedByWorkloads are the seats Kueue Workloads hold on it.
	ReservedByWorkloads int32 `json:"reservedByWorkloads,omitempty"`
	// QueuePosition is its place in the licence's queue while Pending.
	QueuePosition *int32 `json:"queuePosition,omitempty"`
	Message       string `json:"message,omitempty"`
}

// PodSeat is how a Pod stands with a licence.
type PodSeat string

const (
	// PodHolding holds a counted seat of an assignment.
	PodHolding PodSeat = "Holding"
	// PodWaiting waits in the line of an assignment (seat scheduling gate).
	PodWaiting PodSeat = "Waiting"
	// PodWaitingForUse waits for a use of a consumption licence's next period.
	PodWaitingForUse PodSeat = "WaitingForUse"
	// PodCovered runs under a seat that counts no Pods: a person's
	// NamedUser seat, a NodeLocked seat, or a Site licence.
	PodCovered PodSeat = "Covered"
)

// HolderPod is a live Pod that holds a seat, or waits for one.
type HolderPod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Assignment holds or lines up the Pod; "a or b" when the Pod took a
	// free seat with several assignments covering it and no event says
	// which (only the operator's internal ledger records it); "" for a Site
	// licence.
	Assignment string `json:"assignment,omitempty"`
	// License is the licence's key, "a or b" like Assignment.
	License string  `json:"license"`
	Seat    PodSeat `json:"seat"`
	// Position and Waiting are the place in line and its length, from the
	// Pod's latest WaitingForSeat event.
	Position  int             `json:"position,omitempty"`
	Waiting   int             `json:"waiting,omitempty"`
	Node      string          `json:"node,omitempty"`
	Phase     corev1.PodPhase `json:"phase,omitempty"`
	Created   metav1.Time     `json:"created"`
	Ambiguous bool            `json:"ambiguous,omitempty"`
}

// HiddenHolders counts, from the licences' status, what is held in
// namespaces the user may not read: the difference between what the
// operator counted and what the user could see. Zero when every namespace
// was read.
type HiddenHolders struct {
	// Holders are assignments holding seats.
	Holders int32 `json:"holders"`
	// Seats are the seats they hold.
	Seats int32 `json:"seats"`
	// WaitingPods wait in the lines of their assignments.
	WaitingPods int32 `json:"waitingPods"`
}

// BuildHolders is the holders of in.Licenses as the user may see them.
func BuildHolders(in HoldersInput) Holders {
	keys := licenceKeys(in.Licenses)
	h := Holders{Licenses: []HeldLicense{}, Assignments: []HolderAssignment{}, Pods: []HolderPod{}, Notes: in.Notes}
	for i := range in.Licenses {
		l := &in.Licenses[i]
		s := l.Status.Seats
		h.Licenses = append(h.Licenses, HeldLicense{
			Namespace: l.Namespace, Name: l.Name, Product: productOf(l), State: l.Status.State, Holders: l.Status.Activations,
			Seats: ReportSeats{Used: s.Used, Total: s.Total, Available: s.Available, Pending: s.Pending, WaitingPods: s.WaitingPods,
				ReservedByWorkloads: s.ReservedByWorkloads},
		})
	}
	seen := map[string]HiddenHolders{}
	for i := range in.Assignments {
		a := &in.Assignments[i]
		if !related(a, keys, in.Product) {
			continue
		}
		h.Assignments = append(h.Assignments, holderAssignment(a, in.Product))
		if licensing.HoldsSeats(a) {
			v := seen[a.Status.License]
			v.Holders++
			v.Seats += a.Status.Seats
			v.WaitingPods += a.Status.WaitingPods
			seen[a.Status.License] = v
		}
	}
	if !in.EveryNamespace {
		h.Hidden = hidden(in.Licenses, seen)
	}
	for _, ns := range sortedKeys(in.Pods) {
		for i := range in.Pods[ns] {
			if p, ok := holderPod(&in.Pods[ns][i], in, keys); ok {
				h.Pods = append(h.Pods, p)
			}
		}
	}
	sort.Slice(h.Licenses, func(i, j int) bool {
		return byNamespacedName(h.Licenses[i].Namespace, h.Licenses[i].Name, h.Licenses[j].Namespace, h.Licenses[j].Name)
	})
	sort.Slice(h.Assignments, func(i, j int) bool {
		return byNamespacedName(h.Assignments[i].Namespace, h.Assignments[i].Name, h.Assignments[j].Namespace, h.Assignments[j].Name)
	})
	sort.Slice(h.Pods, func(i, j int) bool {
		return byNamespacedName(h.Pods[i].Namespace, h.Pods[i].Name, h.Pods[j].Namespace, h.Pods[j].Name)
	})
	return h
}

// hidden is what the licences' status counts beyond what was seen, by licence key.
func hidden(licences []licensingv1alpha1.SoftwareLicense, seen map[string]HiddenHolders) HiddenHolders {
	var h HiddenHolders
	for i := range licences {
		l := &licences[i]
		v := seen[licensing.LicenseKey(l)]
		h.Holders += max(0, l.Status.Activations-v.Holders)
		h.Seats += max(0, l.Status.Seats.Used-v.Seats)
		h.WaitingPods += max(0, l.Status.Seats.WaitingPods-v.WaitingPods)
	}
	return h
}

// byNamespacedName orders by namespace, then name.
func byNamespacedName(ns1, name1, ns2, name2 string) bool {
	if ns1 != ns2 {
		return ns1 < ns2
	}
	return name1 < name2
}

func holderAssignment(a *licensingv1alpha1.LicenseAssignment, product string) HolderAssignment {
	lic := a.Status.License
	if lic == "" {
		lic = licensing.AssignmentLicenseKey(a)
	}
	if lic == "" && product != "" {
		lic = "product/" + product
	}
	assignee := a.Status.Assignee
	if assignee == "" {
		assignee = licensing.AssigneeName(&a.Spec.Assignee)
	}
	return HolderAssignment{
		Namespace: a.Namespace, Name: a.Name, License: lic, Assignee: assignee, State: a.Status.State,
		Seats: a.Status.Seats, Requested: licensing.AssignmentSeats(a), WaitingPods: a.Status.WaitingPods,
		ReservedByWorkloads: a.Status.ReservedByWorkloads,
		QueuePosition:       a.Status.QueuePosition, Message: a.Status.Message,
	}
}

// holderPod says whether the Pod holds, or waits for, a seat of one of the
// licences keys, by the rule of the admission webhook (licensing.FindCovers
// over the Pod's namespace's assignments, the first cover deciding): an
// uncounted first cover covers it; otherwise its latest seat event names the
// assignment, a gated Pod waits in the line of the first cover, and an
// ungated one holds a seat of one of its counted covers.
func holderPod(p *corev1.Pod, in HoldersInput, keys map[string]bool) (HolderPod, bool) {
	if p.DeletionTimestamp != nil || licensing.PodTerminal(p) {
		return HolderPod{}, false
	}
	w := licensing.WorkloadFromPodSpec("Pod", p.Name, p.Namespace, p.ObjectMeta, &p.Spec, nil)
	licences := append(slices.Clone(in.Licenses), in.OtherLicenses...)
	for _, need := range licensing.RequiredProducts(&w, in.Products) {
		product := productNamed(in.Products, need.Product)
		if licensing.FreeToUse(product) || !slices.ContainsFunc(in.Licenses, func(l licensingv1alpha1.SoftwareLicense) bool {
			return licensing.LicenseCovers(&l, need.Product)
		}) {
			continue
		}
		covers, _ := licensing.FindCovers(licensing.CoverageInput{
			Workload: &w, Product: need.Product, NamespaceLabels: in.NamespaceLabels[p.Namespace],
			Licenses: licences, Assignments: in.Assignments, Authorization: authorizationOf(product, need.Product, in.Licenses),
		})
		chosen, ambiguous := chooseCovers(p, covers, in.Events)
		if !slices.ContainsFunc(chosen, func(c licensing.Cover) bool { return keys[licensing.LicenseKey(c.License)] }) {
			continue
		}
		out := HolderPod{
			Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, Phase: p.Status.Phase, Created: p.CreationTimestamp,
			Assignment: coverNames(chosen), License: coverLicences(chosen), Ambiguous: ambiguous,
		}
		switch {
		case !chosen[0].Counted:
			out.Seat = PodCovered
		case licensing.SeatGated(p):
			out.Seat = PodWaiting
			if e, ok := in.Events[p.UID]; ok && e.Position > 0 {
				out.Position, out.Waiting = e.Position, e.Waiting
			}
		case licensing.HasSchedulingGate(p, licensingv1alpha1.UseGate):
			out.Seat = PodWaitingForUse
		default:
			out.Seat = PodHolding
		}
		return out, true
	}
	return HolderPod{}, false
}

// chooseCovers are the covers that hold or line up the Pod: the first when
// it counts no Pods; else the one its latest seat event names; else, for a
// gated Pod, the first (the webhook lines a Pod up at the first cover);
// else every counted cover (ambiguous when several: the Pod took the first
// free seat, which only the internal ledger records).
func chooseCovers(p *corev1.Pod, covers []licensing.Cover, events map[types.UID]SeatEvent) ([]licensing.Cover, bool) {
	if len(covers) == 0 {
		return nil, false
	}
	if !covers[0].Counted {
		return covers[:1], false
	}
	if e, ok := events[p.UID]; ok {
		for _, c := range covers {
			if c.Counted && c.Assignment != nil && c.Assignment.Name == e.Assignment {
				return []licensing.Cover{c}, false
			}
		}
	}
	if licensing.SeatGated(p) {
		return covers[:1], false
	}
	counted := slices.DeleteFunc(slices.Clone(covers), func(c licensing.Cover) bool { return !c.Counted })
	return counted, len(counted) > 1
}

func coverNames(cs []licensing.Cover) string {
	var names []string
	for _, c := range cs {
		if c.Assignment != nil {
			names = append(names, c.Assignment.Name)
		}
	}
	return strings.Join(names, " or ")
}

func coverLicences(cs []licensing.Cover) string {
	var keys []string
	for _, c := range cs {
		if k := licensing.LicenseKey(c.License); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return strings.Join(keys, " or ")
}

func productNamed(products []licensingv1alpha1.LicenseProduct, name string) *licensingv1alpha1.LicenseProduct {
	for i := range products {
		if products[i].Name == name {
			return &products[i]
		}
	}
	return nil
}

// authorizationOf is the product's spec.authorization: from the product
// when it was read, else from a licence that resolved to it.
func authorizationOf(p *licensingv1alpha1.LicenseProduct, name string, licences []licensingv1alpha1.SoftwareLicense) licensingv1alpha1.AuthorizationMethod {
	if p != nil {
		return p.Spec.Authorization
	}
	for i := range licences {
		if r := licences[i].Status.Product; r != nil && r.Name == name {
			return r.Authorization
		}
	}
	return ""
}

// Output is the holders in every format.
func (h Holders) Output() Output {
	licences := Table{Headers: []string{"Licence", colProduct, colState, colSeats, "Holders", colWaiting}}
	for _, l := range h.Licenses {
		licences.Rows = append(licences.Rows, []string{l.Namespace + "/" + l.Name, orDash(l.Product), orDash(string(l.State)),
			seatsText(l.Seats.Used, l.Seats.Total), strconv.Itoa(int(l.Holders)), strconv.Itoa(int(l.Seats.WaitingPods))})
	}
	assignments := Table{Title: "Assignments", Headers: []string{colNamespace, "Name", "Licence", "Assignee", colState, colSeats, colWaiting, "Queue", "Message"}}
	for _, a := range h.Assignments {
		queue := "-"
		if a.QueuePosition != nil {
			queue = strconv.Itoa(int(*a.QueuePosition))
		}
		assignments.Rows = append(assignments.Rows, []string{a.Namespace, a.Name, orDash(a.License), orDash(a.Assignee), orDash(string(a.State)),
			fmt.Sprintf("%d/%d", a.Seats, a.Requested), strconv.Itoa(int(a.WaitingPods)), queue, orDash(a.Message)})
	}
	pods := Table{Title: "Pods", Headers: []string{colNamespace, "Pod", "Assignment", "Seat", "Position", "Node", "Phase"}}
	for _, p := range h.Pods {
		pos := "-"
		if p.Position > 0 {
			pos = fmt.Sprintf("%d of %d", p.Position, p.Waiting)
		}
		pods.Rows = append(pods.Rows, []string{p.Namespace, p.Name, orDash(p.Assignment), string(p.Seat), pos, orDash(p.Node), orDash(string(p.Phase))})
	}
	var notes []string
	if n := h.Hidden; n.Holders > 0 || n.Seats > 0 || n.WaitingPods > 0 {
		notes = append(notes, n.Text())
	}
	for _, a := range h.Assignments {
		if a.ReservedByWorkloads > 0 {
			notes = append(notes, fmt.Sprintf("assignment %s/%s: %d of its seats are reserved by Kueue Workloads (their Pods ride them; see docs/kueue.md)",
				a.Namespace, a.Name, a.ReservedByWorkloads))
		}
	}
	notes = append(notes, h.Notes...)
	return Output{Data: h, Tables: []Table{licences, assignments, pods}, Notes: notes}
}

// Text is "2 holders in namespaces you cannot read (3 seats, 1 Pod waiting)".
func (n HiddenHolders) Text() string {
	return fmt.Sprintf("%d %s in namespaces you cannot read (%d %s, %d %s waiting)",
		n.Holders, plural(int(n.Holders), "holder", "holders"), n.Seats, plural(int(n.Seats), "seat", "seats"),
		n.WaitingPods, plural(int(n.WaitingPods), "Pod", "Pods"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
