package bench

// BenchmarkAdmission measures what the workload webhook adds to Pod creation on
// a real kube-apiserver (envtest), in one run:
//
//   - none:            Pods no webhook sees (the matchConditions keep them away);
//   - quota:           the same, in a namespace with a ResourceQuota on Pods: the API
//     server's own compare-and-swap admission (a quota status write per Pod), the
//     reference for what a seat count kept on the API server costs;
//   - noop:            Pods sent to a do-nothing webhook on the same TLS server,
//     of the same number and kind as ours for a Pod's CREATE (one mutating);
//   - ours-site:       Pods admitted by our webhook through a Site licence (decision only);
//   - ours-concurrent: Pods admitted on a Concurrent Hard assignment (decision plus
//     the compare-and-swap of the seat ledger on the API server);
//
// each with 1 and 16 concurrent clients, and the in-process decision
// (Handler.Decide on a warm cache). After each round of each client count the
// Pods holding Concurrent seats are deleted (untimed), so the ledger holds at
// most one round of Pods (100).
//
// The goals of issue 15, each a ratio in the same run: site/noop-1c and
// site/noop-16c (≥ 0.95), concurrent/quota-1c and concurrent/quota-16c
// (≥ 1.0), and writes/concurrent-pod (≤ 1.0): the manager's writes of seat
// ledgers, counted at its client transport, per admitted Concurrent Pod.
// Sizes: admissionSizes. Run:
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkAdmission -benchtime=1x -v
//	BENCH=full go test ./test/bench/ -run '^$' -bench BenchmarkAdmission -benchtime=1x -v -timeout 30m
//
// Results and the goals are in docs/benchmarks.md, section "Admission".

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	licensingwebhook "github.com/license-operator/license-operator/internal/webhook"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	benchNS        = "bench"
	quotaNS        = "bench-quota"
	siteProduct    = "bench-site"
	concProduct    = "bench-conc"
	noopAnnotation = "bench.license-operator.dev/noop"
	// noopPatchAnnotation sends a Pod to the diagnostic patching do-nothing webhook.
	noopPatchAnnotation = "bench.license-operator.dev/noop-patch"
)

type admissionEnv struct {
	env     *envtest.Environment
	c       client.Client
	mgr     ctrl.Manager
	stop    func()
	handler *workload.Handler
	// calls counts the API requests of the manager (webhook, ledger and
	// controllers), at its client transport.
	calls *callCounter
	cpu   *cpuMeter
	// busy counts the creates refused with busyRefusal and retried.
	busy atomic.Int64
}

// busyRefusal is the webhook's answer when a ledger's compare-and-swap did
// not succeed within the admission's deadline (seats.errLedgerBusy).
const busyRefusal = "the seat ledger is being changed by many admissions at once; retry"

// cpuMeter reads the CPU time of this process (the webhook, the manager and
// the benchmark's clients) and of the kube-apiserver and etcd it started.
type cpuMeter struct{ apiserver, etcd int }

// cpuTimes are CPU times in milliseconds.
type cpuTimes struct{ self, apiserver, etcd float64 }

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{a.self - b.self, a.apiserver - b.apiserver, a.etcd - b.etcd}
}

func (a cpuTimes) add(b cpuTimes) cpuTimes {
	return cpuTimes{a.self + b.self, a.apiserver + b.apiserver, a.etcd + b.etcd}
}

func (a cpuTimes) perPod(n int) cpuTimes {
	f := float64(max(1, n))
	return cpuTimes{a.self / f, a.apiserver / f, a.etcd / f}
}

// newCPUMeter finds the kube-apiserver and etcd among this process's children.
func newCPUMeter() *cpuMeter {
	m := &cpuMeter{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, ppid, _, ok := procStat(pid)
		if !ok || ppid != os.Getpid() {
			continue
		}
		switch comm {
		case "kube-apiserver":
			m.apiserver = pid
		case "etcd":
			m.etcd = pid
		}
	}
	return m
}

