package bench

// The licence lifecycle benchmarks run the manager's controllers
// (controller.SetupWithManager, as cmd/main.go does) against a real
// kube-apiserver and etcd (envtest) with the real clock:
//
//   - BenchmarkLifecycleExpiryLateness: 1,000 licences whose expiries are spread
//     over 60 s. For each, a watch records when its status first shows
//     Expired; the lateness is that instant minus its expiryDate. Reports
//     p50, p99 and max lateness (goal: p99 ≤ 1 s). The controller never polls:
//     each licence is requeued for exactly its expiry.
//   - BenchmarkLifecycleReconcileCost: the cost of reconciling one licence with
//     10 and with 2,000 other licences in the cluster (-lifecycle.others=10,10000
//     for 10,000; it takes several minutes, most of them creating and first
//     reconciling the others). Per reconcile: the reconcile time
//     (controller-runtime's reconcile_time_seconds) and the API requests the
//     manager made (counted at its HTTP transport), for a reconcile that
//     writes the status and one that finds nothing to write. Both should not
//     grow with the other licences: a reconcile reads its licence, product and
//     assignments from the cache through indexes and never lists every licence.
//     For reference, in the same run: how long the API server's watch takes to
//     deliver the client's update, and, for writing reconciles, the whole round
//     trip from the client's update to its read of the new status.
//
// Run (about three minutes on two idle cores):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkLifecycle -benchtime=1x -timeout 20m
//
// Results are in docs/benchmarks.md, section "Licence lifecycle".

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var (
	lifecycleLicences = flag.Int("lifecycle.licences", 1000, "licences of BenchmarkLifecycleExpiryLateness")
	lifecycleSpread   = flag.Duration("lifecycle.spread", 60*time.Second, "how long the expiries of BenchmarkLifecycleExpiryLateness are spread over")
	// lifecycleLead is how long after the start of the run the first licence
	// expires: time to create all of them first.
	lifecycleLead   = flag.Duration("lifecycle.lead", 30*time.Second, "time between the start of BenchmarkLifecycleExpiryLateness and its first expiry")
	lifecycleOthers = flag.String("lifecycle.others", "10,2000",
		"comma-separated counts of other licences BenchmarkLifecycleReconcileCost measures one licence's reconcile with")
)

// costUpdates is how many reconciles of one licence each measurement averages.
const costUpdates = 100

// lifecycleEnv is envtest with the manager's controllers running.
type lifecycleEnv struct {
	env      *envtest.Environment
	cfg      *rest.Config
	c        client.WithWatch
	stop     context.CancelFunc
	requests *requestCounter
}

// requestCounter counts the HTTP requests of the manager's clients.
type requestCounter struct {
	total, licences atomic.Int64
}

type countingTransport struct {
	next http.RoundTripper
	n    *requestCounter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.total.Add(1)
	if strings.Contains(req.URL.Path, "/softwarelicenses") {
		t.n.licences.Add(1)
	}
	return t.next.RoundTrip(req)
}

func startLifecycleEnv(b *testing.B) *lifecycleEnv {
	b.Helper()
	e := &lifecycleEnv{requests: &requestCounter{}}
	e.env, e.cfg = startEnvtest(b, nil)
	var err error
	scheme := kubecluster.Scheme()
	if e.c, err = client.NewWithWatch(e.cfg, client.Options{Scheme: scheme}); err != nil {
		b.Fatal(err)
	}

	mgrCfg := rest.CopyConfig(e.cfg)
	mgrCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &countingTransport{next: rt, n: e.requests} }
	opts := ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      controller.CacheOptions(),
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	}
	mgr, err := ctrl.NewManager(mgrCfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			b.Error(err)
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
	return e
}

func (e *lifecycleEnv) namespace(b *testing.B, name string) {
	b.Helper()
	if err := e.c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		b.Fatal(err)
	}
}

// createAll creates objects with a few workers.
func (e *lifecycleEnv) createAll(b *testing.B, n int, build func(i int) client.Object) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := e.c.Create(context.Background(), build(i)); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// BenchmarkLifecycleExpiryLateness measures how late after its expiryDate a
// licence's status shows Expired, over 1,000 licences expiring within 60 s.
func BenchmarkLifecycleExpiryLateness(b *testing.B) {
	e := startLifecycleEnv(b)
	for i := range b.N {
		ns := fmt.Sprintf("lateness-%d", i)
		e.namespace(b, ns)
		lateness := runExpiryLateness(b, e, ns)
		sort.Slice(lateness, func(i, j int) bool { return lateness[i] < lateness[j] })
		pct := func(p float64) time.Duration { return lateness[int(p*float64(len(lateness)-1))] }
		b.ReportMetric(pct(0.50).Seconds(), "p50-lateness-s")
		b.ReportMetric(pct(0.99).Seconds(), "p99-lateness-s")
		b.ReportMetric(lateness[len(lateness)-1].Seconds(), "max-lateness-s")
		b.ReportMetric(float64(len(lateness)), "licences")
		if p99 := pct(0.99); p99 > time.Second {
			b.Errorf("p99 lateness %v is above the 1 s goal", p99)
		}
	}
}

