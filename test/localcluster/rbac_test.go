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
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/internal/licensing"
)

// TestRBACFollowsConfigDefault keeps applyRBAC's rendering of config/rbac
// (OperatorNamespace, NamePrefix) and the manager's user the ones
// config/default deploys.
func TestRBACFollowsConfigDefault(t *testing.T) {
	root, err := FindRepoRoot("")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace  string `json:"namespace"`
		NamePrefix string `json:"namePrefix"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if k.Namespace != OperatorNamespace || k.NamePrefix != NamePrefix {
		t.Errorf("config/default: namespace %q, namePrefix %q; localcluster renders config/rbac with %q, %q",
			k.Namespace, k.NamePrefix, OperatorNamespace, NamePrefix)
	}
	if want := "system:serviceaccount:" + OperatorNamespace + ":" + NamePrefix + "controller-manager"; licensing.DefaultOperatorUsername != want {
		t.Errorf("licensing.DefaultOperatorUsername = %q, config/default's ServiceAccount is %q", licensing.DefaultOperatorUsername, want)
	}
}
