package bench

// BenchmarkAdmission measures what the workload webhook adds to Pod creation on
// a real kube-apiserver (envtest), in one run:
//
//   - none:            Pods no webhook sees (the matchConditions keep them away);
//   - quota:           the same, in a namespace with a ResourceQuota on Pods: the API
//     server's own compare-and-swap admission (a quota status write per Pod), the
//     reference for what a seat count kept on the API server costs;
//   - noop:            Pods sent to a do-nothing webhook on the same TLS server;
//   - ours-site:       Pods admitted by our webhook through a Site licence (decision only);
//   - ours-concurrent: Pods admitted on a Concurrent Hard assignment (decision plus
//     the compare-and-swap of the seat ledger on the API server);
//
// each with 1 and 16 concurrent clients, and the in-process decision
// (Handler.Decide on a warm cache). Between rounds the Pods holding Concurrent
// seats are deleted (untimed), so the ledger holds at most one round of Pods.
// Run:
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkAdmission -benchtime=800x -v
//
// Results and the goals are in docs/benchmarks.md, section "Admission".

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
)

type admissionEnv struct {
	env     *envtest.Environment
	c       client.Client
	mgr     ctrl.Manager
	stop    func()
	handler *workload.Handler
}

func startAdmissionEnv(b *testing.B) *admissionEnv {
	b.Helper()
	ctx := context.Background()
	env, cfg := startEnvtest(b, func(assets string) (envtest.WebhookInstallOptions, error) {
		muts, vals, err := kubecluster.KustomizedWebhooks(assets)
		return envtest.WebhookInstallOptions{MutatingWebhooks: muts, ValidatingWebhooks: vals, LocalServingHost: "127.0.0.1"}, err
	})
	cfg.QPS, cfg.Burst = 5000, 10000
	ae := &admissionEnv{env: env}
	scheme := kubecluster.Scheme()
	wio := &env.WebhookInstallOptions
	var err error
	ae.mgr, err = kubecluster.NewWebhookManager(cfg, scheme, wio.LocalServingPort, wio.LocalServingCertDir)
	if err != nil {
		b.Fatal(err)
	}
	if err := licensingwebhook.SetupWithManager(ae.mgr, licensingwebhook.Options{Workload: workload.Options{WebhookConfigurations: kubecluster.WebhookConfigurations}}); err != nil {
		b.Fatal(err)
	}
	// The do-nothing webhook: same server, same TLS, always allows.
	ae.mgr.GetWebhookServer().Register("/noop", &webhook.Admission{Handler: admission.HandlerFunc(
		func(context.Context, admission.Request) admission.Response { return admission.Allowed("") })})
	ledger := &seats.Ledger{Reader: ae.mgr.GetAPIReader(), Writer: ae.mgr.GetClient(), Clock: clock.RealClock{}, Grace: seats.LedgerGrace}
	ae.handler = workload.NewHandler(ae.mgr.GetClient(), scheme, ledger, nil)
	ae.stop, _ = kubecluster.StartManagers(ctx, ae.mgr)
	ae.c, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}

	url := "https://" + net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort)) + "/noop"
	noop := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-noop"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "noop.bench.license-operator.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: wio.LocalServingCAData},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](5),
			MatchConditions:         []admissionregistrationv1.MatchCondition{{Name: "noop", Expression: fmt.Sprintf("has(object.metadata.annotations) && '%s' in object.metadata.annotations", noopAnnotation)}},
		}},
	}
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
	for _, v := range variants {
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
				if err := ae.c.Create(ctx, p); err != nil {
					b.Errorf("create %s: %v", p.Name, err)
					return
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
func (ae *admissionEnv) drainConcurrent(b *testing.B) {
	ctx := context.Background()
	if err := ae.c.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(benchNS), client.MatchingLabels{"bench-variant": "ours-concurrent"}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		l := &licensingv1alpha1.SeatLedger{}
		err := ae.c.Get(ctx, client.ObjectKey{Namespace: benchNS, Name: seats.LedgerName("runners")}, l)
		if err == nil && len(l.Spec.Entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the ledger still holds %d entries: %v", len(l.Spec.Entries), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var variants = []string{"none", "quota", "noop", "ours-site", "ours-concurrent"}

func BenchmarkAdmission(b *testing.B) {
	ae := startAdmissionEnv(b)
	defer ae.close()
	round := 0
	for _, clients := range []int{1, 16} {
		// One op is one Pod of each variant. The variants run interleaved in
		// rounds, so that the noise of a shared machine falls on all alike.
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			const rounds = 8
			lat := map[string][]time.Duration{}
			busy := map[string]time.Duration{}
			for r := range rounds {
				n := b.N / rounds
				if r < b.N%rounds {
					n++
				}
				if n == 0 {
					continue
				}
				for _, v := range variants {
					l, d := ae.run(b, v, clients, n, &round)
					lat[v] = append(lat[v], l...)
					busy[v] += d
				}
				ae.drainConcurrent(b)
			}
			res := map[string]result{}
			for _, v := range variants {
				res[v] = result{p50: percentile(lat[v], 0.50), p99: percentile(lat[v], 0.99), throughput: float64(len(lat[v])) / busy[v].Seconds()}
				b.ReportMetric(ms(res[v].p99), v+"-p99-ms")
				b.ReportMetric(res[v].throughput, v+"-pods/s")
			}
			for _, v := range []string{"ours-site", "ours-concurrent"} {
				b.ReportMetric(ms(res[v].p99-res["noop"].p99), v+"-added-p99-ms")
			}
			for _, v := range []string{"quota", "noop", "ours-site", "ours-concurrent"} {
				b.ReportMetric(100*(1-res[v].throughput/res["none"].throughput), v+"-throughput-loss-%")
			}
			for _, v := range variants {
				b.Logf("clients=%d %-16s p50 %7.2f ms  p99 %7.2f ms  %7.1f pods/s", clients, v, ms(res[v].p50), ms(res[v].p99), res[v].throughput)
			}
		})
	}
	b.Run("decision", func(b *testing.B) {
		// The in-process decision on a warm cache: products, assignments and
		// licences from the informers, the pure coverage decision; a Site
		// licence so that no API call (ledger) is part of it.
		ctx := context.Background()
		pod := benchPod("ours-site", "decide")
		w := licensing.WorkloadFromPodSpec("Pod", pod.Name, benchNS, pod.ObjectMeta, &pod.Spec, nil)
		lat := make([]time.Duration, b.N)
		b.ResetTimer()
		for i := range b.N {
			t := time.Now()
			d, err := ae.handler.Decide(ctx, &w, seats.PodRef{Namespace: benchNS, Name: pod.Name}, false)
			lat[i] = time.Since(t)
			if err != nil || !d.Allowed {
				b.Fatalf("decision: %+v %v", d, err)
			}
		}
		b.ReportMetric(float64(percentile(lat, 0.5))/float64(time.Microsecond), "p50-µs")
		b.ReportMetric(float64(percentile(lat, 0.99))/float64(time.Microsecond), "p99-µs")
	})
}