// procStat reads the command name, parent and CPU time (ms) of a process.
func procStat(pid int) (comm string, ppid int, cpuMs float64, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, false
	}
	s := string(raw)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", 0, 0, false
	}
	comm = s[open+1 : closing]
	f := strings.Fields(s[closing+1:])
	// f[0] is the state (field 3): ppid is field 4, utime and stime 14 and 15.
	if len(f) < 13 {
		return "", 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return comm, ppid, (ut + st) * 10, true // USER_HZ is 100 on Linux
}

func (m *cpuMeter) sample() cpuTimes {
	var t cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	}
	if m.apiserver > 0 {
		_, _, t.apiserver, _ = procStat(m.apiserver)
	}
	if m.etcd > 0 {
		_, _, t.etcd, _ = procStat(m.etcd)
	}
	return t
}

// callCounter counts API requests by kind (reads: GET, LIST, WATCH; writes:
// POST, PUT, PATCH, DELETE) and resource, and the request bodies' bytes.
type callCounter struct {
	mu sync.Mutex
	c  callCounts
}

type callCounts struct {
	reads, writes map[string]int64
	// sent is the request bodies' bytes by resource.
	sent map[string]int64
	// refused counts the writes answered 409 (Conflict or AlreadyExists).
	refused map[string]int64
}

func (c *callCounter) snapshot() callCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return callCounts{reads: maps.Clone(c.c.reads), writes: maps.Clone(c.c.writes), sent: maps.Clone(c.c.sent), refused: maps.Clone(c.c.refused)}
}

func (a callCounts) sub(b callCounts) callCounts {
	d := func(x, y map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range x {
			if v != y[k] {
				out[k] = v - y[k]
			}
		}
		return out
	}
	return callCounts{reads: d(a.reads, b.reads), writes: d(a.writes, b.writes), sent: d(a.sent, b.sent), refused: d(a.refused, b.refused)}
}

