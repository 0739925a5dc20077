package bench

// BenchmarkLedger measures two layouts of the seat ledger on a real
// kube-apiserver and etcd (envtest), so that the layout is chosen on
// numbers (issue 15, "Ledger layout"):
//
//   - ledger: the product's layout, driven through its own seats.Ledger
//     (Ask, Release, the group commit): one seat object per held seat and a
//     main ledger with the line (internal/seats/store.go). Until issue 15 it
//     was one SeatLedger per assignment holding every seat's entry and the
//     whole line, rewritten whole on every take and free (191 KB per take at
//     1,000/1,000: docs/benchmarks.md);
//   - seat: a prototype of one small object per held seat, named
//     <assignment>-<seat index> (a take is a create, which a second create of
//     the same index refuses with AlreadyExists: the compare-and-swap; a free
//     is a delete), and one object per waiter, <assignment>-w-<Pod>, for the
//     line (join: a create; dequeue: order the waiters with
//     licensing.LineOrder, create the head's seat, delete its waiter).
//     A prototype CRD (BenchSeat) stands for the objects.
//
// Each layout is measured empty and with holders Pods holding seats and
// waiting Pods in line (a gang of waiting+1 that cannot start yet, behind
// which nobody is served, and ahead of which the takers stand by priority):
// the bytes sent by a take (request body at the client transport: the
// first take on the prefilled state, and the mean of the serial takes), the bytes
// stored (the object as read back, managedFields included: what etcd keeps),
// the time per take and per free with one taker, and the takes per second
// of 16 concurrent takers in two replicas (8 each), with the conflicts
// (409) they met. The goal of issue 15 is that the product's write
// does not grow with the holders and the line: ledger-bytes-empty,
// ledger-bytes-1000 and ledger-growth, their ratio (goal ≤ 1.1).
//
// Sizes: 1,000 holders and 1,000 waiting, 5 serial takes and 16
// concurrent ones by default; BENCH=full takes 100 and 400. Run (about
// 30 s, most of it setting up the 1,000 holders and waiters of each layout):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkLedger -benchtime=1x -v -timeout 20m

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	ledgerBenchNS = "ledger-bench"
	// ledgerGoalGrowth is the goal of issue 15 for ledger-growth.
	ledgerGoalGrowth = 1.1
	// ledgerTakers is the number of concurrent takers, in ledgerReplicas.
	ledgerTakers   = 16
	ledgerReplicas = 2
	// ledgerSeats is every assignment's seats: never the bound here.
	ledgerSeats = 1000000
)

type ledgerSizes struct{ holders, waiting, takes, concurrentTakes int }

func ledgerSizesOf() ledgerSizes {
	s := ledgerSizes{holders: 1000, waiting: 1000, takes: 5, concurrentTakes: 16}
	if os.Getenv("BENCH") == "full" {
		s.takes, s.concurrentTakes = 100, 400
	}
	return s
}

// layoutResult is what one layout costs in one state.
type layoutResult struct {
	// firstTakeBytes is the request body of the first take, on the state
	// as prefilled; bytesPerTake the mean over the serial takes (each adds
	// an entry: the ledger grows by the takes themselves).
	firstTakeBytes float64
	// apiserverMs and etcdMs are their CPU per serial take.
	apiserverMs, etcdMs        float64
	bytesPerTake, bytesPerFree float64
	storedBytes                int
	take, free                 []time.Duration
	// concurrent: 16 takers
	takesPerSecond, conflictsPerTake, writesPerTake float64
	// joinBytes is the request body of a Pod joining the line (the
	// product's layout only).
	joinBytes float64
}

func meanMs(d []time.Duration) float64 {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return ms(sum) / float64(max(1, len(d)))
}

