package bench

// BenchmarkConverge (issue 15) starts the manager's controllers (as
// cmd/main.go sets them up: controller.SetupWithManager with its default
// options, client-side rate limiting off, leader election off) COLD against a
// real kube-apiserver and etcd (envtest) that already hold the licences and
// assignments: a plain client with 16 writers creates them first, 100
// one-seat assignments per licence (licenceRef), 10 licences per namespace,
// each licence exactly as many seats as assignments. A watch records when
// every status is correct: every assignment Bound to its licence with one
// seat and Bound=True, every licence all seats used, 0 available, 0 pending.
//
// Sizes (sub-benchmark assignments=N): 2,000 over 20 licences by default;
// with BENCH=full 10,000 over 100 and 100,000 over 1,000 (BENCH_CONVERGE=n with
// BENCH=full runs the one size n). Each size runs on an API server of its own.
//
// It reports, per size:
//
//   - converge-s: from the manager's Start to every status correct;
//   - raw-s: the reference, measured on the same objects in the same run once
//     the manager is stopped: a plain client writes one status Update of
//     every assignment and every licence with 16 parallel writers (the API
//     server's own write capacity here); converge/raw, their ratio (goal
//     ≤ 1.2); raw-1writer-s the same writes from one writer (measured on the
//     first 1,000 objects and scaled, so that it stays short at 100,000);
//   - writes/assignment: the manager's create/update/patch/delete requests
//     from its Start to convergence (and 2 s more), counted at its HTTP
//     transport, per assignment (goal ≤ 1.1); reads/assignment likewise;
//   - apiserver-cpu-s, etcd-cpu-s, manager-cpu-s: CPU time of the
//     kube-apiserver and etcd processes and of this process (the manager,
//     the watch and the benchmark) during convergence, to say what bounds it
//     (2 cores: 2 CPU-seconds per second).
//
// BENCH_LICENCE_CONCURRENCY=n runs the licence controller with n workers
// (--licence-concurrency) instead of the default.
//
// BENCH_DROP_EVENTS=1 answers the manager's event writes at its transport
// without sending them (they are still counted): the cost of the events, by
// difference with a normal run.
//
// BENCH_CPUPROFILE=dir writes the CPU profile of this process during
// convergence to dir/converge-<N>.pprof.
//
// Run (about 60 s by default; about 15 minutes with BENCH=full):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkConverge -benchtime=1x -v -timeout 30m
//	BENCH=full go test ./test/bench/ -run '^$' -bench BenchmarkConverge -benchtime=1x -v -timeout 60m

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
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
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	convergePerLicence    = 100
	convergeLicencesPerNS = 10
	seatCreators          = 16
	seatConvergeTimeout   = 60 * time.Minute
	convergeGoalRatio     = 1.2
	convergeGoalWrites    = 1.1
	// convergeRaw1Sample is how many objects the one-writer reference writes.
	convergeRaw1Sample = 1000
)

// convergeSizes are the assignment counts of BenchmarkConverge.
func convergeSizes(b *testing.B) []int {
	if n := envCount(b, "BENCH_CONVERGE", 0); n > 0 && os.Getenv("BENCH") == "full" {
		return []int{n}
	}
	return fullOr([]int{2000}, []int{10000, 100000})
}

func BenchmarkConverge(b *testing.B) {
	for _, n := range convergeSizes(b) {
		b.Run(fmt.Sprintf("assignments=%d", n), func(b *testing.B) {
			_, cfg := startEnvtest(b, nil)
			cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling: the API server is the limit
			c, err := client.NewWithWatch(cfg, client.Options{Scheme: kubecluster.Scheme()})
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				runConverge(b, cfg, c, fmt.Sprintf("r%d", i), n)
			}
		})
	}
}

// convergeFixture names the objects of one run.
type convergeFixture struct {
	run                   string
	assignments, licences int
	namespaces            int
}

func (f convergeFixture) namespace(i int) string { return fmt.Sprintf("cv-%s-%03d", f.run, i) }

// licence is the namespace and name of licence i.
func (f convergeFixture) licence(i int) (string, string) {
	return f.namespace(i / convergeLicencesPerNS), fmt.Sprintf("lic-%d", i%convergeLicencesPerNS)
}

