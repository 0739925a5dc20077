package seats

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// This suite runs the controllers on a real kube-apiserver and etcd and
// starts and stops the managers itself, so that a test can restart the
// manager halfway, or run two replicas with leader election, and check that
// no seat is ever granted twice.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.WithWatch
	scheme    = runtime.NewScheme()
)

func TestSeats(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Seat accounting Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(licensingv1alpha1.AddToScheme(scheme)).To(Succeed())

	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{utiltesting.CRDDir()},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 1000, 2000

	k8sClient, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// managerOptions say how a test's manager runs.
type managerOptions struct {
	clock clock.PassiveClock
	// leaderElection runs the manager as one replica of several: only the
	// holder of the Lease reconciles.
	leaderElection bool
	// leaseID names the Lease the replicas compete for.
	leaseID string
	// labelVMNodes runs the node VM labeller (--label-vm-nodes).
	labelVMNodes bool
}

// runningManager is a manager started by a test.
type runningManager struct {
	mgr    ctrl.Manager
	cancel context.CancelFunc
	done   chan struct{}
	// elected is closed when the manager became the leader (at once without
	// leader election).
	elected <-chan struct{}
}

// stop stops the manager and waits until it has stopped.
func (m *runningManager) stop() {
	m.cancel()
	Eventually(m.done, 30*time.Second).Should(BeClosed())
}

// startManager starts a manager running every controller, as cmd/main.go
// does, on the test's API server.
func startManager(opts managerOptions) *runningManager {
	if opts.clock == nil {
		opts.clock = clock.RealClock{}
	}
	mgrCfg := rest.CopyConfig(cfg)
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Cache:                   controller.CacheOptions(),
		LeaderElection:          opts.leaderElection,
		LeaderElectionID:        opts.leaseID,
		LeaderElectionNamespace: "default",
		LeaseDuration:           ptr.To(2 * time.Second),
		RenewDeadline:           ptr.To(1500 * time.Millisecond),
		RetryPeriod:             ptr.To(200 * time.Millisecond),
		// Several managers in one process register the same controller names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(controller.SetupWithManager(mgr, controller.Options{Clock: opts.clock, LabelVMNodes: opts.labelVMNodes})).To(Succeed())

	mctx, mcancel := context.WithCancel(ctx)
	m := &runningManager{mgr: mgr, cancel: mcancel, done: make(chan struct{}), elected: mgr.Elected()}
	go func() {
		defer GinkgoRecover()
		defer close(m.done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	return m
}

// newNamespace creates a namespace with a random name.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "seats-" + rand.String(6)}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// createConcurrently creates the objects from workers goroutines at once,
// in the order given, calling after(i) once the i-th create returned.
func createConcurrently(objs []client.Object, workers int, after func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for i := range next {
				Expect(k8sClient.Create(ctx, objs[i])).To(Succeed())
				if after != nil {
					mu.Lock()
					after(i)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range objs {
		next <- i
	}
	close(next)
	wg.Wait()
}

// assignmentHistory watches every assignment of a namespace from before the
// test creates any and checks, at every event in the order etcd committed
// them, that no more than maxBound assignments are Bound at once and that
// no Bound assignment ever moves to another licence or stops being Bound
// (nothing in these tests releases a seat but deleting its assignment).
type assignmentHistory struct {
	mu         sync.Mutex
	maxBound   int
	bound      map[string]string // assignment → licence it is bound to
	peak       int
	violations []string
	events     int
	stop       context.CancelFunc
	done       chan struct{}
}

// watchAssignments starts an assignmentHistory of namespace ns.
func watchAssignments(ns string, maxBound int) *assignmentHistory {
	h := &assignmentHistory{maxBound: maxBound, bound: map[string]string{}, done: make(chan struct{})}
	wctx, wcancel := context.WithCancel(ctx)
	h.stop = wcancel
	var list licensingv1alpha1.LicenseAssignmentList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	Expect(list.Items).To(BeEmpty(), "the history starts before the first assignment")
	rv := list.ResourceVersion
	go func() {
		defer GinkgoRecover()
		defer close(h.done)
		for wctx.Err() == nil {
			w, err := k8sClient.Watch(wctx, &licensingv1alpha1.LicenseAssignmentList{}, client.InNamespace(ns),
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
			if err != nil {
				if wctx.Err() != nil {
					return
				}
				Fail(fmt.Sprintf("watching assignments: %v", err))
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					if wctx.Err() != nil {
						return
					}
					Fail(fmt.Sprintf("watch error: %v", ev.Object))
				}
				a, ok := ev.Object.(*licensingv1alpha1.LicenseAssignment)
				if !ok {
					continue
				}
				rv = a.ResourceVersion
				if ev.Type != watch.Bookmark {
					h.observe(ev.Type, a)
				}
			}
			w.Stop()
		}
	}()
	return h
}

func (h *assignmentHistory) observe(t watch.EventType, a *licensingv1alpha1.LicenseAssignment) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events++
	was, wasBound := h.bound[a.Name]
	isBound := a.Status.State == licensingv1alpha1.AssignmentStateBound && t != watch.Deleted
	switch {
	case t == watch.Deleted:
		delete(h.bound, a.Name)
	case wasBound && !isBound:
		h.violations = append(h.violations, fmt.Sprintf("%s was Bound to %s and became %s", a.Name, was, a.Status.State))
		delete(h.bound, a.Name)
	case wasBound && a.Status.License != was:
		h.violations = append(h.violations, fmt.Sprintf("%s moved from %s to %s", a.Name, was, a.Status.License))
		h.bound[a.Name] = a.Status.License
	case isBound:
		h.bound[a.Name] = a.Status.License
	}
	if len(h.bound) > h.peak {
		h.peak = len(h.bound)
	}
	if h.maxBound >= 0 && len(h.bound) > h.maxBound {
		h.violations = append(h.violations, fmt.Sprintf("%d assignments Bound at once after %s %s", len(h.bound), t, a.Name))
	}
}

// check stops the history and returns what it saw.
func (h *assignmentHistory) check() (peak, events int, violations []string) {
	h.stop()
	Eventually(h.done, 10*time.Second).Should(BeClosed())
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak, h.events, h.violations
}
