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

// Package framework is what the end-to-end suites (test/e2e and
// test/e2e/cluster) share: one way to start the local cluster with the
// manager binary on it (localcluster.StartWithManager, as `make run-local`
// does), stop it after the suite, and show the logs when a spec fails. The
// operator is installed with `helm install` of dist/chart (certManager off:
// the manager makes its own webhook certificate), the manager runs with a
// token of the chart's ServiceAccount and exactly the chart's RBAC, and
// AuditOperator checks its requests in the API server's audit log after the
// last spec.
//
// The suites carry the build tag e2e: `go test -tags e2e ./test/e2e/...`
// (make test and make test-e2e pass it).
//
// Environment:
//   - E2E_MANAGER_BINARY runs a prebuilt manager instead of building ./cmd;
//   - E2E_KEEP keeps the work directory (kubeconfig, logs) after the suite;
//   - E2E_LOGS prints the tails of the logs even when every spec passed.
package framework

import (
	"context"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/test/localcluster"
)

// SetupTimeout bounds Start: building the manager, starting the control
// plane (and hollow nodes) and waiting for the manager's /readyz.
const SetupTimeout = 10 * time.Minute

// Start starts the suite's cluster (opts) with the manager binary built from
// ./cmd (or E2E_MANAGER_BINARY) running on it, and registers its stop with
// DeferCleanup. Call it from BeforeSuite. managerArgs are appended to the
// manager's flags (localcluster.ManagerOptions.Args).
func Start(ctx context.Context, opts localcluster.Options, managerArgs ...string) (*localcluster.Cluster, *localcluster.Manager) {
	logf.SetLogger(zap.New(zap.WriteTo(ginkgo.GinkgoWriter), zap.UseDevMode(true)))
	if os.Getenv("E2E_KEEP") != "" {
		dir, err := os.MkdirTemp("", "license-operator-e2e-")
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		opts.WorkDir = dir
		ginkgo.GinkgoWriter.Printf("E2E_KEEP: the work directory %s is kept\n", dir)
	}
	// The operator is installed as a cluster operator installs it: `helm
	// install` of dist/chart, the manager under the chart's ServiceAccount
	// (localcluster.Options.Chart).
	opts.Chart = true
	bin := os.Getenv("E2E_MANAGER_BINARY")
	ginkgo.By("starting the local cluster and the manager, and waiting for /readyz")
	cluster, manager, err := localcluster.StartWithManager(ctx, opts, localcluster.ManagerOptions{Binary: bin, Args: managerArgs}, bin == "")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.DeferCleanup(func() {
		if ginkgo.CurrentSpecReport().Failed() || os.Getenv("E2E_LOGS") != "" {
			PrintLogs(cluster)
		}
		gomega.Expect(cluster.Stop()).To(gomega.Succeed())
	})
	return cluster, manager
}

// PrintLogs writes the last lines of every log of the cluster (components
// and managers) to the GinkgoWriter.
func PrintLogs(cluster *localcluster.Cluster) {
	logs := cluster.Logs()
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		ginkgo.GinkgoWriter.Printf("--- tail of %s (%s)\n%s\n", name, logs[name], localcluster.Tail(logs[name], 60))
	}
}