func runConverge(b *testing.B, cfg *rest.Config, c client.WithWatch, run string, n int) {
	ctx := context.Background()
	f := convergeFixture{run: run, assignments: n, licences: n / convergePerLicence}
	f.namespaces = (f.licences + convergeLicencesPerNS - 1) / convergeLicencesPerNS

	// The objects, before the manager starts.
	for i := range f.namespaces {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace(i)}}); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Hour)
	t0 := time.Now()
	seatCreate(b, c, f.licences, func(i int) client.Object {
		ns, name := f.licence(i)
		return utiltesting.MakeLicense(name, ns).Seats(convergePerLicence).MaxActivations(convergePerLicence).Start(start).Obj()
	})
	seatCreate(b, c, n, func(i int) client.Object {
		ns, lic := f.licence(i / convergePerLicence)
		return utiltesting.MakeAssignment(fmt.Sprintf("a-%06d", i), ns).ServiceAccount("runner").License(lic).Obj()
	})
	created := time.Since(t0)
	tracker := newConvergeTracker(b, c, f)
	defer tracker.stop()

	// The cold start.
	counter := newSeatCounter()
	stopProfile := startBenchProfile(b, fmt.Sprintf("converge-%d", n))
	cpuBefore := benchCPU()
	counter.counting.Store(true)
	started := time.Now()
	stopManager := startBenchManager(b, cfg, counter)
	defer stopManager()
	var converged time.Time
	select {
	case <-tracker.done:
		converged = tracker.convergedAt
	case <-time.After(seatConvergeTimeout):
		b.Fatalf("not converged after %v: %d of %d assignments bound, %d of %d licences full",
			seatConvergeTimeout, tracker.bound.Load(), n, tracker.full.Load(), f.licences)
	}
	cpu := benchCPU().sub(cpuBefore)
	stopProfile()
	// Let the manager finish what the last events cause (no-op passes) before counting.
	time.Sleep(2 * time.Second)
	counter.counting.Store(false)
	writes, reads := counter.writes.Load(), counter.reads.Load()
	stopManager()
	if over := tracker.overbooked.Load(); over > 0 {
		b.Fatalf("%d licence statuses showed more seats used than the licence has", over)
	}

	// The reference: the same status writes from a plain client.
	raw16, raw1 := convergeRaw(b, c, f)

	converge := converged.Sub(started)
	ratio := converge.Seconds() / raw16.Seconds()
	perAsg := float64(writes) / float64(n)
	b.ReportMetric(ratio, "converge/raw")
	b.ReportMetric(converge.Seconds(), "converge-s")
	b.ReportMetric(raw16.Seconds(), "raw-s")
	b.ReportMetric(raw1.Seconds(), "raw-1writer-s")
	b.ReportMetric(perAsg, "writes/assignment")
	b.ReportMetric(float64(counter.eventWrites())/float64(n), "event-writes/assignment")
	b.ReportMetric(float64(reads)/float64(n), "reads/assignment")
	b.ReportMetric(created.Seconds(), "create-s")
	b.ReportMetric(cpu.apiserver, "apiserver-cpu-s")
	b.ReportMetric(cpu.etcd, "etcd-cpu-s")
	b.ReportMetric(cpu.self, "manager-cpu-s")
	b.Logf("%d assignments over %d licences in %d namespaces: created in %v; converged %v after the manager's start; "+
		"raw status writes %v (16 writers), %v (1 writer, scaled from %d objects); %d writes, %d reads; "+
		"CPU during convergence: kube-apiserver %.1f s, etcd %.1f s, this process %.1f s",
		n, f.licences, f.namespaces, created.Round(time.Millisecond), converge.Round(time.Millisecond), raw16.Round(time.Millisecond),
		raw1.Round(time.Millisecond), min(convergeRaw1Sample, n+f.licences), writes, reads, cpu.apiserver, cpu.etcd, cpu.self)
	b.Logf("manager writes: %v", counter.written)
	b.Logf("goal converge/raw: ours %.1f s, reference %.1f s, ratio %.2f (goal ≤ %.1f): %s",
		converge.Seconds(), raw16.Seconds(), ratio, convergeGoalRatio, metOrMissed(ratio <= convergeGoalRatio))
	b.Logf("goal writes/assignment: ours %.4f, reference 1 (ideal), ratio %.4f (goal ≤ %.1f): %s",
		perAsg, perAsg, convergeGoalWrites, metOrMissed(perAsg <= convergeGoalWrites))
}

