package bench

// BenchmarkSeatAccounting runs the manager's controllers (as cmd/main.go
// does) against a real kube-apiserver and etcd (envtest) and measures seat
// accounting at scale: 1,000 licences of 10 seats (in 100 namespaces), then
// 10,000 one-seat assignments, 10 per licence, created at once by 16
// clients. It reports:
//
//   - converge-s: from the last assignment created to every status correct
//     (every assignment Bound to its licence, every licence 10 used of 10),
//     as seen by a watch;
//   - baseline-s: how long a plain client takes, on the same API server in
//     the same run, to write the same number of status updates (10,000
//     assignment statuses and 1,000 licence statuses, one Update each, with
//     as many concurrent writers as the manager has workers), and
//     converge-vs-baseline, their ratio (goal ≤ 1.5);
//   - writes-per-assignment: the manager's create/update/patch/delete
//     requests during the assignment phase, counted at its HTTP transport,
//     per assignment (goal ≤ 1.2); reads-per-assignment likewise;
//   - heap-bytes-per-object: the manager's heap growth (runtime.MemStats
//     HeapAlloc after a GC) from before the assignments to after, per
//     assignment cached (goal ≤ 10 KiB). The benchmark's own bookkeeping is
//     a few hundred bytes per object and is counted in.
//
// Run (about two minutes on two cores):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkSeatAccounting -benchtime=1x -timeout 20m
//
// Results are in docs/benchmarks.md, section "Seat accounting".

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	seatNamespaces         = 100
	seatLicencesPerNS      = 10
	seatAssignmentsPerLic  = 10
	seatLicences           = seatNamespaces * seatLicencesPerNS
	seatAssignments        = seatLicences * seatAssignmentsPerLic
	seatCreators           = 16
	seatConvergeTimeout    = 10 * time.Minute
	seatGoalRatio          = 1.5
	seatGoalWritesPerAsg   = 1.2
	seatGoalBytesPerObject = 10 * 1024
)

// seatCounter counts the manager's API requests, writes apart.
type seatCounter struct {
	reads, writes atomic.Int64
	counting      atomic.Bool
	// writes by what they write
	mu      sync.Mutex
	written map[string]int
}

type seatCountingTransport struct {
	next http.RoundTripper
	n    *seatCounter
}

func (t *seatCountingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.n.counting.Load() {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			t.n.writes.Add(1)
			what := "other"
			switch p := req.URL.Path; {
			case strings.Contains(p, "/licenseassignments/") && strings.HasSuffix(p, "/status"):
				what = "assignment status"
			case strings.Contains(p, "/softwarelicenses/") && strings.HasSuffix(p, "/status"):
				what = "licence status"
			case strings.Contains(p, "/softwarelicenses/"):
				what = "licence metadata (finalizer)"
			case strings.Contains(p, "/events"):
				what = "event"
			}
			t.n.mu.Lock()
			t.n.written[req.Method+" "+what]++
			t.n.mu.Unlock()
			resp, err := t.next.RoundTrip(req)
			if err == nil && resp.StatusCode == http.StatusConflict {
				t.n.mu.Lock()
				t.n.written[req.Method+" "+what+" refused: Conflict"]++
				t.n.mu.Unlock()
			}
			return resp, err
		default:
			t.n.reads.Add(1)
		}
	}
	return t.next.RoundTrip(req)
}

func BenchmarkSeatAccounting(b *testing.B) {
	_, cfg := startEnvtest(b, nil)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling: the API server is the limit
	scheme := kubecluster.Scheme()
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}

	for i := range b.N {
		runSeatAccounting(b, cfg, c, fmt.Sprintf("r%d", i))
	}
}

