package bench

// BenchmarkDequeue measures how soon a freed Concurrent seat is used again
// (issue 11, "Dequeue latency"), in one run on the local cluster of
// test/localcluster: etcd and kube-apiserver, kube-controller-manager (the
// real ReplicaSet controller), kube-scheduler, one hollow node, and the
// manager binary built from ./cmd serving its webhooks, as deployed. Two
// paths share the cluster and the run:
//
//   - queue: an assignment of 10 seats, all held, and a line of 200 Pods
//     (refilled after every free, so every free meets the same line). 200
//     times, one holder is deleted; the latency is from its Delete call
//     returning to a watch on the API server showing the next Pod in line
//     without the seat gate. Reports p50, p99 and max (goal: p99 ≤ 1 s).
//   - refuse: the reference, the old behaviour. ReplicaSets of 2 replicas
//     whose template says when-no-seat: Refuse, each on an assignment of 2
//     seats of which a Pod of something else holds one: the ReplicaSet's
//     second Pod is refused (FailedCreate) and the ReplicaSet controller
//     retries with its exponential backoff. After the ReplicaSet has been
//     failing for a while (30 s to 54 s, and 2 min to 2 min 24 s), the other
//     Pod is deleted; the latency is from that Delete returning to the
//     watch showing the ReplicaSet's Pod created. 5 ReplicaSets per wait,
//     run side by side (the backoff is per ReplicaSet); their waits start
//     before the queue path and run through it.
//
// queue-p99-vs-refuse-p50 is the queue's p99 over the refuse path's median;
// queue-p99-vs-goal is the queue's p99 over 1 s. Every Pod has a node
// selector no node matches, so it is never bound and is deleted at once
// (no kubelet in the way of either path).
//
// Sizes: with BENCH=full, 1,000 frees on a line of 1,000, and a third
// refuse wait of 5 min; BENCH_FREES sets the frees and line. Run (about 3
// minutes on two cores; 10 or more with BENCH=full):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkDequeue -benchtime=1x -v -timeout 30m
//
// Results are in docs/benchmarks.md, section "Dequeue latency".

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
	"github.com/license-operator/license-operator/test/localcluster"
)

const (
	dequeueProduct  = "bench-dequeue"
	dequeueQueueNS  = "dequeue-queue"
	dequeueRefuseNS = "dequeue-refuse"
	dequeueQueueSA  = "queue"
	dequeueSeats    = 10
	// dequeueNowhere is the hostname of no node: the Pods stay unbound.
	dequeueNowhere = "dequeue-nowhere"
	dequeueGoal    = time.Second
	// dequeueWait bounds the wait for one Pod ungated or created.
	dequeueWait = 20 * time.Minute
	// refusePerWait ReplicaSets are freed for each wait, refuseStagger apart.
	refusePerWait = 5
	refuseStagger = 6 * time.Second
)

// dequeueSizes are the frees of the queue path (and the line it keeps) and
// how long the ReplicaSets of the refuse path fail before their seat frees.
type dequeueSizes struct {
	frees int
	waits []time.Duration
}

func dequeueSizesOf(b *testing.B) dequeueSizes {
	s := dequeueSizes{frees: 200, waits: []time.Duration{30 * time.Second, 2 * time.Minute}}
	if os.Getenv("BENCH") == "full" {
		s = dequeueSizes{frees: 1000, waits: []time.Duration{30 * time.Second, 2 * time.Minute, 5 * time.Minute}}
	}
	s.frees = envCount(b, "BENCH_FREES", s.frees)
	return s
}

