// Package validate is `kubectl license validate`: it judges licensing
// manifests offline, as the API server judges a create of them (the CRDs'
// OpenAPI schemas and CEL rules, with k8s.io/apiextensions-apiserver at the
// version this module pins), and reports separately what the operator's
// admission webhooks would say given the other objects in the same files.
package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	webhookv1alpha1 "github.com/license-operator/license-operator/internal/webhook/v1alpha1"
)

// Finding is one thing validate reports, printed as file:object:field: message.
type Finding struct {
	// File is the file the object was read from.
	File string `json:"file"`
	// Object is Kind/namespace/name (Kind/name when it has no namespace).
	Object string `json:"object"`
	// Field is the field path, when the finding is about one field.
	Field string `json:"field,omitempty"`
	// Message says what is wrong, in the API server's or the webhook's words.
	Message string `json:"message"`
	// Severity, for cross-object findings: error (the operator's webhook
	// refuses it) or warning (admitted, but it will not work yet).
	Severity string `json:"severity,omitempty"`
}

// String is file:object:field: message.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	b.WriteString(":")
	b.WriteString(f.Object)
	if f.Field != "" && f.Field != "<nil>" {
		b.WriteString(":")
		b.WriteString(f.Field)
	}
	b.WriteString(": ")
	if f.Severity != "" {
		b.WriteString(f.Severity)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Report is the outcome of validating a set of files.
type Report struct {
	// Objects counts the objects of the licensing group judged.
	Objects int `json:"objects"`
	// Refused counts the objects the API server would refuse.
	Refused int `json:"refused"`
	// Skipped counts the other objects (Namespaces, Secrets, ...), not judged.
	Skipped int `json:"skipped"`
	// Errors are the API server's refusals (schema, CEL, metadata), and
	// files or documents that could not be read.
	Errors []Finding `json:"errors"`
	// Warnings are what the API server would warn about on create, and
	// rewrites the operator's mutating webhook would make.
	Warnings []Finding `json:"warnings"`
	// CrossObject are the findings of the operator's admission webhooks'
	// rules, judged with the other objects in the files.
	CrossObject []Finding `json:"crossObject"`
	// NotChecked lists the cross-object rules not checked, and why.
	NotChecked []string `json:"notChecked"`
	// Objects' verdicts, in the order of the files.
	Verdicts []ObjectVerdict `json:"verdicts"`
}

// ObjectVerdict says whether the API server would accept one object.
type ObjectVerdict struct {
	File     string `json:"file"`
	Document int    `json:"document"`
	Object   string `json:"object"`
	Accepted bool   `json:"accepted"`
}

// CrossObjectErrors counts the cross-object findings of severity error.
func (r *Report) CrossObjectErrors() int {
	n := 0
	for _, f := range r.CrossObject {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Options change how validate judges.
type Options struct {
	// WithoutWebhooks judges as an API server without the operator's
	// webhooks. By default the mutating webhook's rewrite that depends on
	// nothing but the object is applied first: a features list written in
	// the short form (features: [export]) is stored as [{code: export}].
	WithoutWebhooks bool
	// Namespace is the namespace of the objects that set none, as
	// `kubectl apply -n` gives it; empty when not known.
	Namespace string
}

// requestNamespace is the namespace kubectl would send a create to.
func requestNamespace(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// Validate judges the documents: each object of the schemas' group as a
// create on the API server, then the cross-object rules over all of them.
func (s *Schemas) Validate(ctx context.Context, docs []Document, opts Options) *Report {
	r := &Report{Errors: []Finding{}, Warnings: []Finding{}, CrossObject: []Finding{}, NotChecked: []string{}, Verdicts: []ObjectVerdict{}}
	var objs []*parsed
	for i := range docs {
		d := &docs[i]
		if d.Err != nil {
			r.Errors = append(r.Errors, Finding{File: d.File, Object: fmt.Sprintf("document %d", d.Index), Message: d.Err.Error()})
			continue
		}
		head := &unstructured.Unstructured{}
		if err := head.UnmarshalJSON(d.JSON); err != nil {
			r.Errors = append(r.Errors, Finding{File: d.File, Object: fmt.Sprintf("document %d", d.Index), Message: err.Error()})
			continue
		}
		if groupOf(head.GetAPIVersion()) != s.group {
			r.Skipped++
			if p := parseObject(d, s.group, opts.Namespace); p != nil {
				objs = append(objs, p)
			}
			continue
		}
		r.Objects++
		data := d.JSON
		if !opts.WithoutWebhooks {
			var rewrites []string
			data, rewrites = normalizeFeatures(data, head.GetKind())
			for _, w := range rewrites {
				r.Warnings = append(r.Warnings, Finding{File: d.File, Object: s.refOf(head, opts.Namespace), Field: w,
					Message: "a feature written as its code alone is stored as {code: ...} by the operator's mutating webhook; an API server without the webhook refuses it"})
			}
			d = &Document{File: d.File, Index: d.Index, JSON: data}
		}
		namespace := head.GetNamespace()
		if namespace == "" {
			namespace = requestNamespace(opts.Namespace)
		}
		v := s.Judge(ctx, data, namespace)
		ref := s.refOf(head, opts.Namespace)
		for _, e := range v.Errors {
			r.Errors = append(r.Errors, Finding{File: d.File, Object: ref, Field: fieldOf(e), Message: e.ErrorBody()})
		}
		for _, p := range v.UnknownFields {
			r.Errors = append(r.Errors, Finding{File: d.File, Object: ref, Field: p,
				Message: fmt.Sprintf("unknown field %q: the schema has no such field (refused with kubectl's default --validate=strict)", p)})
		}
		for _, w := range v.Warnings {
			r.Warnings = append(r.Warnings, Finding{File: d.File, Object: ref, Message: w})
		}
		if v.Refused() {
			r.Refused++
		}
		r.Verdicts = append(r.Verdicts, ObjectVerdict{File: d.File, Document: d.Index, Object: ref, Accepted: !v.Refused()})
		if p := parseObject(d, s.group, opts.Namespace); p != nil {
			objs = append(objs, p)
		}
	}
	r.CrossObject, r.NotChecked = newFiles(s.group, objs).crossCheck()
	if r.CrossObject == nil {
		r.CrossObject = []Finding{}
	}
	if r.NotChecked == nil {
		r.NotChecked = []string{}
	}
	return r
}

// refOf names an object as Kind/namespace/name, in namespace (the one of
// -n) when it has none and is not cluster-scoped.
func (s *Schemas) refOf(u *unstructured.Unstructured, namespace string) string {
	ns := u.GetNamespace()
	if !s.Namespaced(u.GroupVersionKind().GroupKind()) {
		ns = ""
	} else if ns == "" {
		ns = namespace
	}
	return objectRef(u.GetKind(), ns, u.GetName())
}

func fieldOf(e *field.Error) string {
	if e.Field == "<nil>" {
		return ""
	}
	return e.Field
}

// normalizeFeatures rewrites each feature written as its code alone into
// {code: <code>}, as the operator's mutating webhook stores it, in the
// features lists the webhook reads (webhookv1alpha1.ForEachFeatureList), and
// returns the rewritten object and the paths of the lists rewritten.
func normalizeFeatures(data []byte, kind string) ([]byte, []string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return data, nil
	}
	var rewritten []string
	webhookv1alpha1.ForEachFeatureList(obj, kind, func(items []any, path *field.Path) {
		changed := false
		for i, it := range items {
			if code, ok := it.(string); ok {
				items[i] = map[string]any{"code": code}
				changed = true
			}
		}
		if changed {
			rewritten = append(rewritten, path.String())
		}
	})
	if len(rewritten) == 0 {
		return data, nil
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return data, nil
	}
	return out, rewritten
}