func runSeatAccounting(b *testing.B, cfg *rest.Config, c client.WithWatch, run string) {
	ctx := context.Background()
	counter := &seatCounter{written: map[string]int{}}
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &seatCountingTransport{next: rt, n: counter} }
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:     kubecluster.Scheme(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      controller.CacheOptions(),
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}}); err != nil {
		b.Fatal(err)
	}
	mctx, mcancel := context.WithCancel(ctx)
	mgrDone := make(chan struct{})
	go func() {
		defer close(mgrDone)
		if err := mgr.Start(mctx); err != nil {
			b.Error(err)
		}
	}()
	stopManager := func() { mcancel(); <-mgrDone }
	defer stopManager()

	// The licences, settled before the measured phase.
	nsName := func(i int) string { return fmt.Sprintf("seats-%s-%03d", run, i) }
	for i := range seatNamespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Hour)
	licenceOf := func(i int) (string, string) {
		return nsName(i / seatLicencesPerNS), fmt.Sprintf("lic-%d", i%seatLicencesPerNS)
	}
	seatCreate(b, c, seatLicences, func(i int) client.Object {
		ns, name := licenceOf(i)
		return utiltesting.MakeLicense(name, ns).Seats(seatAssignmentsPerLic).MaxActivations(seatAssignmentsPerLic).Start(start).Obj()
	})
	tracker := newSeatTracker(b, c, run)
	defer tracker.stop()
	waitFor(b, "licences Ready", func() bool { return tracker.licencesReady() == seatLicences })

	// The measured phase: 10,000 assignments at once.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	counter.counting.Store(true)
	t0 := time.Now()
	seatCreate(b, c, seatAssignments, func(i int) client.Object {
		ns, lic := licenceOf(i / seatAssignmentsPerLic)
		return utiltesting.MakeAssignment(fmt.Sprintf("a-%05d", i), ns).ServiceAccount("runner").License(lic).Obj()
	})
	lastCreate := time.Now()
	var converged time.Time
	select {
	case <-tracker.done:
		converged = tracker.convergedAt
	case <-time.After(seatConvergeTimeout):
		b.Fatalf("not converged after %v: %d assignments bound, %d licences full", seatConvergeTimeout, tracker.boundCount(), tracker.fullCount())
	}
	// Let the manager finish what the last events cause (no-op passes) before counting.
	time.Sleep(2 * time.Second)
	counter.counting.Store(false)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	writes, reads := counter.writes.Load(), counter.reads.Load()
	stopManager()

	// The baseline: the same number of status updates from a plain client.
	baseline := seatBaseline(b, c, run, licenceOf)

	convergeAfterLast := max(converged.Sub(lastCreate), 0)
	ratio := convergeAfterLast.Seconds() / baseline.Seconds()
	b.ReportMetric(lastCreate.Sub(t0).Seconds(), "create-s")
	b.ReportMetric(converged.Sub(t0).Seconds(), "first-create-to-converged-s")
	b.ReportMetric(convergeAfterLast.Seconds(), "converge-s")
	b.ReportMetric(baseline.Seconds(), "baseline-s")
	b.ReportMetric(ratio, "converge-vs-baseline")
	b.ReportMetric(float64(writes)/seatAssignments, "writes-per-assignment")
	b.ReportMetric(float64(reads)/seatAssignments, "reads-per-assignment")
	heapPerObject := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / seatAssignments
	b.ReportMetric(heapPerObject, "heap-bytes-per-object")
	b.Logf("create %v, converged %v after the last create (%v after the first), baseline %v: ratio %.2f; %d writes, %d reads; heap %d → %d",
		lastCreate.Sub(t0).Round(time.Millisecond), convergeAfterLast.Round(time.Millisecond), converged.Sub(t0).Round(time.Millisecond),
		baseline.Round(time.Millisecond), ratio, writes, reads, before.HeapAlloc, after.HeapAlloc)
	b.Logf("manager writes: %v", counter.written)
	if ratio > seatGoalRatio {
		b.Logf("GOAL MISSED: converge-vs-baseline %.2f > %.1f", ratio, seatGoalRatio)
	}
	if w := float64(writes) / seatAssignments; w > seatGoalWritesPerAsg {
		b.Logf("GOAL MISSED: writes-per-assignment %.4f > %.1f", w, seatGoalWritesPerAsg)
	}
	if heapPerObject > seatGoalBytesPerObject {
		b.Logf("GOAL MISSED: heap-bytes-per-object %.0f > %d", heapPerObject, seatGoalBytesPerObject)
	}
}

