package bench

// BenchmarkScaleMemoryRestart measures two goals of issue 15 ("Scale") on a
// real kube-apiserver and etcd (envtest) with the webhook configurations of
// config/webhook installed, in one run:
//
//   - memory: the manager's heap per licence and per assignment
//     (heap-B/licence, heap-B/assignment; goal ≤ 5 KiB each). The manager
//     runs in process as cmd/main.go sets it up (controller.CacheOptions,
//     every controller, every webhook, the readiness checks of main.go).
//     Heap is runtime.MemStats.HeapAlloc after two runtime.GC(), read once
//     the manager is ready and settled (every workqueue empty): with the
//     sample objects only (hA), after a restart on n licences (hB), after a
//     restart on n licences and n assignments (hC). Per licence is
//     (hB-hA)/n, per assignment (hC-hB)/n. The reference, in the same run,
//     is controller-runtime's plain cache (cache.New with no options: no
//     transform, no index) of the same objects, what a default manager would
//     hold: ref-heap-B/licence, ref-heap-B/assignment, and
//     ref-heap-B/object over both kinds.
//   - restart: ready-s, from the manager's start (n licences and n
//     assignments exist) to /readyz answering 200 and then a webhook call
//     through the API server (a dry-run create of a Pod that asks for a
//     licensed product, which the mutating Pod webhook answers from the
//     cache) answered within its 5 s timeout. The reference list-s is one
//     List of every licence and every assignment by a plain client, paginated
//     500 at a time as client-go's reflector pages (licences, then
//     assignments, one after the other), just before the restart; ready/list
//     is their ratio (goal ≤ 2). From the start a prober sends such dry-run
//     Pods one after another: calls-before-ready and timeouts-before-ready
//     show what a replica that served before its informers synced would do
//     to the API server's calls (controller-runtime's webhook StartedChecker
//     is ready as soon as the server listens, webhook-listening-s);
//     timeouts-after-ready must be 0, or the benchmark fails.
//
// The objects are realistic: a sample licence and assignment go through the
// webhooks and the controllers first, and every licence and assignment of
// the run copies them (spec, labels, annotations, finalizers and the status
// the controllers wrote, with the names changed), written by a plain client
// (create, then status update, so managedFields are what the API server
// stores for such writes), with the webhook configurations set aside while
// they are written and the manager stopped. Each licence has one assignment,
// Bound to it; 1,000 licences per namespace, one product per namespace.
//
// n is $BENCH_SCALE_N, or 100,000 with BENCH=full, or 300 (about a minute
// on two loaded cores; at 300 every licence has its per-licence metric series,
// which --metrics-max-licences caps at 1,000, so the per-licence heap is
// higher than at 100,000). Run:
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkScaleMemoryRestart -benchtime=1x -v -timeout 30m
//	BENCH=full go test ./test/bench/ -run '^$' -bench BenchmarkScaleMemoryRestart -benchtime=1x -v -timeout 3h
//
// At the write rates of the shared two-core machine (about 60 licences and
// 30 assignments a second, each several writes) writing 100,000 of each
// takes about 85 minutes; BENCH_SCALE_N=10000 takes about 12.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
	"github.com/license-operator/license-operator/internal/util/readiness"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	scaleGoalHeapB     = 5 * 1024
	scaleGoalReadyList = 2.0
	scalePerNamespace  = 1000
	scaleWriters       = 16
	scaleSettleTimeout = 20 * time.Minute
	scaleReadyTimeout  = 10 * time.Minute
	scaleListPage      = 500 // client-go's reflector's page size
	// The sample's names, unique tokens replaced in its JSON by each copy's.
	scaleSampleNS      = "zsmplns"
	scaleSampleProduct = "zsmplprod"
	scaleSampleLicence = "zsmpllic"
	scaleSampleAsg     = "zsmplasg"
	scaleSA            = "runner"
)