// benchControllerOptions are cmd/main.go's controller options; the
// environment variable BENCH_LICENCE_CONCURRENCY sets --licence-concurrency
// (for comparing worker counts; unset, the flag's default).
func benchControllerOptions(b *testing.B) controller.Options {
	opts := controller.Options{Clock: clock.RealClock{}}
	opts.LicenceConcurrency = envCount(b, "BENCH_LICENCE_CONCURRENCY", 0)
	return opts
}

// convergeTracker follows every assignment and licence of a run through
// watches and records when every status is correct. It counts
// incrementally: at 100,000 objects a recount per event would not keep up.
type convergeTracker struct {
	mu          sync.Mutex
	f           convergeFixture
	prefix      string
	boundKeys   map[string]bool
	fullKeys    map[string]bool
	bound, full atomic.Int64
	// overbooked counts licence statuses that showed more seats used than the licence has.
	overbooked  atomic.Int64
	convergedAt time.Time
	done        chan struct{}
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

func newConvergeTracker(b *testing.B, c client.WithWatch, f convergeFixture) *convergeTracker {
	ctx, cancel := context.WithCancel(context.Background())
	t := &convergeTracker{f: f, prefix: "cv-" + f.run + "-", boundKeys: map[string]bool{}, fullKeys: map[string]bool{},
		done: make(chan struct{}), cancel: cancel}
	set := func(m map[string]bool, n *atomic.Int64, key string, v bool) {
		if m[key] != v {
			m[key] = v
			if v {
				n.Add(1)
			} else {
				n.Add(-1)
			}
		}
	}
	t.follow(b, ctx, c, &licensingv1alpha1.LicenseAssignmentList{}, func(obj client.Object) {
		a := obj.(*licensingv1alpha1.LicenseAssignment)
		set(t.boundKeys, &t.bound, a.Namespace+"/"+a.Name, a.Status.State == licensingv1alpha1.AssignmentStateBound &&
			a.Status.License == a.Namespace+"/"+a.Spec.LicenseRef.Name && a.Status.Seats == 1 &&
			meta.IsStatusConditionTrue(a.Status.Conditions, licensingv1alpha1.ConditionBound))
	})
	t.follow(b, ctx, c, &licensingv1alpha1.SoftwareLicenseList{}, func(obj client.Object) {
		l := obj.(*licensingv1alpha1.SoftwareLicense)
		s := l.Status.Seats
		if s.Used > convergePerLicence {
			t.overbooked.Add(1)
		}
		set(t.fullKeys, &t.full, l.Namespace+"/"+l.Name, s.Used == convergePerLicence && s.Pending == 0 &&
			l.Status.Activations == convergePerLicence && s.Available != nil && *s.Available == 0 &&
			meta.IsStatusConditionTrue(l.Status.Conditions, licensingv1alpha1.ConditionReady))
	})
	return t
}

// follow watches every object of a kind in the run's namespaces.
func (t *convergeTracker) follow(b *testing.B, ctx context.Context, c client.WithWatch, list client.ObjectList, observe func(client.Object)) {
	watchObjects(b, ctx, &t.wg, c, list, func(_ watch.EventType, obj client.Object) {
		if !strings.HasPrefix(obj.GetNamespace(), t.prefix) {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		observe(obj)
		if t.convergedAt.IsZero() && int(t.bound.Load()) == t.f.assignments && int(t.full.Load()) == t.f.licences {
			t.convergedAt = time.Now()
			close(t.done)
		}
	})
}

func (t *convergeTracker) stop() { t.cancel(); t.wg.Wait() }

// convergeRaw writes one status Update of every assignment and licence of
// the run with seatCreators writers, then the first convergeRaw1Sample of
// them again with one writer, and returns how long the first took and how
// long the second would take for all of them.
func convergeRaw(b *testing.B, c client.Client, f convergeFixture) (parallel, serial time.Duration) {
	ctx := context.Background()
	var objs []client.Object
	for i := range f.namespaces {
		var ll licensingv1alpha1.SoftwareLicenseList
		if err := c.List(ctx, &ll, client.InNamespace(f.namespace(i))); err != nil {
			b.Fatal(err)
		}
		for j := range ll.Items {
			objs = append(objs, &ll.Items[j])
		}
		var al licensingv1alpha1.LicenseAssignmentList
		if err := c.List(ctx, &al, client.InNamespace(f.namespace(i))); err != nil {
			b.Fatal(err)
		}
		for j := range al.Items {
			objs = append(objs, &al.Items[j])
		}
	}
	touch := func(o client.Object, mark string) client.Object {
		switch o := o.(type) {
		case *licensingv1alpha1.LicenseAssignment:
			o.Status.Message = mark
		case *licensingv1alpha1.SoftwareLicense:
			o.Status.Seats.Pending++
		}
		return o
	}
	parallel = rawStatusWrites(b, c, objs, seatCreators, func(o client.Object) client.Object { return touch(o, "raw") })
	sample := objs[:min(convergeRaw1Sample, len(objs))]
	d := rawStatusWrites(b, c, sample, 1, func(o client.Object) client.Object { return touch(o, "raw-1") })
	serial = time.Duration(float64(d) * float64(len(objs)) / float64(len(sample)))
	return parallel, serial
}

// rawStatusWrites writes the status of every object with a plain client from
// writers goroutines, each object once (change prepares it), and returns how
// long it took.
func rawStatusWrites(b *testing.B, c client.Client, objs []client.Object, writers int, change func(client.Object) client.Object) time.Duration {
	b.Helper()
	return parallelDo(b, writers, len(objs), func(_, i int) error {
		return c.Status().Update(context.Background(), change(objs[i]))
	})
}

// startBenchProfile starts a CPU profile of this process into
// $BENCH_CPUPROFILE/name.pprof when BENCH_CPUPROFILE is set; the function it
// returns stops it.
func startBenchProfile(b *testing.B, name string) func() {
	return startCPUProfileIn(b, os.Getenv("BENCH_CPUPROFILE"), name)
}

// startCPUProfileIn profiles this process's CPU into dir/name.pprof when dir
// is set, until the returned func is called.
func startCPUProfileIn(b *testing.B, dir, name string) func() {
	if dir == "" {
		return func() {}
	}
	fh, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); _ = fh.Close() }
}

