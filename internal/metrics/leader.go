package metrics

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// leader is true while this replica is the elected leader. Only the leader
// reconciles licences, so only its per-object gauges are current; the other
// replicas export none, so that sum() over the replicas is not doubled.
var leader atomic.Bool

// SetLeader says whether this replica is the leader and exports the
// per-object gauges.
func SetLeader(elected bool) { leader.Store(elected) }

// Leader is a runnable for the manager: as it needs leader election, the
// manager starts it once this replica is elected (at once without leader
// election), and it sets the leader flag until the manager stops.
func Leader() manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		SetLeader(true)
		<-ctx.Done()
		SetLeader(false)
		return nil
	})
}

// leaderOnly collects its collectors only while this replica is the leader.
type leaderOnly struct {
	collectors []prometheus.Collector
}

// Describe implements prometheus.Collector.
func (l *leaderOnly) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range l.collectors {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (l *leaderOnly) Collect(ch chan<- prometheus.Metric) {
	if !leader.Load() {
		return
	}
	for _, c := range l.collectors {
		c.Collect(ch)
	}
}
