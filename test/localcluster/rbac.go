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

package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

const (
	// OperatorNamespace is the namespace config/default deploys into.
	OperatorNamespace = "license-operator-system"
	// NamePrefix is the name prefix config/default gives every object.
	NamePrefix = "license-operator-"
	// WebhookCertSecret is the Secret of config/internalcert, in
	// OperatorNamespace, that the manager renews with
	// --internal-cert-management (and reads by name).
	WebhookCertSecret = "webhook-server-cert"
)

// OperatorGroups are the groups the API server gives the token of the
// operator's ServiceAccount (config/default): what the manager's user has
// unless Options.PrivilegedOperator adds system:masters.
var OperatorGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + OperatorNamespace, "system:authenticated"}

// RenderRBAC renders config/rbac the way config/default does (namespace
// license-operator-system, name prefix license-operator-) with the assets'
// kubectl (kustomize) and returns the YAML stream.
func RenderRBAC(ctx context.Context, repoRoot, kubectl, workDir string) ([]byte, error) {
	dir, err := os.MkdirTemp(workDir, "rbac-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	// kustomize refuses an absolute path to a base: name it relative to dir.
	rel, err := filepath.Rel(dir, filepath.Join(repoRoot, "config", "rbac"))
	if err != nil {
		return nil, err
	}
	k := fmt.Sprintf("namespace: %s\nnamePrefix: %s\nresources:\n- %s\n", OperatorNamespace, NamePrefix, filepath.ToSlash(rel))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		return nil, err
	}
	return kustomize(ctx, kubectl, dir)
}

// applyRBAC creates the operator's namespace and applies config/rbac as
// config/default renders it: the manager's ClusterRole and leader-election
// Role bound to its ServiceAccount, the licence managers' ClusterRole, the
// metrics auth role, and the roles for people.
func (c *Cluster) applyRBAC(ctx context.Context) error {
	rendered, err := RenderRBAC(ctx, c.RepoRoot, c.KubectlPath(), c.WorkDir)
	if err != nil {
		return err
	}
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + OperatorNamespace + "\n---\n"
	if _, err := c.KubectlWithInput(ctx, ns+string(rendered), "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("applying config/rbac: %w", err)
	}
	return nil
}
