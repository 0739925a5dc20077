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
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AuditPolicy is the API server's audit policy of a Cluster: every request
// of user at level Metadata (who, what, which object, the response code;
// no bodies), past the RequestReceived stage, and nothing of anyone else.
func AuditPolicy(user string) string {
	return fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
- RequestReceived
rules:
- level: Metadata
  users:
  - %q
- level: None
`, user)
}

// ReadAuditLog reads the audit log at path (ParseAuditLog).
func ReadAuditLog(path, user string) ([]auditv1.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return ParseAuditLog(f, user)
}

// ParseAuditLog reads a JSON-lines audit log and returns the requests of
// user, one event each in the order they were received: the last stage
// logged of each audit ID (ResponseComplete, or ResponseStarted of a watch
// still open).
func ParseAuditLog(r io.Reader, user string) ([]auditv1.Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var events []auditv1.Event
	index := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var ev auditv1.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", n, err)
		}
		if ev.User.Username != user {
			continue
		}
		if i, ok := index[string(ev.AuditID)]; ok {
			events[i] = ev
			continue
		}
		index[string(ev.AuditID)] = len(events)
		events = append(events, ev)
	}
	return events, sc.Err()
}

// DecisionAnnotation is the audit annotation in which the authorizer records
// its decision ("allow" or "forbid") on a request.
const DecisionAnnotation = "authorization.k8s.io/decision"

// Forbidden returns the events the authorizer forbade: a 403 Forbidden whose
// authorization decision was not "allow". A 403 that authorization allowed
// is an admission refusal (RefusedByAdmission), not a missing permission.
func Forbidden(events []auditv1.Event) []auditv1.Event {
	var out []auditv1.Event
	for _, ev := range events {
		if (ev.ResponseStatus != nil && ev.ResponseStatus.Code == 403 && ev.Annotations[DecisionAnnotation] != "allow") ||
			ev.Annotations[DecisionAnnotation] == "forbid" {
			out = append(out, ev)
		}
	}
	return out
}

// RefusedByAdmission returns the events answered 403 Forbidden although the
// authorizer allowed them: an admission plugin or policy refused them (such
// as NamespaceLifecycle, for content in a namespace being deleted).
func RefusedByAdmission(events []auditv1.Event) []auditv1.Event {
	var out []auditv1.Event
	for _, ev := range events {
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == 403 && ev.Annotations[DecisionAnnotation] == "allow" {
			out = append(out, ev)
		}
	}
	return out
}

// UnselectedSecretReads returns the lists and watches of core Secrets whose
// label selector does not require label (key=value or key in (…)), except
// those of one of named, in its namespace, by a metadata.name field selector:
// a request the operator must never make, since it caches only its own key
// Secrets (and, with --internal-cert-management, its webhook certificate
// Secret, WebhookCertSecret, by name).
func UnselectedSecretReads(events []auditv1.Event, label string, named ...types.NamespacedName) []auditv1.Event {
	var out []auditv1.Event
	for _, ev := range events {
		ref := ev.ObjectRef
		if ref == nil || ref.APIGroup != "" || ref.Resource != "secrets" || (ev.Verb != "list" && ev.Verb != "watch") {
			continue
		}
		if !selects(ev.RequestURI, label) && !selectsName(ev, named) {
			out = append(out, ev)
		}
	}
	return out
}

// selectsName reports whether ev lists or watches one of named only: in its
// namespace, with a field selector that requires its metadata.name.
func selectsName(ev auditv1.Event, named []types.NamespacedName) bool {
	u, err := url.Parse(ev.RequestURI)
	if err != nil {
		return false
	}
	sel, err := fields.ParseSelector(u.Query().Get("fieldSelector"))
	if err != nil {
		return false
	}
	name, ok := sel.RequiresExactMatch("metadata.name")
	return ok && slices.Contains(named, types.NamespacedName{Namespace: ev.ObjectRef.Namespace, Name: name})
}

// selects reports whether the labelSelector of requestURI requires label.
func selects(requestURI, label string) bool {
	u, err := url.Parse(requestURI)
	if err != nil {
		return false
	}
	sel, err := labels.Parse(u.Query().Get("labelSelector"))
	if err != nil {
		return false
	}
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() == label && (r.Operator() == "=" || r.Operator() == "==" || r.Operator() == "in") {
			return true
		}
	}
	return false
}

// Use is a kind of request: a verb on a resource (APIGroup "" is core),
// in a namespace or not; a non-resource request (discovery, /version) has
// its path as NonResourceURL.
type Use struct {
	APIGroup, Resource, Subresource, Verb string
	Namespaced                            bool
	NonResourceURL                        string
}

func (u Use) String() string {
	if u.NonResourceURL != "" {
		return fmt.Sprintf("%s %s", u.Verb, u.NonResourceURL)
	}
	res := u.Resource
	if u.Subresource != "" {
		res += "/" + u.Subresource
	}
	if u.APIGroup != "" {
		res += "." + u.APIGroup
	}
	scope := "cluster"
	if u.Namespaced {
		scope = "namespace"
	}
	return fmt.Sprintf("%s %s (%s)", u.Verb, res, scope)
}

// Uses counts the events by Use.
func Uses(events []auditv1.Event) map[Use]int {
	uses := map[Use]int{}
	for _, ev := range events {
		u := Use{Verb: ev.Verb}
		if ref := ev.ObjectRef; ref != nil {
			u.APIGroup, u.Resource, u.Subresource, u.Namespaced = ref.APIGroup, ref.Resource, ref.Subresource, ref.Namespace != ""
		} else if p, err := url.Parse(ev.RequestURI); err == nil {
			u.NonResourceURL = p.Path
		} else {
			u.NonResourceURL = ev.RequestURI
		}
		uses[u]++
	}
	return uses
}

// Grant is one permission a role grants: a verb on a resource (with
// "/subresource"), of a group, limited to ResourceNames when not empty, in
// Namespace (a Role's) or everywhere (a ClusterRole's, Namespace "").
type Grant struct {
	Role          string
	Namespace     string
	APIGroup      string
	Resource      string
	Verb          string
	ResourceNames []string
}

func (g Grant) String() string {
	res := g.Resource
	if g.APIGroup != "" {
		res += "." + g.APIGroup
	}
	if len(g.ResourceNames) > 0 {
		res += " " + strings.Join(g.ResourceNames, ",")
	}
	where := "every namespace"
	if g.Namespace != "" {
		where = "namespace " + g.Namespace
	}
	return fmt.Sprintf("%s: %s %s (%s)", g.Role, g.Verb, res, where)
}

// Grants expands the resource rules of a role (role names it, namespace is
// a Role's, "" a ClusterRole's) into one Grant per group, resource and verb.
func Grants(role, namespace string, rules []rbacv1.PolicyRule) []Grant {
	var out []Grant
	for _, r := range rules {
		for _, group := range r.APIGroups {
			for _, res := range r.Resources {
				for _, verb := range r.Verbs {
					out = append(out, Grant{Role: role, Namespace: namespace, APIGroup: group, Resource: res,
						Verb: verb, ResourceNames: r.ResourceNames})
				}
			}
		}
	}
	return out
}

// Covers reports whether the grant allows the request of ev (the way the
// RBAC authorizer matches, wildcards included).
func (g Grant) Covers(ev auditv1.Event) bool {
	ref := ev.ObjectRef
	if ref == nil {
		return false
	}
	res := ref.Resource
	if ref.Subresource != "" {
		res += "/" + ref.Subresource
	}
	switch {
	case g.APIGroup != "*" && g.APIGroup != ref.APIGroup,
		g.Resource != "*" && g.Resource != res,
		g.Verb != "*" && g.Verb != ev.Verb,
		g.Namespace != "" && g.Namespace != ref.Namespace,
		len(g.ResourceNames) > 0 && !slices.Contains(g.ResourceNames, ref.Name):
		return false
	}
	return true
}

// Unused returns the grants that no event needed.
func Unused(grants []Grant, events []auditv1.Event) []Grant {
	var out []Grant
	for _, g := range grants {
		if !slices.ContainsFunc(events, g.Covers) {
			out = append(out, g)
		}
	}
	return out
}

// Uncovered returns the resource requests that no grant allows (a request
// allowed some other way, such as discovery through system:authenticated).
func Uncovered(grants []Grant, events []auditv1.Event) []auditv1.Event {
	var out []auditv1.Event
	for _, ev := range events {
		if ev.ObjectRef == nil {
			continue
		}
		if !slices.ContainsFunc(grants, func(g Grant) bool { return g.Covers(ev) }) {
			out = append(out, ev)
		}
	}
	return out
}

// OperatorGrants reads, through c, the roles bound by name to the
// operator's ServiceAccount (as a ServiceAccount or as its username) and
// returns what they grant: the roles of config/rbac, and not what every
// authenticated user has (discovery).
func OperatorGrants(ctx context.Context, c client.Reader, namespace, serviceAccount string) ([]Grant, error) {
	username := "system:serviceaccount:" + namespace + ":" + serviceAccount
	names := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return (s.Kind == rbacv1.ServiceAccountKind && s.Name == serviceAccount && s.Namespace == namespace) ||
				(s.Kind == rbacv1.UserKind && s.Name == username)
		})
	}
	// rules reads the rules of the role ref names, a Role in namespace or a
	// ClusterRole.
	rules := func(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
		if ref.Kind == "Role" {
			role := &rbacv1.Role{}
			err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, role)
			return role.Rules, err
		}
		role := &rbacv1.ClusterRole{}
		err := c.Get(ctx, client.ObjectKey{Name: ref.Name}, role)
		return role.Rules, err
	}
	type binding struct {
		what, namespace string
		subjects        []rbacv1.Subject
		ref             rbacv1.RoleRef
	}
	var bindings []binding
	crbs := &rbacv1.ClusterRoleBindingList{}
	if err := c.List(ctx, crbs); err != nil {
		return nil, err
	}
	for _, b := range crbs.Items {
		bindings = append(bindings, binding{"ClusterRoleBinding " + b.Name, "", b.Subjects, b.RoleRef})
	}
	rbs := &rbacv1.RoleBindingList{}
	if err := c.List(ctx, rbs); err != nil {
		return nil, err
	}
	for _, b := range rbs.Items {
		bindings = append(bindings, binding{"RoleBinding " + b.Namespace + "/" + b.Name, b.Namespace, b.Subjects, b.RoleRef})
	}
	var grants []Grant
	for _, b := range bindings {
		if !names(b.subjects) {
			continue
		}
		r, err := rules(b.ref, b.namespace)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.what, err)
		}
		role := b.ref.Kind + " " + b.ref.Name
		if b.namespace != "" {
			role = b.ref.Kind + " " + b.namespace + "/" + b.ref.Name
		}
		grants = append(grants, Grants(role, b.namespace, r)...)
	}
	slices.SortStableFunc(grants, func(a, b Grant) int { return cmp.Compare(a.Role, b.Role) })
	return grants, nil
}

// DescribeEvent is one line about a request: verb, URI, response code.
func DescribeEvent(ev auditv1.Event) string {
	code := int32(0)
	if ev.ResponseStatus != nil {
		code = ev.ResponseStatus.Code
	}
	line := fmt.Sprintf("%s %s -> %d", ev.Verb, ev.RequestURI, code)
	if ev.ResponseStatus != nil && code >= 400 && ev.ResponseStatus.Message != "" {
		line += ": " + ev.ResponseStatus.Message
	}
	return line
}