func (r layoutResult) report(b *testing.B, prefix, state string) {
	b.ReportMetric(r.firstTakeBytes, prefix+"-bytes-"+state)
	b.ReportMetric(r.bytesPerTake, prefix+"-mean-take-bytes-"+state)
	b.ReportMetric(r.apiserverMs, prefix+"-take-apiserver-cpu-ms-"+state)
	b.ReportMetric(r.etcdMs, prefix+"-take-etcd-cpu-ms-"+state)
	b.ReportMetric(float64(r.storedBytes), prefix+"-stored-bytes-"+state)
	b.ReportMetric(meanMs(r.take), prefix+"-take-ms-"+state)
	b.ReportMetric(meanMs(r.free), prefix+"-free-ms-"+state)
	b.ReportMetric(r.bytesPerFree, prefix+"-free-bytes-"+state)
	b.ReportMetric(r.takesPerSecond, prefix+"-16takers-takes/s-"+state)
	b.ReportMetric(r.conflictsPerTake, prefix+"-16takers-conflicts/take-"+state)
	b.ReportMetric(r.writesPerTake, prefix+"-16takers-writes/take-"+state)
	if r.joinBytes > 0 {
		b.ReportMetric(r.joinBytes, prefix+"-join-bytes-"+state)
		b.Logf("%-6s %-10s a Pod joining the line sends %.0f bytes", prefix, state, r.joinBytes)
	}
	b.Logf("%-6s %-10s take %6.2f ms (p50 %6.2f, p99 %6.2f, CPU kube-apiserver %.2f ms, etcd %.2f ms)  %8.0f bytes sent by the first take, %8.0f by the mean  %8d bytes stored  free %6.2f ms %8.0f bytes  16 takers: %7.1f takes/s, %.2f writes/take, %.2f conflicts/take",
		prefix, state, meanMs(r.take), ms(percentile(r.take, 0.50)), ms(percentile(r.take, 0.99)), r.apiserverMs, r.etcdMs, r.firstTakeBytes, r.bytesPerTake, r.storedBytes, meanMs(r.free), r.bytesPerFree,
		r.takesPerSecond, r.writesPerTake, r.conflictsPerTake)
}

func BenchmarkLedger(b *testing.B) {
	_, cfg := startEnvtest(b, nil)
	cfg.QPS, cfg.Burst = -1, 0
	ctx := context.Background()
	scheme := kubecluster.Scheme()
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	if err := admin.Create(ctx, kubecluster.MakeNamespace(ledgerBenchNS, nil)); err != nil {
		b.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{benchSeatCRD()}}); err != nil {
		b.Fatal(err)
	}
	counter, meter := &callCounter{}, newCPUMeter()
	measured, err := client.New(counter.wrap(cfg), client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	sz := ledgerSizesOf()
	// Warm up: the first requests of a kind on a fresh API server (the
	// clients' first calls, the server's first list of SeatLedgers) cost
	// seconds that belong to no layout.
	measureWhole(b, ctx, admin, measured, counter, meter, "warm-up", 0, 0, ledgerSizes{takes: 1, concurrentTakes: 2})
	run := 0
	b.Run(fmt.Sprintf("holders=%d,waiting=%d,takes=%d", sz.holders, sz.waiting, sz.takes), func(b *testing.B) {
		for range b.N {
			run++
			res := map[string]layoutResult{}
			for _, st := range []struct {
				name             string
				holders, waiting int
			}{{"empty", 0, 0}, {"1000", sz.holders, sz.waiting}} {
				res["whole-"+st.name] = measureWhole(b, ctx, admin, measured, counter, meter, fmt.Sprintf("whole-%d-%s", run, st.name), st.holders, st.waiting, sz)
				res["whole-"+st.name].report(b, "ledger", st.name)
				res["seat-"+st.name] = measureSeatObjects(b, ctx, admin, measured, counter, meter, fmt.Sprintf("seat-%d-%s", run, st.name), st.holders, st.waiting, sz)
				res["seat-"+st.name].report(b, "seat", st.name)
			}
			growth := res["whole-1000"].firstTakeBytes / res["whole-empty"].firstTakeBytes
			b.ReportMetric(growth, "ledger-growth")
			b.Logf("goal ledger write size with %d holders and %d waiting: ours %.0f bytes/take, reference %.0f bytes/take (empty ledger), ratio %.2f (goal ≤ %.1f): %s",
				sz.holders, sz.waiting, res["whole-1000"].firstTakeBytes, res["whole-empty"].firstTakeBytes, growth, ledgerGoalGrowth, metOrMissed(growth <= ledgerGoalGrowth))
			seatGrowth := res["seat-1000"].firstTakeBytes / res["seat-empty"].firstTakeBytes
			b.ReportMetric(seatGrowth, "seat-growth")
			b.Logf("one object per seat (prototype): %.0f bytes/take at %d/%d, %.0f empty, ratio %.2f",
				res["seat-1000"].firstTakeBytes, sz.holders, sz.waiting, res["seat-empty"].firstTakeBytes, seatGrowth)
		}
	})
}

