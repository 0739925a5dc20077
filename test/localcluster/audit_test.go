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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"
)

const op = "system:serviceaccount:license-operator-system:license-operator-controller-manager"

// auditLog is what kube-apiserver writes with AuditPolicy (trimmed).
const auditLog = `
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseStarted","requestURI":"/api/v1/secrets?labelSelector=licensing.license-operator.dev%2Flicense-key%3Dtrue\u0026watch=true","verb":"watch","user":{"username":"` + op + `"},"objectRef":{"resource":"secrets","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/t/secrets/k","verb":"get","user":{"username":"` + op + `"},"objectRef":{"resource":"secrets","namespace":"t","name":"k","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":404}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","requestURI":"/api/v1/secrets?limit=500","verb":"list","user":{"username":"` + op + `"},"objectRef":{"resource":"secrets","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":403},"annotations":{"authorization.k8s.io/decision":"forbid"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a4","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"someone-else"},"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":403}}

{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a5","stage":"ResponseComplete","requestURI":"/apis/licensing.license-operator.dev/v1alpha1/namespaces/t/softwarelicenses/l/status","verb":"patch","user":{"username":"` + op + `"},"objectRef":{"resource":"softwarelicenses","namespace":"t","name":"l","apiGroup":"licensing.license-operator.dev","apiVersion":"v1alpha1","subresource":"status"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a6","stage":"ResponseComplete","requestURI":"/apis?timeout=32s","verb":"get","user":{"username":"` + op + `"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/secrets?labelSelector=licensing.license-operator.dev%2Flicense-key%3Dtrue\u0026watch=true","verb":"watch","user":{"username":"` + op + `"},"objectRef":{"resource":"secrets","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a7","stage":"ResponseComplete","requestURI":"/api/v1/secrets?labelSelector=other%3Dtrue","verb":"watch","user":{"username":"` + op + `"},"objectRef":{"resource":"secrets","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a8","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/license-operator-system/leases/lock","verb":"get","user":{"username":"` + op + `"},"objectRef":{"resource":"leases","namespace":"license-operator-system","name":"lock","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a9","stage":"ResponseComplete","requestURI":"/apis/events.k8s.io/v1/namespaces/gone/events","verb":"create","user":{"username":"` + op + `"},"objectRef":{"resource":"events","namespace":"gone","name":"e","apiGroup":"events.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"message":"namespace gone is being terminated","code":403},"annotations":{"authorization.k8s.io/decision":"allow"}}
`

func ids(events []auditv1.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, string(ev.AuditID))
	}
	return out
}