// scaleSize is $BENCH_SCALE_N, or 100,000 with BENCH=full, or 300.
func scaleSize(b *testing.B) int {
	return envCount(b, "BENCH_SCALE_N", fullOr(300, 100000))
}

func BenchmarkScaleMemoryRestart(b *testing.B) {
	n := scaleSize(b)
	b.Run(fmt.Sprintf("licences=%d,assignments=%d", n, n), func(b *testing.B) {
		for range b.N {
			runScale(b, n)
		}
	})
}

// scaleEnv is the control plane, its admin client and the operator's user.
type scaleEnv struct {
	env      *envtest.Environment
	admin    client.Client
	operator *rest.Config
	webhooks struct {
		muts []admissionregistrationv1.MutatingWebhookConfiguration
		vals []admissionregistrationv1.ValidatingWebhookConfiguration
	}
	writes atomic.Int64 // the manager's writes, counted at its transport
	mu     sync.Mutex
	what   map[string]int // the manager's writes by method and resource
}

// writesWhat says what the manager wrote since the last call, and resets it.
func (se *scaleEnv) writesWhat() string {
	se.mu.Lock()
	defer se.mu.Unlock()
	var out []string
	for k, v := range se.what {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(out)
	clear(se.what)
	return strings.Join(out, ", ")
}

func runScale(b *testing.B, n int) {
	ctx := context.Background()
	b.StopTimer()
	se := startScaleEnv(b)
	nsCount := (n + scalePerNamespace - 1) / scalePerNamespace
	nsName := func(i int) string { return fmt.Sprintf("scale-%03d", i/scalePerNamespace) }
	product := func(i int) string { return fmt.Sprintf("scale-p%03d", i/scalePerNamespace) }
	licName := func(i int) string { return fmt.Sprintf("lic-%06d", i) }
	asgName := func(i int) string { return fmt.Sprintf("asg-%06d", i) }
	metrics.Configure(metrics.Options{PerLicence: true, MaxLicences: metrics.DefaultMaxLicences})
	b.StartTimer()

	// Phase A: the sample through the webhooks and the controllers.
	must(b, se.admin.Create(ctx, kubecluster.MakeNamespace(scaleSampleNS, nil)))
	mA := se.startManager(b)
	createRetry(b, se.admin, utiltesting.MakeProduct(scaleSampleProduct).Obj())
	sampleStart := time.Now().Add(-time.Hour)
	createRetry(b, se.admin, utiltesting.MakeLicense(scaleSampleLicence, scaleSampleNS).Product(scaleSampleProduct).
		Seats(1).MaxActivations(1).Start(sampleStart).Obj())
	licKey := client.ObjectKey{Namespace: scaleSampleNS, Name: scaleSampleLicence}
	lic0 := &licensingv1alpha1.SoftwareLicense{}
	scaleWait(b, "the sample licence's status", func() (bool, any) {
		err := se.admin.Get(ctx, licKey, lic0)
		return err == nil && lic0.Status.State != "" && lic0.Status.KeySecretName != "", []any{err, lic0.Status}
	})
	mA.settle(b, scaleSettleTimeout)
	must(b, se.admin.Get(ctx, licKey, lic0))
	// The licence's generated key Secret, which the manager caches too.
	key0 := &corev1.Secret{}
	must(b, se.admin.Get(ctx, client.ObjectKey{Namespace: scaleSampleNS, Name: lic0.Status.KeySecretName}, key0))
	createRetry(b, se.admin, utiltesting.MakeAssignment(scaleSampleAsg, scaleSampleNS).ServiceAccount(scaleSA).License(scaleSampleLicence).Obj())
	asg1 := &licensingv1alpha1.LicenseAssignment{}
	asgKey := client.ObjectKey{Namespace: scaleSampleNS, Name: scaleSampleAsg}
	scaleWait(b, "the sample assignment Bound", func() (bool, any) {
		err := se.admin.Get(ctx, asgKey, asg1)
		return err == nil && asg1.Status.State == licensingv1alpha1.AssignmentStateBound, []any{err, asg1.Status}
	})
	mA.settle(b, scaleSettleTimeout)
	lic1 := &licensingv1alpha1.SoftwareLicense{}
	must(b, se.admin.Get(ctx, licKey, lic1))
	must(b, se.admin.Get(ctx, asgKey, asg1))
	hA := heapAlloc()
	mA.stop()
	b.Logf("sample: licence %d bytes of JSON (%d of managedFields), its key Secret %d (%d), assignment %d bytes (%d)",
		jsonLen(lic1), jsonLen(lic1.ManagedFields), jsonLen(key0), jsonLen(key0.ManagedFields), jsonLen(asg1), jsonLen(asg1.ManagedFields))

	// The products and namespaces, then n licences as the sample was before its assignment.
	se.removeWebhooks(b)
	for p := range nsCount {
		must(b, se.admin.Create(ctx, kubecluster.MakeNamespace(nsName(p*scalePerNamespace), nil)))
		must(b, se.admin.Create(ctx, utiltesting.MakeProduct(product(p*scalePerNamespace)).Obj()))
	}
	rename := func(i int) *strings.Replacer {
		return strings.NewReplacer(scaleSampleNS, nsName(i), scaleSampleProduct, product(i), scaleSampleLicence, licName(i), scaleSampleAsg, asgName(i))
	}
	t0 := time.Now()
	parallelDo(b, scaleWriters, n, func(_, i int) error {
		l := copyObject(b, lic0, rename(i), &licensingv1alpha1.SoftwareLicense{})
		l.Finalizers = lic1.Finalizers // the seat protection the licence has once an assignment is bound
		st := l.Status
		if err := se.admin.Create(ctx, l); err != nil {
			return err
		}
		r := strings.NewReplacer(string(lic0.UID), string(l.UID), scaleSampleNS, nsName(i), scaleSampleLicence, licName(i))
		if err := se.admin.Create(ctx, copyObject(b, key0, r, &corev1.Secret{})); err != nil {
			return err
		}
		l.Status = st
		return se.admin.Status().Update(ctx, l)
	})
	b.Logf("%d licences written (create, key Secret and status) in %v", n, time.Since(t0).Round(time.Millisecond))
	se.restoreWebhooks(b)

	// Phase B: a restart on the licences.
	mB := se.startManager(b)
	rB := mB.waitReady(b, nil)
	depthB := mB.settle(b, scaleSettleMax(b))
	hB := heapAlloc()
	writeHeapProfile(b, "licences")
	writesB := se.writes.Load()
	mB.stop()
	b.Logf("restart on %d licences: ready in %v, manager writes %d (%s)", n, rB.Round(time.Millisecond), writesB, se.writesWhat())

	// The assignments, Bound, and the licences' statuses with their seat used.
	se.removeWebhooks(b)
	t0 = time.Now()
	parallelDo(b, scaleWriters, n, func(_, i int) error {
		a := copyObject(b, asg1, rename(i), &licensingv1alpha1.LicenseAssignment{})
		st := a.Status
		if err := se.admin.Create(ctx, a); err != nil {
			return err
		}
		a.Status = st
		if err := se.admin.Status().Update(ctx, a); err != nil {
			return err
		}
		l := &licensingv1alpha1.SoftwareLicense{}
		if err := se.admin.Get(ctx, client.ObjectKey{Namespace: nsName(i), Name: licName(i)}, l); err != nil {
			return err
		}
		l.Status = copyObject(b, lic1, rename(i), &licensingv1alpha1.SoftwareLicense{}).Status
		return se.admin.Status().Update(ctx, l)
	})
	b.Logf("%d assignments written (create and status) and %d licence statuses in %v", n, n, time.Since(t0).Round(time.Millisecond))
	se.restoreWebhooks(b)

	// The reference of the restart: one paginated list of every object.
	listed, list := se.listAll(b)
	if listed != 2*n+2 {
		b.Fatalf("listed %d objects, want %d", listed, 2*n+2)
	}

	// Phase C: a restart on licences and assignments, probed from its start.
	se.writes.Store(0)
	se.writesWhat()
	stopCPU := startCPUProfile(b, "restart")
	mC := se.startManager(b)
	pr := startProber(se.admin, nsName(0), product(0))
	ready := mC.waitReady(b, pr)
	stopCPU()
	depthC := mC.settle(b, scaleSettleMax(b))
	probes := pr.stop()
	hC := heapAlloc()
	writeHeapProfile(b, "assignments")
	writesC := se.writes.Load()
	writesCWhat := se.writesWhat()
	mC.stop()
	listening := mC.listening.Sub(mC.started)

	var before, after, answeredAfter, timeoutsBefore, timeoutsAfter, otherErr int
	var maxBefore time.Duration
	for _, p := range probes {
		if p.sent.Before(mC.readyAt) {
			before++
			maxBefore = max(maxBefore, p.took)
			if p.timeout {
				timeoutsBefore++
			}
			continue
		}
		after++
		switch {
		case p.timeout:
			timeoutsAfter++
		case p.err != nil && !p.answered:
			otherErr++
		default:
			answeredAfter++
		}
	}

	// The reference of memory: controller-runtime's plain cache of the same objects.
	refLic, refAsg := se.plainCacheHeap(b, n)

	// Report.
	perLic := (float64(hB) - float64(hA)) / float64(n)
	perAsg := (float64(hC) - float64(hB)) / float64(n)
	refObj := (refLic + refAsg) / 2
	readyList := ready.Seconds() / list.Seconds()
	b.ReportMetric(perLic, "heap-B/licence")
	b.ReportMetric(perAsg, "heap-B/assignment")
	b.ReportMetric(refObj, "ref-heap-B/object")
	b.ReportMetric(refLic, "ref-heap-B/licence")
	b.ReportMetric(refAsg, "ref-heap-B/assignment")
	b.ReportMetric(perLic/refLic, "licence-heap/ref")
	b.ReportMetric(perAsg/refAsg, "assignment-heap/ref")
	b.ReportMetric(ready.Seconds(), "ready-s")
	b.ReportMetric(list.Seconds(), "list-s")
	b.ReportMetric(readyList, "ready/list")
	b.ReportMetric(listening.Seconds(), "webhook-listening-s")
	b.ReportMetric(float64(before), "calls-before-ready")
	b.ReportMetric(float64(timeoutsBefore), "timeouts-before-ready")
	b.ReportMetric(float64(timeoutsAfter), "timeouts-after-ready")
	b.ReportMetric(float64(writesC), "restart-writes")
	b.ReportMetric(depthB+depthC, "queued-at-heap")
	mib := func(v uint64) float64 { return float64(v) / 1024 / 1024 }
	b.Logf("heap: %.1f MiB with the sample only, %.1f MiB with %d licences (%v requests still queued or running), %.1f MiB with %d licences and %d assignments (%v)",
		mib(hA), mib(hB), n, depthB, mib(hC), n, n, depthC)
	b.Logf("goal heap per licence: ours %.0f B, reference %.0f B, ratio %.2f (goal ≤ %d B): %s",
		perLic, refLic, perLic/refLic, scaleGoalHeapB, metOrMissed(perLic <= scaleGoalHeapB))
	b.Logf("goal heap per assignment: ours %.0f B, reference %.0f B, ratio %.2f (goal ≤ %d B): %s",
		perAsg, refAsg, perAsg/refAsg, scaleGoalHeapB, metOrMissed(perAsg <= scaleGoalHeapB))
	b.Logf("goal restart: ours %.2f s to ready (/readyz 200 at %.2f s, then a webhook call answered), reference %.2f s to list %d objects, ratio %.2f (goal ≤ %.1f): %s",
		ready.Seconds(), mC.readyAt.Sub(mC.started).Seconds(), list.Seconds(), listed, readyList, scaleGoalReadyList, metOrMissed(readyList <= scaleGoalReadyList))
	b.Logf("webhook during the restart: listening at %.2f s; %d calls before ready (%d timed out, slowest %v); %d after ready (%d answered, %d timed out, %d other errors); manager writes during the restart and settle: %d (%s)",
		listening.Seconds(), before, timeoutsBefore, maxBefore.Round(time.Millisecond), after, answeredAfter, timeoutsAfter, otherErr, writesC, writesCWhat)
	for _, p := range probes {
		if p.err != nil && !p.answered {
			b.Logf("  probe sent at %.2f s, %v: %v", p.sent.Sub(mC.started).Seconds(), p.took.Round(time.Millisecond), shorten(p.err.Error()))
		}
	}
	if timeoutsAfter > 0 || otherErr > 0 {
		b.Fatalf("webhook calls failed after the manager was ready: %d timed out, %d other errors", timeoutsAfter, otherErr)
	}
}

// scaleWait waits two minutes at most for cond, and says what it saw last.
func scaleWait(b *testing.B, what string, cond func() (bool, any)) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s; last seen: %+v", what, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeHeapProfile writes the heap profile to
// $BENCH_SCALE_HEAPPROFILE/<name>.pprof when that directory is set.
func writeHeapProfile(b *testing.B, name string) {
	dir := os.Getenv("BENCH_SCALE_HEAPPROFILE")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// startCPUProfile profiles the process's CPU to
// $BENCH_SCALE_HEAPPROFILE/<name>-cpu.pprof when that directory is set,
// until the returned func is called.
func startCPUProfile(b *testing.B, name string) func() {
	return startCPUProfileIn(b, os.Getenv("BENCH_SCALE_HEAPPROFILE"), name+"-cpu")
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func jsonLen(v any) int {
	raw, _ := json.Marshal(v)
	return len(raw)
}

// createRetry creates obj, retrying while the webhooks are not yet served.
func createRetry(b *testing.B, c client.Client, obj client.Object) {
	b.Helper()
	var err error
	waitFor(b, "creating "+obj.GetName(), func() bool {
		err = c.Create(context.Background(), obj.DeepCopyObject().(client.Object))
		return err == nil
	})
}

// copyObject is a copy of the sample with its names replaced, without the
// server's metadata.
func copyObject[T client.Object](b *testing.B, sample client.Object, r *strings.Replacer, into T) T {
	raw, err := json.Marshal(sample)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal([]byte(r.Replace(string(raw))), into); err != nil {
		b.Fatal(err)
	}
	into.SetResourceVersion("")
	into.SetUID("")
	into.SetCreationTimestamp(metav1.Time{})
	into.SetManagedFields(nil)
	into.SetGeneration(0)
	return into
}

func startScaleEnv(b *testing.B) *scaleEnv {
	b.Helper()
	env, cfg := startEnvtest(b, func(assets string) (envtest.WebhookInstallOptions, error) {
		muts, vals, err := kubecluster.KustomizedWebhooks(assets)
		return envtest.WebhookInstallOptions{MutatingWebhooks: muts, ValidatingWebhooks: vals, LocalServingHost: "127.0.0.1"}, err
	})
	cfg.QPS, cfg.Burst = -1, 0 // the benchmark's own writes: the API server is the limit
	se := &scaleEnv{env: env, what: map[string]int{}}
	var err error
	if se.admin, err = client.New(cfg, client.Options{Scheme: kubecluster.Scheme()}); err != nil {
		b.Fatal(err)
	}
	// The manager runs as the operator's ServiceAccount user, as in a
	// cluster: its own writes skip its webhooks (kubecluster.StartOperator).
	user, err := env.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: kubecluster.OperatorGroups}, nil)
	if err != nil {
		b.Fatal(err)
	}
	must(b, se.admin.Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "scale-operator-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: licensing.DefaultOperatorUsername}},
	}))
	se.operator = user.Config()
	// cmd/main.go's client: ctrl.GetConfig's QPS 20, burst 30.
	se.operator.QPS, se.operator.Burst = 20, 30
	se.operator.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return &writeCounter{next: rt, n: &se.writes, mu: &se.mu, what: se.what}
	}
	return se
}