// wrap counts the requests of a rest.Config's transport.
func (c *callCounter) wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			res := resourceOf(req.URL.Path)
			c.mu.Lock()
			if c.c.reads == nil {
				c.c = callCounts{reads: map[string]int64{}, writes: map[string]int64{}, sent: map[string]int64{}, refused: map[string]int64{}}
			}
			write := false
			switch req.Method {
			case http.MethodGet, http.MethodHead:
				c.c.reads[res]++
			default:
				write = true
				c.c.writes[res]++
				if req.ContentLength > 0 {
					c.c.sent[res] += req.ContentLength
				}
			}
			c.mu.Unlock()
			resp, err := rt.RoundTrip(req)
			if write && err == nil && resp.StatusCode == http.StatusConflict {
				c.mu.Lock()
				c.c.refused[res]++
				c.mu.Unlock()
			}
			return resp, err
		})
	}
	return cfg
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func startAdmissionEnv(b *testing.B) *admissionEnv {
	b.Helper()
	ctx := context.Background()
	env, cfg := startEnvtest(b, func(assets string) (envtest.WebhookInstallOptions, error) {
		muts, vals, err := kubecluster.KustomizedWebhooks(assets)
		return envtest.WebhookInstallOptions{MutatingWebhooks: muts, ValidatingWebhooks: vals, LocalServingHost: "127.0.0.1"}, err
	})
	cfg.QPS, cfg.Burst = 5000, 10000
	ae := &admissionEnv{env: env, calls: &callCounter{}, cpu: newCPUMeter()}
	if ae.cpu.apiserver == 0 || ae.cpu.etcd == 0 {
		b.Logf("kube-apiserver (pid %d) or etcd (pid %d) not found among this process's children: their CPU is not measured", ae.cpu.apiserver, ae.cpu.etcd)
	}
	scheme := kubecluster.Scheme()
	wio := &env.WebhookInstallOptions
	var err error
	ae.mgr, err = kubecluster.NewWebhookManager(ae.calls.wrap(cfg), scheme, wio.LocalServingPort, wio.LocalServingCertDir)
	if err != nil {
		b.Fatal(err)
	}
	if err := licensingwebhook.SetupWithManager(ae.mgr, licensingwebhook.Options{Workload: workload.Options{WebhookConfigurations: kubecluster.WebhookConfigurations}}); err != nil {
		b.Fatal(err)
	}
	// The do-nothing webhook: same server, same TLS, always allows.
	ae.mgr.GetWebhookServer().Register("/noop", &webhook.Admission{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response { return admission.Allowed("") })})
	// The diagnostic do-nothing webhook that answers with the patch ours
	// answers a Site Pod with (the licensed label and the user stamp), so
	// that the Pod lands in the manager's cache too: what is left between
	// it and ours-site is our decoding and decision.
	ae.mgr.GetWebhookServer().Register("/noop-patch", &webhook.Admission{Handler: admission.HandlerFunc(
		func(_ context.Context, req admission.Request) admission.Response {
			pod := &corev1.Pod{}
			if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
				return admission.Errored(http.StatusBadRequest, err)
			}
			metav1.SetMetaDataLabel(&pod.ObjectMeta, licensingv1alpha1.LicensedLabel, licensingv1alpha1.LicensedLabelValue)
			metav1.SetMetaDataAnnotation(&pod.ObjectMeta, licensing.UserAnnotation, req.UserInfo.Username)
			raw, err := json.Marshal(pod)
			if err != nil {
				return admission.Errored(http.StatusInternalServerError, err)
			}
			return admission.PatchResponseFromRaw(req.Object.Raw, raw)
		})})
	ledger := &seats.Ledger{Reader: ae.mgr.GetAPIReader(), Writer: ae.mgr.GetClient(), Clock: clock.RealClock{}, Grace: seats.LedgerGrace}
	ae.handler = workload.NewHandler(ae.mgr.GetClient(), scheme, ledger, nil)
	ae.stop, _ = kubecluster.StartManagers(ctx, ae.mgr)
	ae.c, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}

	url := "https://" + net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort)) + "/noop"
	patchURL := url + "-patch"
	// The reference of the Site goal: do-nothing webhooks of the same number
	// and kind as ours for a licensed Pod's CREATE, which passes one
	// mutating webhook of ours (workload.PodWebhookName) and none of our
	// validating ones (those of Pods see UPDATEs only).
	noop := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-noop"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "noop.bench.license-operator.dev",
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.NeverReinvocationPolicy),
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: wio.LocalServingCAData},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](5),
			MatchConditions:         []admissionregistrationv1.MatchCondition{{Name: "noop", Expression: fmt.Sprintf("has(object.metadata.annotations) && '%s' in object.metadata.annotations", noopAnnotation)}},
		}},
	}
	patching := noop.Webhooks[0]
	patching.Name, patching.ClientConfig.URL = "noop-patch.bench.license-operator.dev", &patchURL
	patching.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "noop-patch", Expression: fmt.Sprintf("has(object.metadata.annotations) && '%s' in object.metadata.annotations", noopPatchAnnotation)}}
	noop.Webhooks = append(noop.Webhooks, patching)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(ae.c.Create(ctx, noop))
	must(ae.c.Create(ctx, kubecluster.MakeNamespace(benchNS, nil)))
	must(ae.c.Create(ctx, kubecluster.MakeNamespace(quotaNS, nil)))
	// The ResourceQuota admission plugin counts every Pod create against the
	// quota's status with a compare-and-swap write; with no
	// kube-controller-manager here the status is set by hand, as the quota
	// controller would set it.
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: quotaNS},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1000000")}},
	}
	must(ae.c.Create(ctx, quota))
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}
	must(ae.c.Status().Update(ctx, quota))
	for _, p := range []string{siteProduct, concProduct} {
		must(ae.c.Create(ctx, utiltesting.MakeProduct(p).Obj()))
	}
	site := utiltesting.MakeLicense("site", benchNS).Product(siteProduct).Obj()
	must(ae.c.Create(ctx, site))
	site.Status = kubecluster.LicenseStatus(licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelSite, licensingv1alpha1.EnforcementHard, nil, siteProduct)
	must(ae.c.Status().Update(ctx, site))
	conc := utiltesting.MakeLicense("conc", benchNS).Product(concProduct).Seats(1000000).Obj()
	must(ae.c.Create(ctx, conc))
	conc.Status = kubecluster.LicenseStatus(licensingv1alpha1.LicenseStateActive, licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard, ptr.To[int32](1000000), concProduct)
	must(ae.c.Status().Update(ctx, conc))
	asg := utiltesting.MakeAssignment("runners", benchNS).License("conc").ServiceAccount("default").Seats(1000000).Obj()
	must(ae.c.Create(ctx, asg))
	asg.Status = kubecluster.BoundStatus(benchNS+"/conc", 1000000)
	must(ae.c.Status().Update(ctx, asg))

	// Warm up until every path admits (caches synced, webhook reachable).
	deadline := time.Now().Add(30 * time.Second)
	for _, v := range benchVariants() {
		for {
			err := ae.c.Create(ctx, benchPod(v, "warm-"+v), client.DryRunAll)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("warm-up of %s: %v", v, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return ae
}

// close stops the manager; the API server stops when the benchmark ends.
func (ae *admissionEnv) close() { ae.stop() }

func benchPod(variant, name string) *corev1.Pod {
	ns := benchNS
	if variant == "quota" {
		ns = quotaNS
	}
	p := kubecluster.MakePod(name, ns).Label("bench-variant", variant)
	switch variant {
	case "noop":
		p.Annotation(noopAnnotation, "")
	case "noop-patch":
		p.Annotation(noopPatchAnnotation, "")
	case "ours-site":
		p.Product(siteProduct)
	case "ours-concurrent":
		p.Product(concProduct)
	}
	return p.Obj()
}

type result struct {
	p50, p99   time.Duration
	throughput float64 // Pods per second
}

func percentile(d []time.Duration, q float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*q))]
}