// measureWhole measures the product's layout through seats.Ledger on the
// ledger of a new assignment named name, prefilled with holders seat
// objects and waiting Pods in line.
func measureWhole(b *testing.B, ctx context.Context, admin, measured client.Client, counter *callCounter, meter *cpuMeter, name string, holders, waiting int, sz ledgerSizes) layoutResult {
	b.Helper()
	asg := &licensingv1alpha1.LicenseAssignment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ledgerBenchNS, UID: types.UID("uid-" + name)}}
	key := types.NamespacedName{Namespace: ledgerBenchNS, Name: seats.LedgerName(name)}
	now := time.Now()
	held := make([]client.Object, 0, holders)
	for i := range holders {
		held = append(held, seats.SeatObjectOf(asg, i, licensingv1alpha1.SeatLedgerEntry{Pod: fmt.Sprintf("holder-%d", i), UID: fmt.Sprintf("uid-holder-%d", i), Admitted: metav1.NewTime(now)}))
	}
	seatCreate(b, admin, len(held), func(i int) client.Object { return held[i] })
	line := make([]client.Object, 0, waiting)
	for i := range waiting {
		line = append(line, seats.WaiterObjectOf(asg, licensingv1alpha1.SeatLedgerWaiter{
			Pod: fmt.Sprintf("waiter-%d", i), UID: fmt.Sprintf("uid-waiter-%d", i), Queued: metav1.NewMicroTime(now.Add(time.Duration(i) * time.Microsecond)),
			Gang: "gang", GangSize: int32(waiting + 1),
		}))
	}
	seatCreate(b, admin, len(line), func(i int) client.Object { return line[i] })
	newLedger := func() *seats.Ledger {
		return &seats.Ledger{Reader: measured, Writer: measured, Clock: clock.RealClock{}, Grace: seats.LedgerGrace}
	}
	ask := func(led *seats.Ledger, pod string) error {
		r, err := led.Ask(ctx, asg, seats.Ask{Pod: seats.PodRef{Namespace: ledgerBenchNS, Name: pod, UID: types.UID("uid-" + pod)}, Seats: ledgerSeats, Priority: 1})
		if err != nil || !r.Admitted {
			return fmt.Errorf("take of %s: %+v %v", pod, r, err)
		}
		return nil
	}
	var res layoutResult
	// One taker.
	led := newLedger()
	before, cpuBefore := counter.snapshot(), meter.sample()
	for i := range sz.takes {
		t := time.Now()
		if err := ask(led, fmt.Sprintf("taker-%d", i)); err != nil {
			b.Fatal(err)
		}
		res.take = append(res.take, time.Since(t))
		if i == 0 {
			res.firstTakeBytes = float64(counter.snapshot().sub(before).sent["seatledgers"])
		}
	}
	d, cpu := counter.snapshot().sub(before), meter.sample().sub(cpuBefore).perPod(sz.takes)
	res.bytesPerTake = float64(d.sent["seatledgers"]) / float64(sz.takes)
	res.apiserverMs, res.etcdMs = cpu.apiserver, cpu.etcd
	// What a take stores: the seat object of the first taker.
	objs := &licensingv1alpha1.SeatLedgerList{}
	if err := admin.List(ctx, objs, client.InNamespace(ledgerBenchNS), client.MatchingLabels{licensingv1alpha1.SeatLedgerLabel: licensing.SeatLedgerLabelValue(key.Name)}); err != nil {
		b.Fatal(err)
	}
	for i := range objs.Items {
		if o := &objs.Items[i]; len(o.Spec.Entries) == 1 && o.Spec.Entries[0].Pod == "taker-0" {
			raw, _ := json.Marshal(o)
			res.storedBytes = len(raw)
		}
	}
	if res.storedBytes == 0 {
		b.Fatalf("no seat object holds taker-0")
	}
	stored := &licensingv1alpha1.SeatLedger{}
	before = counter.snapshot()
	for i := range sz.takes {
		t := time.Now()
		if err := led.Release(ctx, key, seats.PodRef{Namespace: ledgerBenchNS, Name: fmt.Sprintf("taker-%d", i)}); err != nil {
			b.Fatal(err)
		}
		res.free = append(res.free, time.Since(t))
	}
	d = counter.snapshot().sub(before)
	res.bytesPerFree = float64(d.sent["seatledgers"]) / float64(sz.takes)
	// A Pod joining the line (a gang member: it always waits for its gang).
	before = counter.snapshot()
	r, err := led.Ask(ctx, asg, seats.Ask{Pod: seats.PodRef{Namespace: ledgerBenchNS, Name: "joiner", UID: "uid-joiner"}, Seats: ledgerSeats, Gang: licensing.Gang{Name: "joiners", Size: 2}})
	if err != nil || !r.Queued {
		b.Fatalf("join: %+v %v", r, err)
	}
	res.joinBytes = float64(counter.snapshot().sub(before).sent["seatledgers"])
	if err := led.Release(ctx, key, seats.PodRef{Namespace: ledgerBenchNS, Name: "joiner"}); err != nil {
		b.Fatal(err)
	}
	// 16 takers in two replicas.
	replicas := make([]*seats.Ledger, ledgerReplicas)
	for i := range replicas {
		replicas[i] = newLedger()
	}
	before = counter.snapshot()
	elapsed := parallelDo(b, ledgerTakers, sz.concurrentTakes, func(taker, i int) error {
		return ask(replicas[taker%ledgerReplicas], fmt.Sprintf("ctaker-%d", i))
	})
	d = counter.snapshot().sub(before)
	res.takesPerSecond = float64(sz.concurrentTakes) / elapsed.Seconds()
	res.writesPerTake = float64(d.writes["seatledgers"]) / float64(sz.concurrentTakes)
	res.conflictsPerTake = float64(d.refused["seatledgers"]) / float64(sz.concurrentTakes)
	// Every taker holds exactly one seat, and nobody else was added.
	if err := seats.GetLedger(ctx, admin, ledgerBenchNS, name, stored); err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range stored.Spec.Entries {
		if seen[e.Pod] {
			b.Fatalf("%s holds two seats", e.Pod)
		}
		seen[e.Pod] = true
	}
	if len(stored.Spec.Entries) != holders+sz.concurrentTakes || len(stored.Spec.Waiting) != waiting {
		b.Fatalf("the ledger holds %d entries and %d waiting, want %d and %d", len(stored.Spec.Entries), len(stored.Spec.Waiting), holders+sz.concurrentTakes, waiting)
	}
	return res
}

