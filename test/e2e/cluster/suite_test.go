//go:build e2e

package cluster

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/license-operator/license-operator/test/e2e/framework"
	"github.com/license-operator/license-operator/test/kubecluster"
	"github.com/license-operator/license-operator/test/localcluster"
)

// This suite runs license-operator in a cluster with real controllers: etcd
// and kube-apiserver (with the ServiceAccount admission plugin on),
// kube-controller-manager with every controller (service account tokens,
// ReplicaSets, garbage collection), kube-scheduler, a kubemark hollow node
// that "runs" Pods without a container runtime, and the manager binary built
// from ./cmd serving its webhooks over TLS, as in a real cluster. It is the
// cluster of `make run-local`, started through test/e2e/framework.

var (
	ctx       context.Context
	cancel    context.CancelFunc
	cluster   *localcluster.Cluster
	cfg       *rest.Config
	k8sClient client.Client
	scheme    *runtime.Scheme
)

func TestCluster(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Full-cluster e2e Suite")
}

var _ = BeforeSuite(func(sctx SpecContext) {
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(func() { cancel() })
	scheme = kubecluster.Scheme()
	cluster, _ = framework.Start(sctx, localcluster.Options{HollowNodes: 1})
	cfg = cluster.Config
	var err error
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(framework.SetupTimeout))

// After every spec, the audit log shows the manager's requests: none was
// forbidden under the shipped role, and Secrets were listed and watched only
// with the operator's label selector (framework.AuditOperator).
var _ = AfterSuite(func(sctx SpecContext) {
	framework.AuditOperator(sctx, cluster)
}, NodeTimeout(2*time.Minute))
