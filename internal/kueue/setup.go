// Package kueue makes the operator a Kueue AdmissionCheck controller
// (controllerName licensing.license-operator.dev/seats, docs/kueue.md): once
// Kueue has reserved quota for a Workload whose ClusterQueue lists such a
// check, the seats of all its pod sets are reserved together in the seat
// ledgers of the assignments that cover them, by the same rule and in the
// same compare-and-swap ledgers as the Pods the admission webhook admits
// (internal/seats, licensing.ReserveSeats), and the check turns Ready. The
// Pods of the Workload then ride the reservation (the webhook asks
// Integration.RideOf) and take no second seat; the seats go back once the
// Workload has finished, was evicted or deleted, and its Pods are gone.
//
// Kueue is optional: nothing here runs until Kueue's CRDs are served
// (Integration polls discovery, so a Kueue installed after the operator is
// found too), and the flag --kueue-admission-check=false turns it off.
package kueue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	kueuev1beta2 "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/license-operator/license-operator/internal/seats"
)

// ControllerName is the spec.controllerName of the AdmissionChecks this
// operator serves.
const ControllerName = "licensing.license-operator.dev/seats"

// FieldOwner is the field manager of the operator's server-side applies of
// Workload and AdmissionCheck status: it owns its check's state on the
// Workloads and the Active condition of its AdmissionChecks, nothing else.
const FieldOwner = "license-operator-seats"

// DefaultSeatWait is how long a Workload's check stays Pending while the
// seats it needs are busy, before it turns Retry (flag --kueue-seat-wait).
const DefaultSeatWait = time.Minute

// DefaultDiscoveryInterval is how often the operator looks for Kueue's CRDs
// until it finds them.
const DefaultDiscoveryInterval = 10 * time.Second

// Options configure the integration (the flags of cmd/main.go).
type Options struct {
	// Enabled runs the integration once Kueue's CRDs are served (flag
	// --kueue-admission-check, default true).
	Enabled bool
	// SeatWait is how long a check stays Pending while seats are busy
	// (flag --kueue-seat-wait); 0 means DefaultSeatWait.
	SeatWait time.Duration
	// DiscoveryInterval is how often Kueue's CRDs are looked for; 0 means
	// DefaultDiscoveryInterval.
	DiscoveryInterval time.Duration
	// Clock is the controllers' clock; nil means the real one.
	Clock clock.Clock
}

// Integration is the Kueue integration of one manager: the AdmissionCheck
// controllers, started once Kueue's CRDs are served, and what the admission
// webhook asks of them (RideOf, LeftToKueue), which answers nothing while
// they are not running.
type Integration struct {
	opts Options
	// cache reads Kueue's objects and the operator's from the manager's cache.
	cache client.Reader
	// live reads Jobs and ledgers from the API server.
	live   client.Client
	ledger *seats.Ledger

	active atomic.Bool
	once   sync.Once
}

// Active says whether Kueue's CRDs were found and the controllers run.
func (i *Integration) Active() bool { return i != nil && i.active.Load() }

// Every read of Kueue's objects goes through the cache: list and watch, no
// get (as for Nodes, docs/security.md "Permissions").
//
// +kubebuilder:rbac:groups=kueue.x-k8s.io,resources=workloads;admissionchecks;clusterqueues;localqueues,verbs=list;watch
// +kubebuilder:rbac:groups=kueue.x-k8s.io,resources=workloads/status;admissionchecks/status,verbs=patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get

// SetupWithManager registers the integration with mgr: a runnable on every
// replica that looks for Kueue's CRDs through discovery and, once they are
// served, registers the cache indexes (the admission webhook of every
// replica reads through them) and the controllers (which run on the leader).
// ledger is the seat ledger the admission webhook uses and live a client
// without a cache. With opts.Enabled false it registers nothing and returns
// an Integration that is never active.
func SetupWithManager(mgr ctrl.Manager, ledger *seats.Ledger, live client.Client, opts Options) (*Integration, error) {
	if opts.SeatWait <= 0 {
		opts.SeatWait = DefaultSeatWait
	}
	if opts.DiscoveryInterval <= 0 {
		opts.DiscoveryInterval = DefaultDiscoveryInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	i := &Integration{opts: opts, cache: mgr.GetClient(), live: live, ledger: ledger}
	if !opts.Enabled {
		return i, nil
	}
	if !mgr.GetScheme().Recognizes(kueuev1beta2.GroupVersion.WithKind("Workload")) {
		if err := kueuev1beta2.AddToScheme(mgr.GetScheme()); err != nil {
			return nil, err
		}
	}
	disc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	return i, mgr.Add(&detector{i: i, mgr: mgr, disc: disc})
}

// kueueResources are the resources of kueue.x-k8s.io/v1beta2 the
// integration reads: all must be served.
var kueueResources = []string{"workloads", "admissionchecks", "clusterqueues", "localqueues"}

// detector looks for Kueue's CRDs every DiscoveryInterval until they are
// served, then starts the integration once.
type detector struct {
	i    *Integration
	mgr  ctrl.Manager
	disc discovery.DiscoveryInterface
}

var _ manager.LeaderElectionRunnable = &detector{}

// NeedLeaderElection is false: every replica's webhook reads Kueue's
// objects; the controllers it starts are the leader's.
func (d *detector) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable.
func (d *detector) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("kueue")
	logged := false
	for {
		missing, err := d.missing()
		switch {
		case err == nil && len(missing) == 0:
			log.Info("Kueue's CRDs are served: starting the AdmissionCheck controller", "controllerName", ControllerName)
			if err := d.i.start(ctx, d.mgr); err != nil {
				return fmt.Errorf("starting the Kueue AdmissionCheck controller: %w", err)
			}
			return nil
		case !logged:
			log.Info("Kueue's CRDs are not served (yet): the AdmissionCheck controller waits for them", "missing", missing, "error", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.i.opts.DiscoveryInterval):
		}
	}
}

// missing are the resources of kueueResources that the API server does not serve.
func (d *detector) missing() ([]string, error) {
	list, err := d.disc.ServerResourcesForGroupVersion(kueuev1beta2.GroupVersion.String())
	if err != nil {
		return kueueResources, err
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	var out []string
	for _, r := range kueueResources {
		if !served[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// start registers the indexes and the controllers, once.
func (i *Integration) start(ctx context.Context, mgr ctrl.Manager) error {
	var err error
	i.once.Do(func() {
		if err = setupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
			return
		}
		if err = (&AdmissionCheckReconciler{Client: mgr.GetClient(), Clock: i.opts.Clock}).SetupWithManager(mgr); err != nil {
			return
		}
		wr := &WorkloadReconciler{
			Cache: mgr.GetClient(), Live: i.live, Ledger: i.ledger, Clock: i.opts.Clock, SeatWait: i.opts.SeatWait,
			Recorder: mgr.GetEventRecorder("license-operator-kueue"),
		}
		if err = wr.SetupWithManager(mgr); err != nil {
			return
		}
		i.active.Store(true)
	})
	return err
}