// seatCreate creates n objects from seatCreators concurrent clients.
func seatCreate(b *testing.B, c client.Client, n int, build func(i int) client.Object) {
	b.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Value
	for range seatCreators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := c.Create(context.Background(), build(i)); err != nil {
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

func waitFor(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(seatConvergeTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seatTracker follows every assignment and licence of the run through
// watches and records when every status is correct.
type seatTracker struct {
	mu          sync.Mutex
	prefix      string
	bound       map[string]bool // assignment key → Bound to the licence it names, one seat
	full        map[string]bool // licence key → 10 used, 10 activations, none pending
	ready       map[string]bool // licence key → Ready
	convergedAt time.Time
	done        chan struct{}
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

func newSeatTracker(b *testing.B, c client.WithWatch, run string) *seatTracker {
	ctx, cancel := context.WithCancel(context.Background())
	t := &seatTracker{prefix: "seats-" + run + "-", bound: map[string]bool{}, full: map[string]bool{}, ready: map[string]bool{},
		done: make(chan struct{}), cancel: cancel}
	t.follow(b, ctx, c, &licensingv1alpha1.LicenseAssignmentList{}, func(obj client.Object) {
		a := obj.(*licensingv1alpha1.LicenseAssignment)
		t.bound[a.Namespace+"/"+a.Name] = a.Status.State == licensingv1alpha1.AssignmentStateBound &&
			a.Status.License == a.Namespace+"/"+a.Spec.LicenseRef.Name && a.Status.Seats == 1 &&
			meta.IsStatusConditionTrue(a.Status.Conditions, licensingv1alpha1.ConditionBound)
	})
	t.follow(b, ctx, c, &licensingv1alpha1.SoftwareLicenseList{}, func(obj client.Object) {
		l := obj.(*licensingv1alpha1.SoftwareLicense)
		k := l.Namespace + "/" + l.Name
		t.ready[k] = meta.IsStatusConditionTrue(l.Status.Conditions, licensingv1alpha1.ConditionReady)
		s := l.Status.Seats
		t.full[k] = s.Used == seatAssignmentsPerLic && s.Pending == 0 && l.Status.Activations == seatAssignmentsPerLic &&
			s.Available != nil && *s.Available == 0
	})
	return t
}

// follow watches every object of a kind in the run's namespaces.
func (t *seatTracker) follow(b *testing.B, ctx context.Context, c client.WithWatch, list client.ObjectList, observe func(client.Object)) {
	watchObjects(b, ctx, &t.wg, c, list, func(_ watch.EventType, obj client.Object) {
		if len(obj.GetNamespace()) < len(t.prefix) || obj.GetNamespace()[:len(t.prefix)] != t.prefix {
			return
		}
		t.mu.Lock()
		observe(obj)
		if t.convergedAt.IsZero() && t.countTrue(t.bound) == seatAssignments && t.countTrue(t.full) == seatLicences {
			t.convergedAt = time.Now()
			close(t.done)
		}
		t.mu.Unlock()
	})
}

// watchObjects watches the objects of list (narrowed by opts) and calls
// observe with each event (bookmarks aside), in a goroutine counted in wg,
// until ctx ends; a watch the API server ends is resumed from the last
// resource version seen. The first watch is open when it returns, so no
// later change is missed.
func watchObjects(b *testing.B, ctx context.Context, wg *sync.WaitGroup, c client.WithWatch, list client.ObjectList,
	observe func(watch.EventType, client.Object), opts ...client.ListOption) {
	b.Helper()
	open := func(rv string) (watch.Interface, error) {
		o := append([]client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}}}, opts...)
		return c.Watch(ctx, list, o...)
	}
	w, err := open("")
	if err != nil {
		b.Fatalf("watch: %v", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rv := ""
		for {
			for ev := range w.ResultChan() {
				obj, ok := ev.Object.(client.Object)
				if !ok || ev.Type == watch.Error {
					break
				}
				rv = obj.GetResourceVersion()
				if ev.Type != watch.Bookmark {
					observe(ev.Type, obj)
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return
			}
			if w, err = open(rv); err != nil {
				if ctx.Err() == nil {
					b.Errorf("watch: %v", err)
				}
				return
			}
		}
	}()
}

func (t *seatTracker) countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func (t *seatTracker) licencesReady() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.countTrue(t.ready)
}
func (t *seatTracker) boundCount() int { t.mu.Lock(); defer t.mu.Unlock(); return t.countTrue(t.bound) }
func (t *seatTracker) fullCount() int  { t.mu.Lock(); defer t.mu.Unlock(); return t.countTrue(t.full) }
func (t *seatTracker) stop()           { t.cancel(); t.wg.Wait() }

// seatBaseline writes, with a plain client and as many writers as the
// manager has workers (one: controller-runtime's default, which the
// SoftwareLicense controller keeps), one status Update of each assignment
// and each licence of the run, and returns how long it took.
func seatBaseline(b *testing.B, c client.Client, run string, licenceOf func(int) (string, string)) time.Duration {
	ctx := context.Background()
	var assignments []licensingv1alpha1.LicenseAssignment
	var licences []licensingv1alpha1.SoftwareLicense
	for i := range seatNamespaces {
		ns, _ := licenceOf(i * seatLicencesPerNS)
		var al licensingv1alpha1.LicenseAssignmentList
		if err := c.List(ctx, &al, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		assignments = append(assignments, al.Items...)
		var ll licensingv1alpha1.SoftwareLicenseList
		if err := c.List(ctx, &ll, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		licences = append(licences, ll.Items...)
	}
	_ = run
	t0 := time.Now()
	for i := range assignments {
		a := &assignments[i]
		a.Status.Message = "baseline"
		if err := c.Status().Update(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	for i := range licences {
		l := &licences[i]
		l.Status.Seats.Pending++
		if err := c.Status().Update(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0)
}