// The prototype of one object per seat.

var benchSeatGVK = schema.GroupVersionKind{Group: "bench.license-operator.dev", Version: "v1alpha1", Kind: "BenchSeat"}

const (
	benchSeatResource = "benchseats"
	// benchSeatRole labels a seat ("seat") or a place in line ("waiter").
	benchSeatRole = "bench.license-operator.dev/role"
	// benchSeatAssignment labels the assignment of a seat or waiter.
	benchSeatAssignment = "bench.license-operator.dev/assignment"
)

// benchSeatCRD is the prototype's kind: the fields of a ledger entry
// (pod, uid, admitted) and of a waiter (priority, queued, gang, gangSize).
func benchSeatCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	integer := apiextensionsv1.JSONSchemaProps{Type: "integer", Format: "int32"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: benchSeatResource + "." + benchSeatGVK.Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: benchSeatGVK.Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: benchSeatResource, Singular: "benchseat", Kind: benchSeatGVK.Kind, ListKind: benchSeatGVK.Kind + "List"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: benchSeatGVK.Version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Required: []string{"pod", "uid"}, Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"pod": str, "uid": str, "admitted": {Type: "string", Format: "date-time"},
							"priority": integer, "queued": {Type: "string", Format: "date-time"}, "gang": str, "gangSize": integer,
						}},
					},
				}},
			}},
		},
	}
}