// benchCPU is the CPU time, in seconds, of this process and of the
// kube-apiserver and etcd it started (envtest), from /proc (admission's
// cpuMeter); zero where /proc is not there.
func benchCPU() cpuTimes {
	t := newCPUMeter().sample()
	return cpuTimes{t.self / 1000, t.apiserver / 1000, t.etcd / 1000}
}

// seatCounter counts the manager's API requests, writes apart.
type seatCounter struct {
	reads, writes atomic.Int64
	counting      atomic.Bool
	// writes by what they write
	mu      sync.Mutex
	written map[string]int
	// dropEvents answers the manager's event writes itself, never sending
	// them (BENCH_DROP_EVENTS=1): what the events cost, by difference.
	dropEvents bool
}

// newSeatCounter is a counter; BENCH_DROP_EVENTS=1 makes it drop events.
func newSeatCounter() *seatCounter {
	return &seatCounter{written: map[string]int{}, dropEvents: os.Getenv("BENCH_DROP_EVENTS") == "1"}
}

// eventWrites is how many of the counted writes were events.
func (n *seatCounter) eventWrites() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := 0
	for k, v := range n.written {
		if strings.Contains(k, "event") {
			e += v
		}
	}
	return e
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
			if t.n.dropEvents && what == "event" {
				break
			}
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
	if t.n.dropEvents && req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/events") && req.Body != nil {
		// Echo the event back as if the API server had created it.
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		return &http.Response{StatusCode: http.StatusCreated, Header: http.Header{"Content-Type": []string{"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: req, ContentLength: int64(len(body))}, nil
	}
	return t.next.RoundTrip(req)
}

// seatCreate creates n objects from seatCreators concurrent clients.
func seatCreate(b *testing.B, c client.Client, n int, build func(i int) client.Object) {
	b.Helper()
	parallelDo(b, seatCreators, n, func(_, i int) error { return c.Create(context.Background(), build(i)) })
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
					// Most often 410 Gone: the watch fell behind the API
					// server's window (a slow reader under load). Reopening
					// at the same version would fail the same way forever,
					// and the state would stop there: start again from the
					// current state (every object as an ADDED event).
					rv = ""
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