// startDequeueCluster starts the local cluster with the controller manager
// and the manager binary; both stop when the benchmark ends.
func startDequeueCluster(b *testing.B) client.WithWatch {
	b.Helper()
	logf.SetLogger(logr.Discard())
	ctx := context.Background()
	lc, bin := startLocalCluster(b, localcluster.Options{HollowNodes: 1})
	if _, err := lc.StartManager(ctx, localcluster.ManagerOptions{Binary: bin}); err != nil {
		b.Fatal(err)
	}
	cfg := rest.CopyConfig(lc.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// dequeueLicence creates a namespace with a Concurrent Hard licence of
// dequeueProduct and one assignment of seats per ServiceAccount (named
// after it), and waits until every assignment is Bound.
func dequeueLicence(b *testing.B, c client.Client, ns string, seatsPer int32, sas []string) {
	b.Helper()
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(c.Create(ctx, kubecluster.MakeNamespace(ns, nil)))
	must(c.Create(ctx, utiltesting.MakeLicense("lic", ns).Product(dequeueProduct).
		Seats(seatsPer*int32(len(sas))).MaxActivations(int32(len(sas))).Obj()))
	for _, sa := range sas {
		must(c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}))
		must(c.Create(ctx, utiltesting.MakeAssignment(sa, ns).License("lic").ServiceAccount(sa).Seats(seatsPer).Obj()))
	}
	waitFor(b, "the assignments of "+ns+" Bound", func() bool {
		var list licensingv1alpha1.LicenseAssignmentList
		must(c.List(ctx, &list, client.InNamespace(ns)))
		bound := 0
		for _, a := range list.Items {
			if a.Status.State == licensingv1alpha1.AssignmentStateBound {
				bound++
			}
		}
		return bound == len(sas)
	})
}

// dequeuePod is an unbound Pod of dequeueProduct run as sa.
func dequeuePod(name, ns, sa string) *kubecluster.PodWrapper {
	return kubecluster.MakePod(name, ns).Product(dequeueProduct).ServiceAccount(sa).NodeSelector(dequeueNowhere)
}

// createPod creates p and fails unless the webhook gated it as want says.
func createPod(b *testing.B, c client.Client, p *corev1.Pod, gated bool) {
	b.Helper()
	if err := c.Create(context.Background(), p); err != nil {
		b.Fatalf("create %s: %v", p.Name, err)
	}
	if seats.Gated(p) != gated {
		b.Fatalf("Pod %s admitted with gates %v, want gated=%v", p.Name, p.Spec.SchedulingGates, gated)
	}
}

// seen is a Pod a watch showed at an instant.
type seen struct {
	name string
	at   time.Time
}

// runQueuePath measures frees on a full assignment with a line of frees Pods.
func runQueuePath(b *testing.B, ctx context.Context, c client.WithWatch, frees int) []time.Duration {
	b.Helper()
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	// Every Pod that goes from gated to ungated, in the order the watch shows it.
	ungated := make(chan seen, 2*frees+dequeueSeats)
	gated := map[string]bool{}
	watchObjects(b, wctx, &wg, c, &corev1.PodList{}, func(t watch.EventType, obj client.Object) {
		p, ok := obj.(*corev1.Pod)
		if !ok || t == watch.Deleted {
			return
		}
		if seats.Gated(p) {
			gated[p.Name] = true
		} else if gated[p.Name] {
			delete(gated, p.Name)
			ungated <- seen{name: p.Name, at: time.Now()}
		}
	}, client.InNamespace(dequeueQueueNS))

	holders := make([]string, 0, dequeueSeats)
	for i := range dequeueSeats {
		p := dequeuePod(fmt.Sprintf("holder-%02d", i), dequeueQueueNS, dequeueQueueSA).Obj()
		createPod(b, c, p, false)
		holders = append(holders, p.Name)
	}
	waiter := func(i int) string { return fmt.Sprintf("waiter-%04d", i) }
	var line []string
	for i := range frees {
		p := dequeuePod(waiter(i), dequeueQueueNS, dequeueQueueSA).Obj()
		createPod(b, c, p, true)
		line = append(line, p.Name)
	}
	// Let the position events of the new line go out before the first free.
	time.Sleep(2 * time.Second)

	lat := make([]time.Duration, 0, frees)
	outOfOrder := 0
	for i := range frees {
		victim := holders[0]
		holders = holders[1:]
		if err := c.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: victim, Namespace: dequeueQueueNS}}); err != nil {
			b.Fatalf("delete %s: %v", victim, err)
		}
		freed := time.Now()
		var next seen
		select {
		case next = <-ungated:
		case <-time.After(dequeueWait):
			b.Fatalf("free %d: no Pod ungated %v after %s was deleted", i, dequeueWait, victim)
		}
		lat = append(lat, max(next.at.Sub(freed), 0))
		if next.name != line[0] {
			outOfOrder++
		}
		line = slices.DeleteFunc(line, func(n string) bool { return n == next.name })
		holders = append(holders, next.name)
		// Refill the line (not timed) so that every free meets as many.
		p := dequeuePod(waiter(frees+i), dequeueQueueNS, dequeueQueueSA).Obj()
		createPod(b, c, p, true)
		line = append(line, p.Name)
	}
	select {
	case extra := <-ungated:
		b.Errorf("a Pod was ungated with no seat freed for it: %s", extra.name)
	case <-time.After(time.Second):
	}
	if outOfOrder > 0 {
		b.Errorf("%d of %d frees ungated another Pod than the head of the line", outOfOrder, frees)
	}
	return lat
}