func benchSeat(name, asg, role string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(benchSeatGVK)
	u.SetName(name)
	u.SetNamespace(ledgerBenchNS)
	u.SetLabels(map[string]string{benchSeatRole: role, benchSeatAssignment: asg})
	return u
}

func seatName(asg string, index int) string { return fmt.Sprintf("%s-%d", asg, index) }

// seatReplica is one replica's view of an assignment's seats (what its
// informer would hold): which indices are taken, by whom, and the line.
type seatReplica struct {
	mu    sync.Mutex
	taken map[int]string
	byPod map[string]int
	line  []licensing.Waiter
}

// seatView lists the seats and waiters of asg live (standing for an informer's cache).
func seatView(b *testing.B, ctx context.Context, c client.Client, asg string) *seatReplica {
	b.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(benchSeatGVK.GroupVersion().WithKind(benchSeatGVK.Kind + "List"))
	if err := c.List(ctx, l, client.InNamespace(ledgerBenchNS), client.MatchingLabels{benchSeatAssignment: asg}); err != nil {
		b.Fatal(err)
	}
	r := &seatReplica{taken: map[int]string{}, byPod: map[string]int{}}
	for _, o := range l.Items {
		pod, _, _ := unstructured.NestedString(o.Object, "spec", "pod")
		uid, _, _ := unstructured.NestedString(o.Object, "spec", "uid")
		if o.GetLabels()[benchSeatRole] == "waiter" {
			prio, _, _ := unstructured.NestedInt64(o.Object, "spec", "priority")
			queued, _, _ := unstructured.NestedString(o.Object, "spec", "queued")
			gang, _, _ := unstructured.NestedString(o.Object, "spec", "gang")
			size, _, _ := unstructured.NestedInt64(o.Object, "spec", "gangSize")
			q, _ := time.Parse(time.RFC3339Nano, queued)
			r.line = append(r.line, licensing.Waiter{Pod: pod, UID: uid, Priority: int32(prio), Queued: q, Gang: gang, GangSize: int32(size)})
			continue
		}
		var idx int
		if _, err := fmt.Sscanf(o.GetName()[len(asg)+1:], "%d", &idx); err != nil {
			b.Fatalf("seat %s: %v", o.GetName(), err)
		}
		r.taken[idx], r.byPod[pod] = pod, idx
	}
	return r
}

// take decides the ask as the webhook would (licensing.TakeSeats on the
// replica's view of the holders and the line) and creates the seat object
// of a free index; AlreadyExists (another replica took that index) marks
// it taken and tries another. Replica stripe of stripes tries the free
// indices i with i % stripes == stripe first, so that concurrent replicas
// rarely race for one index (with stripes 1, the lowest free index).
func (r *seatReplica) take(ctx context.Context, c client.Client, asg, pod string, stripe, stripes int) error {
	for {
		r.mu.Lock()
		line := append(append([]licensing.Waiter(nil), r.line...), licensing.Waiter{Pod: pod, UID: "uid-" + pod, Priority: 1, Queued: time.Now(), Refuse: true})
		d := licensing.TakeSeats(licensing.SeatState{Holders: len(r.taken), Seats: ledgerSeats, Enforcement: licensingv1alpha1.EnforcementHard}, line)
		if !d.IsGranted(pod) {
			r.mu.Unlock()
			return fmt.Errorf("%s refused: %s", pod, d.Stopped)
		}
		idx := -1
		for i := 0; i < ledgerSeats; i++ {
			if _, ok := r.taken[i]; !ok && i%stripes == stripe {
				idx = i
				break
			}
		}
		if idx < 0 { // the stripe is full: any free index
			for i := 0; i < ledgerSeats && idx < 0; i++ {
				if _, ok := r.taken[i]; !ok {
					idx = i
				}
			}
		}
		r.taken[idx] = pod // claimed in this replica while the create is in flight
		r.mu.Unlock()
		err := c.Create(ctx, benchSeat(seatName(asg, idx), asg, "seat", map[string]any{
			"pod": pod, "uid": "uid-" + pod, "admitted": time.Now().UTC().Format(time.RFC3339),
		}))
		r.mu.Lock()
		switch {
		case err == nil:
			r.byPod[pod] = idx
			r.mu.Unlock()
			return nil
		case apierrors.IsAlreadyExists(err):
			r.taken[idx] = "?" // another replica's
			r.mu.Unlock()
		default:
			delete(r.taken, idx)
			r.mu.Unlock()
			return err
		}
	}
}