func runExpiryLateness(b *testing.B, e *lifecycleEnv, ns string) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := e.c.Watch(ctx, &licensingv1alpha1.SoftwareLicenseList{}, client.InNamespace(ns))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	begin := time.Now()
	first := begin.Add(*lifecycleLead).Truncate(time.Second)
	expiries := make(map[string]time.Time, *lifecycleLicences)
	for i := range *lifecycleLicences {
		expiries[fmt.Sprintf("l-%04d", i)] = first.Add(time.Duration(i) * *lifecycleSpread / time.Duration(*lifecycleLicences)).Truncate(time.Second)
	}
	e.createAll(b, *lifecycleLicences, func(i int) client.Object {
		name := fmt.Sprintf("l-%04d", i)
		return utiltesting.MakeLicense(name, ns).Seats(1).Start(begin.Add(-time.Hour)).Expiry(expiries[name]).Obj()
	})
	if created := time.Since(begin); created > *lifecycleLead {
		b.Fatalf("creating %d licences took %v, longer than the %v lead before the first expiry", *lifecycleLicences, created, *lifecycleLead)
	}

	seen := make(map[string]time.Duration, *lifecycleLicences)
	deadline := time.After(time.Until(first) + *lifecycleSpread + 30*time.Second)
	for len(seen) < *lifecycleLicences {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("the watch closed")
			}
			now := time.Now()
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			l := ev.Object.(*licensingv1alpha1.SoftwareLicense)
			if _, done := seen[l.Name]; done || l.Status.State != licensingv1alpha1.LicenseStateExpired {
				continue
			}
			seen[l.Name] = now.Sub(expiries[l.Name])
		case <-deadline:
			b.Fatalf("only %d of %d licences expired in time", len(seen), *lifecycleLicences)
		}
	}
	out := make([]time.Duration, 0, len(seen))
	for _, d := range seen {
		out = append(out, d)
	}
	return out
}

// BenchmarkLifecycleReconcileCost reconciles one licence with few and with
// many other licences in the cluster (-lifecycle.others) and reports, per
// reconcile, the time and the API requests of a reconcile that writes the
// status (a changed spec.seats) and of one that finds nothing to write (a
// touched annotation).
func BenchmarkLifecycleReconcileCost(b *testing.B) {
	var counts []int
	for _, f := range strings.Split(*lifecycleOthers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			b.Fatalf("-lifecycle.others: %q is not a count", f)
		}
		counts = append(counts, n)
	}
	sort.Ints(counts)
	e := startLifecycleEnv(b)
	for i := range b.N {
		ns := fmt.Sprintf("cost-%d", i)
		e.namespace(b, ns)
		ctx := context.Background()
		target := fmt.Sprintf("target-%d", i)
		filler := fmt.Sprintf("filler-%d", i)
		for _, p := range []string{target, filler} {
			if err := e.c.Create(ctx, utiltesting.MakeProduct(p).Authorization(licensingv1alpha1.AuthorizationUser).Obj()); err != nil {
				b.Fatal(err)
			}
		}
		if err := e.c.Create(ctx, utiltesting.MakeLicense("target", ns).Product(target).Seats(5).Obj()); err != nil {
			b.Fatal(err)
		}
		others := 0
		for _, want := range counts {
			start := others
			began := time.Now()
			e.createAll(b, want-start, func(j int) client.Object {
				return utiltesting.MakeLicense(fmt.Sprintf("other-%05d", start+j), ns).Product(filler).Seats(1).Obj()
			})
			created := time.Since(began)
			others = want
			e.waitSettled(b, ns, others+1)
			b.Logf("%d other licences: created in %v, all reconciled after %v", others, created.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

			for _, write := range []bool{true, false} {
				r := e.measureReconciles(b, ns, "target", write)
				kind := "noop"
				if write {
					kind = "write"
				}
				b.ReportMetric(r.reconcileTime.Seconds()*1e6, fmt.Sprintf("%s-reconcile-µs@%d", kind, others))
				b.ReportMetric(r.requests, fmt.Sprintf("%s-requests/reconcile@%d", kind, others))
				b.ReportMetric(float64(r.watchDelay)/float64(time.Millisecond), fmt.Sprintf("%s-watch-delay-ms@%d", kind, others))
				b.Logf("%d others, %s reconcile: %v per reconcile, %.2f API requests per reconcile (%.2f on licences), %v until a watch delivers the client's update",
					others, kind, r.reconcileTime.Round(time.Microsecond), r.requests, r.licenceRequests, r.watchDelay.Round(100*time.Microsecond))
				if write {
					b.ReportMetric(float64(r.roundTrip)/float64(time.Millisecond), fmt.Sprintf("write-round-trip-ms@%d", others))
					b.Logf("%d others: %v from the client's update to its read of the new status", others, r.roundTrip.Round(100*time.Microsecond))
				}
			}
		}
	}
}