// refuseSample is one free of the refuse path.
type refuseSample struct {
	rs      string
	wait    time.Duration // planned time between the ReplicaSet's creation and the free
	failing time.Duration // measured time between the ReplicaSet's creation and the free
	refused int32         // FailedCreate events counted on the ReplicaSet before the free
	latency time.Duration // from the free to the ReplicaSet's Pod created
}

// startRefusePath creates the ReplicaSets of the refuse path, each failing
// to create its second Pod, and frees the seat of each after its wait, in
// goroutines; the returned function waits for every sample.
func startRefusePath(b *testing.B, ctx context.Context, c client.WithWatch, waits []time.Duration) func() []refuseSample {
	b.Helper()
	n := len(waits) * refusePerWait
	name := func(i int) string { return fmt.Sprintf("rs-%02d", i) }
	var sas []string
	for i := range n {
		sas = append(sas, name(i))
	}
	dequeueLicence(b, c, dequeueRefuseNS, 2, sas)

	var mu sync.Mutex
	created := map[string]chan time.Time{} // ReplicaSet → its Pods' creation as watched
	for _, rs := range sas {
		created[rs] = make(chan time.Time, 4)
	}
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	watchObjects(b, wctx, &wg, c, &corev1.PodList{}, func(t watch.EventType, obj client.Object) {
		owner := metav1.GetControllerOf(obj)
		if t != watch.Added || owner == nil || owner.Kind != "ReplicaSet" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if ch, ok := created[owner.Name]; ok {
			ch <- time.Now()
		}
	}, client.InNamespace(dequeueRefuseNS))

	// Each ReplicaSet's assignment: one seat held by a Pod of something else.
	for _, rs := range sas {
		createPod(b, c, dequeuePod("other-"+rs, dequeueRefuseNS, rs).Obj(), false)
	}
	starts := make([]time.Time, n)
	for i, rs := range sas {
		pod := dequeuePod("", dequeueRefuseNS, rs).Refuse().Label("app", rs)
		t := pod.Template()
		t.Name, t.Namespace = "", ""
		r := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: rs, Namespace: dequeueRefuseNS},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": rs}},
				Template: t,
			},
		}
		if err := c.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		starts[i] = time.Now()
	}

	samples := make([]refuseSample, n)
	errs := make(chan error, n)
	var runs sync.WaitGroup
	for i, rs := range sas {
		wait := waits[i/refusePerWait]
		at := starts[i].Add(wait + time.Duration(i%refusePerWait)*refuseStagger)
		runs.Add(1)
		go func() {
			defer runs.Done()
			s, err := refuseOnce(ctx, c, rs, starts[i], at, created[rs])
			s.wait = wait
			samples[i] = s
			errs <- err
		}()
	}
	return func() []refuseSample {
		runs.Wait()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return samples
	}
}

