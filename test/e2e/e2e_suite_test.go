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

// Package e2e runs the manager binary, as built from ./cmd, against a local
// control plane (etcd and kube-apiserver from hack/envtest-assets.sh) and
// drives it from the outside only: kubectl, the probe endpoints and the
// metrics endpoint. It needs no Docker and no Kind, so it never skips.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/test/localcluster"
)

var (
	// cluster is the control plane of the suite, manager the manager
	// process running against it.
	cluster *localcluster.Cluster
	manager *localcluster.Manager
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	// On two shared cores an API round trip can take seconds: wait long enough
	// that a slow machine does not fail a test whose outcome is right.
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "e2e suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))

	root, err := localcluster.FindRepoRoot("")
	Expect(err).NotTo(HaveOccurred())

	By("building the manager binary")
	binDir, err := os.MkdirTemp("", "license-operator-e2e-bin-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, binDir)
	binary := filepath.Join(binDir, "manager")
	Expect(localcluster.BuildManager(ctx, root, binary)).To(Succeed())

	By("starting etcd and kube-apiserver with the CRDs installed")
	// KUBEBUILDER_ASSETS when set (make test), hack/envtest-assets.sh otherwise.
	cluster, err = localcluster.Start(ctx, localcluster.Options{RepoRoot: root})
	Expect(err).NotTo(HaveOccurred())

	By("starting the manager and waiting for /readyz")
	manager, err = cluster.StartManager(ctx, localcluster.ManagerOptions{
		Binary: binary,
		Output: GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(10*time.Minute))

var _ = AfterSuite(func() {
	if cluster != nil {
		Expect(cluster.Stop()).To(Succeed())
	}
})

// kubectl runs the assets' kubectl against the suite's cluster as admin.
func kubectl(ctx context.Context, args ...string) (string, error) {
	return cluster.Kubectl(ctx, args...)
}