// measureSeatObjects measures the prototype on a new assignment named asg,
// prefilled with holders seat objects and waiting waiter objects.
func measureSeatObjects(b *testing.B, ctx context.Context, admin, measured client.Client, counter *callCounter, meter *cpuMeter, asg string, holders, waiting int, sz ledgerSizes) layoutResult {
	b.Helper()
	now := time.Now().UTC()
	var objs []client.Object
	for i := range holders {
		objs = append(objs, benchSeat(seatName(asg, i), asg, "seat", map[string]any{
			"pod": fmt.Sprintf("holder-%d", i), "uid": fmt.Sprintf("uid-holder-%d", i), "admitted": now.Format(time.RFC3339),
		}))
	}
	for i := range waiting {
		pod := fmt.Sprintf("waiter-%d", i)
		objs = append(objs, benchSeat(asg+"-w-"+pod, asg, "waiter", map[string]any{
			"pod": pod, "uid": "uid-" + pod, "queued": now.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano),
			"gang": "gang", "gangSize": int64(waiting + 1),
		}))
	}
	seatCreate(b, admin, len(objs), func(i int) client.Object { return objs[i] })
	var res layoutResult
	// One taker.
	r := seatView(b, ctx, measured, asg)
	before, cpuBefore := counter.snapshot(), meter.sample()
	for i := range sz.takes {
		t := time.Now()
		if err := r.take(ctx, measured, asg, fmt.Sprintf("taker-%d", i), 0, 1); err != nil {
			b.Fatal(err)
		}
		res.take = append(res.take, time.Since(t))
		if i == 0 {
			res.firstTakeBytes = float64(counter.snapshot().sub(before).sent[benchSeatResource])
		}
	}
	d, cpu := counter.snapshot().sub(before), meter.sample().sub(cpuBefore).perPod(sz.takes)
	res.bytesPerTake = float64(d.sent[benchSeatResource]) / float64(sz.takes)
	res.apiserverMs, res.etcdMs = cpu.apiserver, cpu.etcd
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(benchSeatGVK)
	if err := admin.Get(ctx, types.NamespacedName{Namespace: ledgerBenchNS, Name: seatName(asg, r.byPod["taker-0"])}, stored); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(stored)
	res.storedBytes = len(raw)
	before = counter.snapshot()
	for i := range sz.takes {
		pod := fmt.Sprintf("taker-%d", i)
		t := time.Now()
		idx := r.byPod[pod]
		if err := measured.Delete(ctx, benchSeat(seatName(asg, idx), asg, "seat", nil)); err != nil {
			b.Fatal(err)
		}
		res.free = append(res.free, time.Since(t))
		delete(r.taken, idx)
		delete(r.byPod, pod)
	}
	d = counter.snapshot().sub(before)
	res.bytesPerFree = float64(d.sent[benchSeatResource]) / float64(sz.takes)
	// 16 takers in two replicas, each with its own view.
	replicas := make([]*seatReplica, ledgerReplicas)
	for i := range replicas {
		replicas[i] = seatView(b, ctx, measured, asg)
	}
	before = counter.snapshot()
	elapsed := parallelDo(b, ledgerTakers, sz.concurrentTakes, func(taker, i int) error {
		return replicas[taker%ledgerReplicas].take(ctx, measured, asg, fmt.Sprintf("ctaker-%d", i), taker%ledgerReplicas, ledgerReplicas)
	})
	d = counter.snapshot().sub(before)
	res.takesPerSecond = float64(sz.concurrentTakes) / elapsed.Seconds()
	res.writesPerTake = float64(d.writes[benchSeatResource]) / float64(sz.concurrentTakes)
	res.conflictsPerTake = float64(d.refused[benchSeatResource]) / float64(sz.concurrentTakes)
	// Every taker holds exactly one seat.
	check := seatView(b, ctx, admin, asg)
	held := map[string]int{}
	for _, pod := range check.taken {
		held[pod]++
	}
	for i := range sz.concurrentTakes {
		if n := held[fmt.Sprintf("ctaker-%d", i)]; n != 1 {
			b.Fatalf("ctaker-%d holds %d seats", i, n)
		}
	}
	if len(check.taken) != holders+sz.concurrentTakes || len(check.line) != waiting {
		b.Fatalf("%d seats and %d waiting, want %d and %d", len(check.taken), len(check.line), holders+sz.concurrentTakes, waiting)
	}
	if waiting > 0 {
		measureSeatLine(b, ctx, measured, counter, asg, check)
	}
	return res
}