// refuseOnce waits for the ReplicaSet's first Pod, checks at the instant at
// that its second was refused, frees the seat of the other Pod and waits
// for the second Pod created.
func refuseOnce(ctx context.Context, c client.Client, rs string, start, at time.Time, created <-chan time.Time) (refuseSample, error) {
	s := refuseSample{rs: rs}
	select {
	case <-created:
	case <-time.After(dequeueWait):
		return s, fmt.Errorf("%s created no Pod", rs)
	}
	time.Sleep(time.Until(at))
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(dequeueRefuseNS)); err != nil {
		return s, err
	}
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Kind == "ReplicaSet" && ev.InvolvedObject.Name == rs && ev.Reason == "FailedCreate" {
			s.refused += max(ev.Count, 1)
		}
	}
	if s.refused == 0 {
		return s, fmt.Errorf("%s: no FailedCreate event before the free", rs)
	}
	select {
	case <-created:
		return s, fmt.Errorf("%s created its second Pod before the free", rs)
	default:
	}
	if err := c.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other-" + rs, Namespace: dequeueRefuseNS}}); err != nil {
		return s, err
	}
	freed := time.Now()
	s.failing = freed.Sub(start)
	select {
	case t := <-created:
		s.latency = max(t.Sub(freed), 0)
	case <-time.After(dequeueWait):
		return s, fmt.Errorf("%s created no Pod %v after the free", rs, dequeueWait)
	}
	return s, nil
}

func BenchmarkDequeue(b *testing.B) {
	sizes := dequeueSizesOf(b)
	c := startDequeueCluster(b)
	ctx := context.Background()
	if err := c.Create(ctx, utiltesting.MakeProduct(dequeueProduct).
		Policy(utiltesting.MakePolicy("std").SeatModel(licensingv1alpha1.SeatModelConcurrent).Enforcement(licensingv1alpha1.EnforcementHard).Obj()).
		DefaultPolicy("std").Obj()); err != nil {
		b.Fatal(err)
	}
	dequeueLicence(b, c, dequeueQueueNS, dequeueSeats, []string{dequeueQueueSA})
	b.ResetTimer()

	t0 := time.Now()
	refuse := startRefusePath(b, ctx, c, sizes.waits)
	queue := runQueuePath(b, ctx, c, sizes.frees)
	queueDone := time.Since(t0)
	samples := refuse()
	b.StopTimer()

	qp50, qp99, qmax := percentile(queue, 0.50), percentile(queue, 0.99), slices.Max(queue)
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s.latency)
	}
	rp50 := percentile(all, 0.50)
	b.ReportMetric(ms(qp50), "queue-p50-ms")
	b.ReportMetric(ms(qp99), "queue-p99-ms")
	b.ReportMetric(ms(qmax), "queue-max-ms")
	b.ReportMetric(rp50.Seconds(), "refuse-p50-s")
	b.ReportMetric(float64(qp99)/float64(rp50), "queue-p99-vs-refuse-p50")
	b.ReportMetric(float64(qp99)/float64(dequeueGoal), "queue-p99-vs-goal")
	b.Logf("queue: %d frees on %d seats with a line of %d (done %v after the start): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		len(queue), dequeueSeats, sizes.frees, queueDone.Round(time.Second), ms(qp50), ms(qp99), ms(qmax))
	for i, wait := range sizes.waits {
		group := samples[i*refusePerWait : (i+1)*refusePerWait]
		var lat []time.Duration
		var parts []string
		for _, s := range group {
			lat = append(lat, s.latency)
			parts = append(parts, fmt.Sprintf("%s failing %v (%d FailedCreate): %.1f s", s.rs, s.failing.Round(time.Second), s.refused, s.latency.Seconds()))
		}
		p50 := percentile(lat, 0.50)
		b.ReportMetric(p50.Seconds(), fmt.Sprintf("refuse-after-%v-p50-s", wait))
		b.Logf("refuse after %v: p50 %.1f s, max %.1f s; %s", wait, p50.Seconds(), slices.Max(lat).Seconds(), strings.Join(parts, "; "))
	}
	b.Logf("refuse, all %d: p50 %.1f s; queue p99 / refuse p50 = %.4f", len(all), rp50.Seconds(), float64(qp99)/float64(rp50))
	if qp99 > dequeueGoal {
		b.Logf("GOAL MISSED: queue p99 %.1f ms > %v", ms(qp99), dequeueGoal)
	} else {
		b.Logf("goal met: queue p99 %.1f ms ≤ %v", ms(qp99), dequeueGoal)
	}
}