type writeCounter struct {
	next http.RoundTripper
	n    *atomic.Int64
	mu   *sync.Mutex
	what map[string]int
}

func (t *writeCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		t.n.Add(1)
		kind := resourceOf(req.URL.Path)
		t.mu.Lock()
		t.what[req.Method+" "+kind]++
		t.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}

// resourceOf is the resource (and subresource) of an API path.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) > 3 && parts[0] == "apis":
		parts = parts[3:]
	case len(parts) > 2 && parts[0] == "api":
		parts = parts[2:]
	default:
		return path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 3 {
		return parts[0] + "/" + parts[2]
	}
	return parts[0]
}

// removeWebhooks sets the webhook configurations aside (the benchmark writes
// its objects while the manager is stopped); restoreWebhooks puts them back.
func (se *scaleEnv) removeWebhooks(b *testing.B) {
	ctx := context.Background()
	var muts admissionregistrationv1.MutatingWebhookConfigurationList
	var vals admissionregistrationv1.ValidatingWebhookConfigurationList
	must(b, se.admin.List(ctx, &muts))
	must(b, se.admin.List(ctx, &vals))
	se.webhooks.muts, se.webhooks.vals = muts.Items, vals.Items
	for i := range muts.Items {
		must(b, se.admin.Delete(ctx, &muts.Items[i]))
	}
	for i := range vals.Items {
		must(b, se.admin.Delete(ctx, &vals.Items[i]))
	}
	// The API server's admission sees the configurations gone after a
	// moment; until then it calls the stopped manager's webhooks, and a
	// create fails with "connection refused".
	waitFor(b, "the API server to stop calling the webhooks", func() bool {
		probe := utiltesting.MakeProduct("scale-webhook-probe").Obj()
		return se.admin.Create(ctx, probe, client.DryRunAll) == nil
	})
}