// run creates n Pods of the variant with the given number of concurrent clients.
func (ae *admissionEnv) run(b *testing.B, variant string, clients, n int, round *int) ([]time.Duration, time.Duration) {
	ctx := context.Background()
	*round++
	lat := make([]time.Duration, n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= n {
					return
				}
				p := benchPod(variant, fmt.Sprintf("%s-%d-%d-%d", variant, clients, *round, k))
				t := time.Now()
				for {
					err := ae.c.Create(ctx, p.DeepCopy())
					if err != nil && strings.Contains(err.Error(), busyRefusal) {
						// The webhook ran out of its time on a busy ledger
						// and asks to retry, as a Pod's controller would:
						// counted, and the time spent counts in.
						ae.busy.Add(1)
						continue
					}
					if err != nil {
						b.Errorf("create %s: %v", p.Name, err)
						return
					}
					break
				}
				lat[k] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(start)
}

// drainConcurrent deletes the Pods holding Concurrent seats and waits until the
// seat releaser has emptied the ledger (not timed): a ledger holds the Pods
// running on an assignment, tens or hundreds, not every Pod ever admitted.
// It runs after each round of each client count, so the ledger holds at
// most one round's Pods (100).
func (ae *admissionEnv) drainConcurrent(b *testing.B) {
	ctx := context.Background()
	if err := ae.c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(benchNS), client.MatchingLabels{"bench-variant": "ours-concurrent"}); err != nil {
		b.Fatal(err)
	}
	// Each release deletes its seat object.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		l := &licensingv1alpha1.SeatLedger{}
		err := seats.GetLedger(ctx, ae.c, benchNS, "runners", l)
		if apierrors.IsNotFound(err) || (err == nil && len(l.Spec.Entries) == 0) {
			return
		}
		if time.Now().After(deadline) {
			// Say whose seats were never given back, and whether their Pods exist.
			var held []string
			for _, e := range l.Spec.Entries {
				perr := ae.c.Get(ctx, client.ObjectKey{Namespace: benchNS, Name: e.Pod}, &corev1.Pod{})
				held = append(held, fmt.Sprintf("%s (uid %s, admitted %s, Pod: %v)", e.Pod, e.UID, e.Admitted.Format(time.RFC3339), perr))
			}
			b.Fatalf("the ledger still holds %d entries after the Pods were deleted: %v %v", len(l.Spec.Entries), held, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var variants = []string{"none", "quota", "noop", "ours-site", "ours-concurrent"}

// benchVariants are the variants run: with BENCH_ADMISSION_DIAG=1 also
// noop-patch, the do-nothing webhook that patches as ours does for a Site Pod.
func benchVariants() []string {
	if os.Getenv("BENCH_ADMISSION_DIAG") == "1" {
		return append(slices.Clone(variants), "noop-patch")
	}
	return variants
}

// admissionSizes are the Pods per variant and client count, and the rounds
// they are spread over: 300 in 3 rounds by default (the whole benchmark
// in about a minute), 2,000 in 20 rounds with BENCH=full (5–11 minutes),
// so that the ledger holds at most 100 Pods in either; BENCH_ADMISSION_PODS
// sets the Pods.
func admissionSizes(b *testing.B) (pods, rounds int) {
	pods, rounds = 300, 3
	if os.Getenv("BENCH") == "full" {
		pods, rounds = 2000, 20
	}
	if v := os.Getenv("BENCH_ADMISSION_PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < rounds {
			b.Fatalf("BENCH_ADMISSION_PODS=%q is not a number of at least %d", v, rounds)
		}
		pods = n
	}
	return pods, rounds
}

// goalLine logs the one-line summary of a goal and says whether it is met.
func goalLine(b *testing.B, goal string, ours, ref, ratio float64, cmp string, target float64, unit string) {
	b.Helper()
	met := ratio >= target
	if cmp == "≤" {
		met = ratio <= target
	}
	b.Logf("goal %s: ours %.1f %s, reference %.1f %s, ratio %.3f (goal %s %.2f): %s", goal, ours, unit, ref, unit, ratio, cmp, target, metOrMissed(met))
}

func BenchmarkAdmission(b *testing.B) {
	ae := startAdmissionEnv(b)
	defer ae.close()
	pods, rounds := admissionSizes(b)
	round := 0
	clientCounts := []int{1, 16}
	// One op is every variant at every client count, pods Pods each. The
	// variants and client counts run interleaved in rounds, so that the
	// noise of a shared machine falls on all alike.
	b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
		for range b.N {
			lat := map[string][]time.Duration{}
			elapsed := map[string]time.Duration{}
			key := func(v string, c int) string { return fmt.Sprintf("%s-%dc", v, c) }
			var ledgerWrites, ledgerReads, otherWrites int64
			cpu := map[string]cpuTimes{}
			writesByClients := map[int]int64{}
			var drain time.Duration
			refusedBusy := map[string]int64{}
			for r := range rounds {
				n := pods / rounds
				if r < pods%rounds {
					n++
				}
				for _, clients := range clientCounts {
					for _, v := range benchVariants() {
						before, cpuBefore, busyBefore := ae.calls.snapshot(), ae.cpu.sample(), ae.busy.Load()
						l, d := ae.run(b, v, clients, n, &round)
						refusedBusy[key(v, clients)] += ae.busy.Load() - busyBefore
						diff := ae.calls.snapshot().sub(before)
						cpu[key(v, clients)] = cpu[key(v, clients)].add(ae.cpu.sample().sub(cpuBefore))
						if r == 0 {
							b.Logf("clients=%-2d %-16s the manager's API calls for %d Pods: reads %v, writes %v, bytes sent %v", clients, v, n, diff.reads, diff.writes, diff.sent)
						}
						if v == "ours-concurrent" {
							writesByClients[clients] += diff.writes["seatledgers"]
							ledgerWrites += diff.writes["seatledgers"]
							ledgerReads += diff.reads["seatledgers"]
							for res, w := range diff.writes {
								if res != "seatledgers" {
									otherWrites += w
								}
							}
						}
						lat[key(v, clients)] = append(lat[key(v, clients)], l...)
						elapsed[key(v, clients)] += d
					}
					t := time.Now()
					ae.drainConcurrent(b)
					drain += time.Since(t)
				}
			}
			// The release of the seats (untimed above): each rewrites the
			// ledger, as a take does.
			b.ReportMetric(ms(drain)/float64(len(clientCounts)*pods), "release-ms/concurrent-pod")
			res := map[string]result{}
			for _, clients := range clientCounts {
				for _, v := range benchVariants() {
					k := key(v, clients)
					res[k] = result{p50: percentile(lat[k], 0.50), p99: percentile(lat[k], 0.99), throughput: float64(len(lat[k])) / elapsed[k].Seconds()}
					b.ReportMetric(res[k].throughput, k+"-pods/s")
					b.ReportMetric(ms(res[k].p99), k+"-p99-ms")
					if refusedBusy[k] > 0 || v == "ours-concurrent" {
						b.ReportMetric(float64(refusedBusy[k])/float64(len(lat[k])), k+"-busy-retries/pod")
					}
					per := cpu[k].perPod(len(lat[k]))
					b.ReportMetric(per.apiserver, k+"-apiserver-cpu-ms/pod")
					b.ReportMetric(per.etcd, k+"-etcd-cpu-ms/pod")
					b.ReportMetric(per.self, k+"-bench-cpu-ms/pod")
					b.Logf("clients=%-2d %-16s p50 %7.2f ms  p99 %7.2f ms  %7.1f pods/s  CPU per Pod: kube-apiserver %.2f ms, etcd %.2f ms, this process (webhook, manager, clients) %.2f ms",
						clients, v, ms(res[k].p50), ms(res[k].p99), res[k].throughput, per.apiserver, per.etcd, per.self)
				}
				c := fmt.Sprintf("%dc", clients)
				site, noop := res[key("ours-site", clients)].throughput, res[key("noop", clients)].throughput
				b.ReportMetric(site/noop, "site/noop-"+c)
				goalLine(b, "site admission "+c, site, noop, site/noop, "≥", 0.95, "pods/s")
				conc, quota := res[key("ours-concurrent", clients)].throughput, res[key("quota", clients)].throughput
				b.ReportMetric(conc/quota, "concurrent/quota-"+c)
				goalLine(b, "concurrent admission "+c, conc, quota, conc/quota, "≥", 1.0, "pods/s")
			}
			admitted := float64(len(clientCounts) * pods)
			perPod := float64(ledgerWrites) / admitted
			b.ReportMetric(perPod, "writes/concurrent-pod")
			for _, clients := range clientCounts {
				b.ReportMetric(float64(writesByClients[clients])/float64(pods), fmt.Sprintf("writes/concurrent-pod-%dc", clients))
			}
			b.ReportMetric(float64(ledgerReads)/admitted, "ledger-reads/concurrent-pod")
			b.ReportMetric(float64(otherWrites)/admitted, "other-writes/concurrent-pod")
			b.Logf("goal API writes per admitted Concurrent Pod: ours %d ledger writes for %.0f Pods, reference 1 per Pod, ratio %.3f (goal ≤ 1.00): %s (other writes %d, ledger reads %d)",
				ledgerWrites, admitted, perPod, metOrMissed(perPod <= 1.0), otherWrites, ledgerReads)
		}
	})
	b.Run("decisions=2000", func(b *testing.B) {
		// The in-process decision on a warm cache: products, assignments and
		// licences from the informers, the pure coverage decision; a Site
		// licence so that no API call (ledger) is part of it.
		ctx := context.Background()
		pod := benchPod("ours-site", "decide")
		w := licensing.WorkloadFromPodSpec("Pod", pod.Name, benchNS, pod.ObjectMeta, &pod.Spec, nil)
		const decisions = 2000
		lat := make([]time.Duration, 0, decisions*b.N)
		b.ResetTimer()
		for range b.N {
			for range decisions {
				t := time.Now()
				d, err := ae.handler.Decide(ctx, &w, seats.PodRef{Namespace: benchNS, Name: pod.Name}, false)
				lat = append(lat, time.Since(t))
				if err != nil || !d.Allowed {
					b.Fatalf("decision: %+v %v", d, err)
				}
			}
		}
		b.ReportMetric(float64(percentile(lat, 0.5))/float64(time.Microsecond), "p50-µs")
		b.ReportMetric(float64(percentile(lat, 0.99))/float64(time.Microsecond), "p99-µs")
	})
}