type reconcileCost struct {
	reconcileTime             time.Duration
	requests, licenceRequests float64
	// roundTrip is from the client's Update to its Get showing the new
	// status; only for a reconcile that writes it (zero otherwise).
	roundTrip time.Duration
	// watchDelay is the API server's part of the round trip: from the
	// client's Update returning to a watch of the licence delivering it.
	watchDelay time.Duration
}

// measureReconciles makes costUpdates changes to a licence, one after the
// other, each waited for until it is reconciled, and returns the cost per
// reconcile. write changes spec.seats, which the reconcile writes to the
// status; otherwise an annotation is touched and the reconcile finds nothing
// to write. The requests are the manager's (its controllers and event
// recorder), not the benchmark's own.
func (e *lifecycleEnv) measureReconciles(b *testing.B, ns, name string, write bool) reconcileCost {
	b.Helper()
	ctx := context.Background()
	key := client.ObjectKey{Namespace: ns, Name: name}
	w, err := e.c.Watch(ctx, &licensingv1alpha1.SoftwareLicenseList{}, client.InNamespace(ns),
		client.MatchingFields{"metadata.name": name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var watchDelay time.Duration
	sumBefore, countBefore := reconcileTime(b)
	totalBefore, licBefore := e.requests.total.Load(), e.requests.licences.Load()
	begin := time.Now()
	for k := range costUpdates {
		l := &licensingv1alpha1.SoftwareLicense{}
		if err := e.c.Get(ctx, key, l); err != nil {
			b.Fatal(err)
		}
		seats := int32(6 + k%2)
		// A reconcile that writes nothing is seen only in the reconcile
		// counter, which is read by gathering every metric of the process:
		// with thousands of licences (a dozen series each) that takes longer
		// than the reconcile, so the round trip is measured on writes only.
		var reconciled float64
		if !write {
			_, reconciled = reconcileTime(b)
		}
		if write {
			l.Spec.Seats = &seats
		} else {
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations["bench.license-operator.dev/touch"] = strconv.Itoa(k)
		}
		if err := e.c.Update(ctx, l); err != nil {
			b.Fatal(err)
		}
		updated := time.Now()
		for seen := false; !seen; {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					b.Fatal("the watch closed")
				}
				if o, isLicence := ev.Object.(*licensingv1alpha1.SoftwareLicense); isLicence && o.ResourceVersion == l.ResourceVersion {
					watchDelay += time.Since(updated)
					seen = true
				}
			case <-time.After(time.Minute):
				b.Fatal("the watch did not deliver the update within a minute")
			}
		}
		for {
			if write {
				if err := e.c.Get(ctx, key, l); err != nil {
					b.Fatal(err)
				}
				if l.Status.ObservedGeneration == l.Generation && l.Status.Seats.Total != nil && *l.Status.Seats.Total == seats {
					break
				}
			} else if _, n := reconcileTime(b); n > reconciled {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(begin)
	// Let whatever follows the last change (the product's recount) settle into the counters.
	time.Sleep(500 * time.Millisecond)
	sumAfter, countAfter := reconcileTime(b)
	n := countAfter - countBefore
	if n < costUpdates {
		b.Fatalf("%v reconciles for %d changes", n, costUpdates)
	}
	cost := reconcileCost{
		reconcileTime:   time.Duration((sumAfter - sumBefore) / n * float64(time.Second)),
		requests:        float64(e.requests.total.Load()-totalBefore) / n,
		licenceRequests: float64(e.requests.licences.Load()-licBefore) / n,
		watchDelay:      watchDelay / costUpdates,
	}
	if write {
		cost.roundTrip = elapsed / costUpdates
	}
	return cost
}

// waitSettled waits until every licence of ns has a current status and the
// licence controller has nothing left to do.
func (e *lifecycleEnv) waitSettled(b *testing.B, ns string, want int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var list licensingv1alpha1.SoftwareLicenseList
		if err := e.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		current := 0
		for i := range list.Items {
			if list.Items[i].Status.ObservedGeneration == list.Items[i].Generation && list.Items[i].Status.State != "" {
				current++
			}
		}
		if current == want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d licences reconciled", current, want)
		}
		time.Sleep(time.Second)
	}
	// No reconcile for a second: the queue is empty.
	_, last := reconcileTime(b)
	for {
		time.Sleep(time.Second)
		_, now := reconcileTime(b)
		if now == last {
			return
		}
		last = now
	}
}

// reconcileTime reads the sum and count of the licence controller's
// controller_runtime_reconcile_time_seconds.
func reconcileTime(b *testing.B) (sum, count float64) {
	b.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "controller") == "softwarelicense" {
				sum += m.GetHistogram().GetSampleSum()
				count += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, count
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
