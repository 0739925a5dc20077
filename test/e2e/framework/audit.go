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

package framework

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/test/localcluster"
)

// AuditOperator reads the API server's audit log of cluster (every request
// of the manager's user, the operator's ServiceAccount) and proves what
// docs/security.md ("Permissions") claims of the shipped role:
//   - the authorizer forbade no request of the operator (no 403 that RBAC
//     decided): the role is enough. A 403 that RBAC allowed and admission
//     refused (NamespaceLifecycle: an event in a namespace a spec is
//     deleting) is reported, not failed;
//   - it never listed or watched Secrets except those labelled
//     controller.KeySecretLabel (its cache's label selector) and, by name,
//     its webhook certificate Secret (--internal-cert-management).
//
// Both fail the suite. It reports, without failing, what the operator did
// (each kind of request and how often) and what the roles bound to its
// ServiceAccount grant that no request used: each of those has its reason
// in docs/security.md. Call it from AfterSuite, once the specs are done.
func AuditOperator(ctx context.Context, cluster *localcluster.Cluster) {
	if cluster == nil {
		return // BeforeSuite failed (and failed the suite): no cluster, no audit log
	}
	events, err := localcluster.ReadAuditLog(cluster.AuditLogPath, licensing.DefaultOperatorUsername)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	gomega.Expect(events).NotTo(gomega.BeEmpty(), "the audit log %s holds no request of the operator", cluster.AuditLogPath)

	uses := localcluster.Uses(events)
	keys := slices.SortedFunc(maps.Keys(uses), func(a, b localcluster.Use) int { return cmp.Compare(a.String(), b.String()) })
	var did strings.Builder
	for _, u := range keys {
		fmt.Fprintf(&did, "%6d  %s\n", uses[u], u)
	}
	ginkgo.AddReportEntry("requests of the operator", fmt.Sprintf("%d requests:\n%s", len(events), did.String()))

	secrets := secretReads(events)
	ginkgo.AddReportEntry("the operator's Secret requests", secrets)

	admin, err := client.New(cluster.Config, client.Options{})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	grants, err := localcluster.OperatorGrants(ctx, admin, localcluster.OperatorNamespace, localcluster.NamePrefix+"controller-manager")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	unused := localcluster.Unused(grants, events)
	var report strings.Builder
	for _, g := range unused {
		fmt.Fprintf(&report, "  %s\n", g)
	}
	ginkgo.AddReportEntry("granted but unused", fmt.Sprintf("%d of %d grants unused (reasons: docs/security.md, Permissions):\n%s",
		len(unused), len(grants), report.String()))
	ginkgo.GinkgoWriter.Printf("the operator's requests (%d):\n%s\ngranted but unused:\n%s\nSecrets:\n%s\n",
		len(events), did.String(), report.String(), secrets)

	refused := describe(localcluster.RefusedByAdmission(events))
	ginkgo.AddReportEntry("the operator's requests refused by admission (authorized, then 403)", refused)
	ginkgo.GinkgoWriter.Printf("refused by admission, not by RBAC (%d): %v\n", len(refused), refused)
	forbidden := localcluster.Forbidden(events)
	ginkgo.GinkgoWriter.Printf("forbidden by RBAC: %d\n", len(forbidden))
	gomega.Expect(describe(forbidden)).To(gomega.BeEmpty(), "requests of the operator the API server forbade")
	webhookCert := types.NamespacedName{Namespace: localcluster.OperatorNamespace, Name: localcluster.WebhookCertSecret}
	gomega.Expect(describe(localcluster.UnselectedSecretReads(events, controller.KeySecretLabel, webhookCert))).To(gomega.BeEmpty(),
		"lists or watches of Secrets without the selector %s", controller.KeySecretLabel)
}

// secretReads describes each Secret request of events, once per distinct
// verb and URI.
func secretReads(events []auditv1.Event) string {
	seen := map[string]int{}
	for _, ev := range events {
		if ev.ObjectRef != nil && ev.ObjectRef.APIGroup == "" && ev.ObjectRef.Resource == "secrets" {
			seen[localcluster.DescribeEvent(ev)]++
		}
	}
	var b strings.Builder
	for _, line := range slices.Sorted(maps.Keys(seen)) {
		fmt.Fprintf(&b, "%4d  %s\n", seen[line], line)
	}
	return b.String()
}

func describe(events []auditv1.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, localcluster.DescribeEvent(ev))
	}
	return out
}