// measureSeatLine measures the prototype's line with the waiting Pods of
// view in it: joining (a create of a waiter object), reading and ordering
// the line live (the queue controller's list, or its informer's resync),
// and dequeuing its head (create its seat, delete its waiter).
func measureSeatLine(b *testing.B, ctx context.Context, c client.Client, counter *callCounter, asg string, view *seatReplica) {
	// A free seat index for each dequeue, from view (the dequeuer's cache).
	b.Helper()
	const joins = 20
	var join, handover []time.Duration
	before := counter.snapshot()
	for i := range joins {
		pod := fmt.Sprintf("joiner-%d", i)
		t := time.Now()
		if err := c.Create(ctx, benchSeat(asg+"-w-"+pod, asg, "waiter", map[string]any{
			"pod": pod, "uid": "uid-" + pod, "priority": int64(2), "queued": time.Now().UTC().Format(time.RFC3339Nano),
		})); err != nil {
			b.Fatal(err)
		}
		join = append(join, time.Since(t))
	}
	joinBytes := float64(counter.snapshot().sub(before).sent[benchSeatResource]) / joins
	t := time.Now()
	v := seatView(b, ctx, c, asg)
	listed := time.Since(t)
	t = time.Now()
	licensing.LineOrder(v.line)
	ordered := time.Since(t)
	next := 0
	for i := range joins {
		head := v.line[i]
		if head.Priority != 2 {
			b.Fatalf("the head of the line is %s (priority %d), want a joiner", head.Pod, head.Priority)
		}
		t := time.Now()
		for ; view.taken[next] != ""; next++ {
		}
		idx := next
		next++
		if err := c.Create(ctx, benchSeat(seatName(asg, idx), asg, "seat", map[string]any{
			"pod": head.Pod, "uid": head.UID, "admitted": time.Now().UTC().Format(time.RFC3339),
		})); err != nil {
			b.Fatal(err)
		}
		if err := c.Delete(ctx, benchSeat(asg+"-w-"+head.Pod, asg, "waiter", nil)); err != nil {
			b.Fatal(err)
		}
		handover = append(handover, time.Since(t))
	}
	b.ReportMetric(meanMs(join), "seat-join-ms-1000")
	b.ReportMetric(joinBytes, "seat-join-bytes-1000")
	b.ReportMetric(ms(listed), "seat-line-list-ms-1000")
	b.ReportMetric(float64(ordered)/float64(time.Microsecond), "seat-line-order-µs-1000")
	b.ReportMetric(meanMs(handover), "seat-dequeue-ms-1000")
	b.Logf("seat   line of %d: join %.2f ms (%.0f bytes), live list of the line %.1f ms, LineOrder %v, dequeue (create seat + delete waiter) %.2f ms",
		len(v.line), meanMs(join), joinBytes, ms(listed), ordered, meanMs(handover))
}