func TestParseAuditLog(t *testing.T) {
	events, err := ParseAuditLog(strings.NewReader(auditLog), op)
	if err != nil {
		t.Fatal(err)
	}
	// a4 is someone else's; a1 is logged twice, kept once at its last stage.
	if diff := cmp.Diff([]string{"a1", "a2", "a3", "a5", "a6", "a7", "a8", "a9"}, ids(events)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if events[0].Stage != auditv1.StageResponseComplete {
		t.Errorf("a1 kept at stage %s, want ResponseComplete", events[0].Stage)
	}
	if diff := cmp.Diff([]string{"a3"}, ids(Forbidden(events))); diff != "" {
		t.Errorf("Forbidden (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a9"}, ids(RefusedByAdmission(events))); diff != "" {
		t.Errorf("RefusedByAdmission (-want +got):\n%s", diff)
	}
	if got := DescribeEvent(events[7]); got != "create /apis/events.k8s.io/v1/namespaces/gone/events -> 403: namespace gone is being terminated" {
		t.Errorf("DescribeEvent = %q", got)
	}
	if diff := cmp.Diff([]string{"a3", "a7"}, ids(UnselectedSecretReads(events, "licensing.license-operator.dev/license-key"))); diff != "" {
		t.Errorf("UnselectedSecretReads (-want +got):\n%s", diff)
	}
	uses := Uses(events)
	want := map[Use]int{
		{Resource: "secrets", Verb: "watch"}:                 2,
		{Resource: "secrets", Verb: "get", Namespaced: true}: 1,
		{Resource: "secrets", Verb: "list"}:                  1,
		{APIGroup: "licensing.license-operator.dev", Resource: "softwarelicenses", Subresource: "status", Verb: "patch", Namespaced: true}: 1,
		{Verb: "get", NonResourceURL: "/apis"}:                                               1,
		{APIGroup: "coordination.k8s.io", Resource: "leases", Verb: "get", Namespaced: true}: 1,
		{APIGroup: "events.k8s.io", Resource: "events", Verb: "create", Namespaced: true}:    1,
	}
	if diff := cmp.Diff(want, uses); diff != "" {
		t.Errorf("Uses (-want +got):\n%s", diff)
	}
	if got := (Use{APIGroup: "licensing.license-operator.dev", Resource: "softwarelicenses", Subresource: "status", Verb: "patch", Namespaced: true}).String(); got != "patch softwarelicenses/status.licensing.license-operator.dev (namespace)" {
		t.Errorf("Use.String() = %q", got)
	}
}

func TestUnused(t *testing.T) {
	events, err := ParseAuditLog(strings.NewReader(auditLog), op)
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(`
rules:
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create]
- apiGroups: [licensing.license-operator.dev]
  resources: [softwarelicenses/status]
  verbs: [patch, update]
`), &role); err != nil {
		t.Fatal(err)
	}
	var lease rbacv1.Role
	if err := yaml.Unmarshal([]byte(`
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [lock]
  verbs: [get, update]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [other]
  verbs: [get]
`), &lease); err != nil {
		t.Fatal(err)
	}
	grants := append(Grants("ClusterRole r", "", role.Rules), Grants("Role ns/l", "license-operator-system", lease.Rules)...)
	var got []string
	for _, g := range Unused(grants, events) {
		got = append(got, g.String())
	}
	want := []string{
		"ClusterRole r: create secrets (every namespace)",
		"ClusterRole r: update softwarelicenses/status.licensing.license-operator.dev (every namespace)",
		"Role ns/l: update leases.coordination.k8s.io lock (namespace license-operator-system)",
		"Role ns/l: get leases.coordination.k8s.io other (namespace license-operator-system)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unused (-want +got):\n%s", diff)
	}
	// A Role covers its own namespace only.
	other := Grants("Role x/l", "x", lease.Rules)
	if diff := cmp.Diff([]string{"a1", "a2", "a3", "a5", "a7", "a8", "a9"}, ids(Uncovered(other, events))); diff != "" {
		t.Errorf("Uncovered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a9"}, ids(Uncovered(grants, events))); diff != "" {
		t.Errorf("Uncovered by the grants (-want +got):\n%s", diff)
	}
}

func TestAuditPolicy(t *testing.T) {
	var p auditv1.Policy
	if err := yaml.UnmarshalStrict([]byte(AuditPolicy(op)), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 2 || p.Rules[0].Level != auditv1.LevelMetadata || cmp.Diff([]string{op}, p.Rules[0].Users) != "" ||
		p.Rules[1].Level != auditv1.LevelNone || len(p.Rules[1].Users) != 0 {
		t.Errorf("policy rules: %+v", p.Rules)
	}
	if cmp.Diff([]auditv1.Stage{auditv1.StageRequestReceived}, p.OmitStages) != "" {
		t.Errorf("omitStages: %v", p.OmitStages)
	}
}

// The webhook certificate Secret (--internal-cert-management) is read by
// name, in its namespace: that read passes; the same selector elsewhere, or
// any other name, does not.
func TestUnselectedSecretReadsByName(t *testing.T) {
	event := func(id, namespace, query string) auditv1.Event {
		return auditv1.Event{AuditID: types.UID(id), Verb: "watch",
			RequestURI: "/api/v1/namespaces/" + namespace + "/secrets?" + query,
			ObjectRef:  &auditv1.ObjectReference{Resource: "secrets", Namespace: namespace, APIVersion: "v1"}}
	}
	events := []auditv1.Event{
		event("b1", OperatorNamespace, "fieldSelector=metadata.name%3Dwebhook-server-cert&watch=true"),
		event("b2", "tenant", "fieldSelector=metadata.name%3Dwebhook-server-cert&watch=true"),
		event("b3", OperatorNamespace, "fieldSelector=metadata.name%3Dother&watch=true"),
		event("b4", OperatorNamespace, "watch=true"),
		event("b5", OperatorNamespace, "fieldSelector=metadata.name%21%3Dwebhook-server-cert&watch=true"),
	}
	named := types.NamespacedName{Namespace: OperatorNamespace, Name: WebhookCertSecret}
	if diff := cmp.Diff([]string{"b2", "b3", "b4", "b5"}, ids(UnselectedSecretReads(events, "licensing.license-operator.dev/license-key", named))); diff != "" {
		t.Errorf("UnselectedSecretReads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b1", "b2", "b3", "b4", "b5"}, ids(UnselectedSecretReads(events, "licensing.license-operator.dev/license-key"))); diff != "" {
		t.Errorf("UnselectedSecretReads without names (-want +got):\n%s", diff)
	}
}