func (se *scaleEnv) restoreWebhooks(b *testing.B) {
	ctx := context.Background()
	for _, m := range se.webhooks.muts {
		m.ResourceVersion, m.UID = "", ""
		must(b, se.admin.Create(ctx, &m))
	}
	for _, v := range se.webhooks.vals {
		v.ResourceVersion, v.UID = "", ""
		must(b, se.admin.Create(ctx, &v))
	}
	// The API server's admission sees new configurations after a moment.
	time.Sleep(2 * time.Second)
}

// scaleManager is the whole manager of cmd/main.go, in process.
type scaleManager struct {
	mgr       ctrl.Manager
	probe     string
	started   time.Time
	listening time.Time // the webhook server serves (StartedChecker)
	readyAt   time.Time // /readyz answered 200
	stop      func()
}

func (se *scaleEnv) startManager(b *testing.B) *scaleManager {
	b.Helper()
	wio := &se.env.WebhookInstallOptions
	port, err := kubecluster.FreePort()
	if err != nil {
		b.Fatal(err)
	}
	mgr, err := ctrl.NewManager(rest.CopyConfig(se.operator), ctrl.Options{
		Scheme:                 kubecluster.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: fmt.Sprintf("127.0.0.1:%d", port),
		Cache:                  controller.CacheOptions(),
		WebhookServer:          webhook.NewServer(webhook.Options{Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir}),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	must(b, controller.SetupWithManager(mgr, controller.Options{Clock: clock.RealClock{}}))
	must(b, licensingwebhook.SetupWithManager(mgr, licensingwebhook.Options{Workload: workload.Options{
		Identity:              &licensing.Identity{},
		WebhookConfigurations: kubecluster.WebhookConfigurations,
	}}))
	// The readiness checks of cmd/main.go.
	must(b, mgr.AddHealthzCheck("healthz", healthz.Ping))
	must(b, mgr.AddReadyzCheck("readyz", healthz.Ping))
	must(b, mgr.AddReadyzCheck("informers", readiness.CacheSynced(mgr.GetCache())))
	must(b, mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()))

	sm := &scaleManager{mgr: mgr, probe: fmt.Sprintf("http://127.0.0.1:%d/readyz", port)}
	sm.started = time.Now()
	_, sm.stop = runManager(b, mgr)
	return sm
}

// waitReady waits for /readyz to answer 200 and then for a webhook call
// through the API server to be answered; it returns the time from the start.
func (sm *scaleManager) waitReady(b *testing.B, pr *prober) time.Duration {
	b.Helper()
	hc := &http.Client{Timeout: time.Second}
	deadline := sm.started.Add(scaleReadyTimeout)
	for {
		now := time.Now()
		if now.After(deadline) {
			b.Fatalf("/readyz not 200 after %v", scaleReadyTimeout)
		}
		if sm.listening.IsZero() && sm.mgr.GetWebhookServer().StartedChecker()(nil) == nil {
			sm.listening = now
		}
		if resp, err := hc.Get(sm.probe); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				sm.readyAt = now
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sm.listening.IsZero() {
		sm.listening = sm.readyAt
	}
	if pr == nil {
		return sm.readyAt.Sub(sm.started)
	}
	// The first call sent once ready, answered within the webhooks' timeout.
	p := pr.first(sm.readyAt)
	if !p.answered {
		b.Fatalf("the first webhook call after /readyz was not answered: %v", p.err)
	}
	return p.sent.Add(p.took).Sub(sm.started)
}

// scaleSettleMax is how long the heap waits for the manager to settle after
// a restart: $BENCH_SCALE_SETTLE (a duration), or 60 s with BENCH=full,
// or 5 s. Each licence's
// first pass after a start sends a status patch, at the client's 20 QPS,
// so settling takes n/20 s; the heap is read then or after this long,
// whichever comes first, with what is still queued reported.
func scaleSettleMax(b *testing.B) time.Duration {
	if v := os.Getenv("BENCH_SCALE_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_SCALE_SETTLE=%q: %v", v, err)
		}
		return d
	}
	if os.Getenv("BENCH") == "full" {
		return time.Minute
	}
	return 5 * time.Second
}

