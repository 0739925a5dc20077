//go:build e2e

/*
Copyright 2026 The license-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package kueue runs license-operator beside a real Kueue (v0.17.0, pinned
// by hack/tools/kueue/go.mod and built once by hack/kueue.sh) on the local
// cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a
// kubemark hollow node, the operator installed with its chart, and Kueue
// with its CRDs, RBAC and webhooks as its config/default installs them
// (localcluster.Options.Kueue says what stands in for Kueue's Pod). Jobs go
// through Kueue's webhook, queues and scheduler, and their Pods run on the
// hollow node.
package kueue

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/license-operator/license-operator/test/e2e/framework"
	"github.com/license-operator/license-operator/test/kubecluster"
	"github.com/license-operator/license-operator/test/localcluster"
)

var (
	ctx       context.Context
	cluster   *localcluster.Cluster
	k8sClient client.Client
)

func TestKueue(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "Kueue e2e suite")
}

// seatWait is the manager's --kueue-seat-wait: how long a Workload's check
// stays Pending while its seats are busy before it turns Retry. Short, so
// that the spec over the seats sees the Retry in seconds, not the default
// minute.
const seatWait = 5 * time.Second

// setupTimeout is framework.SetupTimeout plus the first build of Kueue
// (about seven minutes, more on a loaded machine) when `make kueue` has not
// built it yet.
const setupTimeout = framework.SetupTimeout + 15*time.Minute

var _ = BeforeSuite(func(sctx SpecContext) {
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	DeferCleanup(cancel)
	cluster, _ = framework.Start(sctx, localcluster.Options{HollowNodes: 1, Kueue: true}, "--kueue-seat-wait="+seatWait.String())
	var err error
	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: kubecluster.KueueScheme()})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(setupTimeout))

// The operator ran beside Kueue under its shipped role: no request of it
// was forbidden (framework.AuditOperator).
var _ = AfterSuite(func(sctx SpecContext) {
	framework.AuditOperator(sctx, cluster)
}, NodeTimeout(2*time.Minute))
