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

// Package e2e runs the manager binary, as built from ./cmd, against a local
// control plane (etcd and kube-apiserver from hack/envtest-assets.sh) and
// drives it from the outside only: kubectl, the probe endpoints and the
// metrics endpoint. It needs no Docker and no Kind, so it never skips. It
// builds only with the tag e2e (`go test -tags e2e ./test/e2e/...`), and
// starts its cluster through test/e2e/framework.
package e2e

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/license-operator/license-operator/test/e2e/framework"
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
	// KUBEBUILDER_ASSETS when set (make test), hack/envtest-assets.sh otherwise.
	cluster, manager = framework.Start(ctx, localcluster.Options{})
}, NodeTimeout(framework.SetupTimeout))

// kubectl runs the assets' kubectl against the suite's cluster as admin.
func kubectl(ctx context.Context, args ...string) (string, error) {
	return cluster.Kubectl(ctx, args...)
}

// After every spec, the audit log shows that the manager, under the shipped
// role, had no request forbidden and read Secrets only through its label
// selector (framework.AuditOperator).
var _ = AfterSuite(func(ctx SpecContext) {
	framework.AuditOperator(ctx, cluster)
}, NodeTimeout(2*time.Minute))