// settle waits until every workqueue of the manager is empty and no
// reconcile runs, twice in a row a second apart, or at most limit; it
// returns what is queued or running then.
func (sm *scaleManager) settle(b *testing.B, limit time.Duration) float64 {
	b.Helper()
	deadline := time.Now().Add(limit)
	quiet := 0
	for quiet < 2 {
		if time.Now().After(deadline) {
			if limit == scaleSettleTimeout {
				b.Fatalf("the manager did not settle in %v: %s", limit, busyWhat(b))
			}
			return busy(b)
		}
		time.Sleep(time.Second)
		if busy(b) == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return 0
}

// busy is the sum of the workqueues' depths and of the active workers.
func busy(b *testing.B) float64 {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		switch f.GetName() {
		case "workqueue_depth", "controller_runtime_active_workers":
			for _, m := range f.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// busyWhat names the busy workqueues and workers.
func busyWhat(b *testing.B) string {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, f := range families {
		switch f.GetName() {
		case "workqueue_depth", "controller_runtime_active_workers":
			for _, m := range f.GetMetric() {
				if v := m.GetGauge().GetValue(); v != 0 {
					out = append(out, fmt.Sprintf("%s{%s}=%v", f.GetName(), m.GetLabel(), v))
				}
			}
		}
	}
	return strings.Join(out, ", ")
}

// probe is one dry-run create of a licensed Pod through the API server.
type probe struct {
	sent     time.Time
	took     time.Duration
	err      error
	answered bool // the webhook answered (allowed or refused)
	timeout  bool
}

type prober struct {
	mu     sync.Mutex
	probes []probe
	added  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// startProber sends dry-run Pods one after another until stopped.
func startProber(c client.Client, ns, product string) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	pr := &prober{added: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		for i := 0; ctx.Err() == nil; i++ {
			pod := kubecluster.MakePod(fmt.Sprintf("probe-%d", i), ns).Product(product).ServiceAccount(scaleSA).Obj()
			p := probe{sent: time.Now()}
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			p.err = c.Create(cctx, pod, client.DryRunAll)
			ccancel()
			p.took = time.Since(p.sent)
			if ctx.Err() != nil {
				return
			}
			msg := ""
			if p.err != nil {
				msg = p.err.Error()
			}
			p.timeout = strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "Timeout") || strings.Contains(msg, "timeout")
			// A webhook that answers refuses with its own message; the API
			// server's "failed calling webhook" is no answer.
			p.answered = p.err == nil || (!p.timeout && !strings.Contains(msg, "failed calling webhook"))
			pr.mu.Lock()
			pr.probes = append(pr.probes, p)
			pr.mu.Unlock()
			select {
			case pr.added <- struct{}{}:
			default:
			}
			if p.err != nil && !p.answered {
				time.Sleep(50 * time.Millisecond) // refused at once while the server is down
			}
		}
	}()
	return pr
}

// first waits for the first probe sent at or after t.
func (pr *prober) first(t time.Time) probe {
	for {
		pr.mu.Lock()
		for _, p := range pr.probes {
			if !p.sent.Before(t) {
				pr.mu.Unlock()
				return p
			}
		}
		pr.mu.Unlock()
		select {
		case <-pr.added:
		case <-time.After(time.Minute):
			return probe{err: errors.New("no webhook call completed within a minute")}
		}
	}
}

func (pr *prober) stop() []probe {
	pr.cancel()
	<-pr.done
	pr.mu.Lock()
	defer pr.mu.Unlock()
	out := append([]probe(nil), pr.probes...)
	sort.Slice(out, func(i, j int) bool { return out[i].sent.Before(out[j].sent) })
	return out
}

// listAll lists every licence and every assignment, scaleListPage at a
// time, licences then assignments, and returns how many and how long.
func (se *scaleEnv) listAll(b *testing.B) (int, time.Duration) {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	count := 0
	for _, list := range []client.ObjectList{&licensingv1alpha1.SoftwareLicenseList{}, &licensingv1alpha1.LicenseAssignmentList{}} {
		cont := ""
		for {
			must(b, se.admin.List(ctx, list, client.Limit(scaleListPage), client.Continue(cont)))
			count += meta.LenList(list)
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
	return count, time.Since(t0)
}

// plainCacheHeap is the heap of controller-runtime's cache with no options
// (no transform, no index) per licence, then per assignment.
func (se *scaleEnv) plainCacheHeap(b *testing.B, n int) (perLic, perAsg float64) {
	b.Helper()
	c, err := cache.New(rest.CopyConfig(se.operator), cache.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h0 := heapAlloc()
	go func() { defer close(done); _ = c.Start(ctx) }()
	defer func() { cancel(); <-done }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the plain cache did not start")
	}
	count := func(list client.ObjectList) int {
		must(b, c.List(ctx, list, client.UnsafeDisableDeepCopy))
		return meta.LenList(list)
	}
	if got := count(&licensingv1alpha1.SoftwareLicenseList{}); got != n+1 {
		b.Fatalf("the plain cache holds %d licences, want %d", got, n+1)
	}
	h1 := heapAlloc()
	if got := count(&licensingv1alpha1.LicenseAssignmentList{}); got != n+1 {
		b.Fatalf("the plain cache holds %d assignments, want %d", got, n+1)
	}
	h2 := heapAlloc()
	return (float64(h1) - float64(h0)) / float64(n+1), (float64(h2) - float64(h1)) / float64(n+1)
}
