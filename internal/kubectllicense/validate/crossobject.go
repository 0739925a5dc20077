package validate

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	webhookv1alpha1 "github.com/license-operator/license-operator/internal/webhook/v1alpha1"
)

// The cross-object checks judge what the operator's admission webhooks judge
// with other objects, taking those objects from the files instead of the
// cluster, with the webhooks' own pure functions (ValidateLicenseProduct,
// ValidateSoftwareLicense, ValidateLicenseAssignment) so that the two never
// disagree. A rule whose other object is of a kind the files do not hold at
// all is not checked, and said so: in a repository that keeps products
// elsewhere, a licence's productRef is not an error.
//
// An object without metadata.namespace is taken to be in the namespace it
// will be applied to, the same for every such object; a namespace's labels
// are known only when its Namespace object is in the files.

// Severities of cross-object findings.
const (
	// SeverityError is a finding the operator's admission webhook refuses.
	SeverityError = "error"
	// SeverityWarning is a finding the webhook admits with a warning: the
	// object will not work until the other object exists.
	SeverityWarning = "warning"
)

const (
	kindProduct    = "LicenseProduct"
	kindLicense    = "SoftwareLicense"
	kindAssignment = "LicenseAssignment"
)

// parsed is one object of the files, with its typed form when it is a
// product, licence, assignment or Namespace.
type parsed struct {
	doc        *Document
	kind       string
	namespace  string
	name       string
	product    *licensingv1alpha1.LicenseProduct
	license    *licensingv1alpha1.SoftwareLicense
	assignment *licensingv1alpha1.LicenseAssignment
	nsLabels   map[string]string // a Namespace's labels
}

func (p *parsed) ref() string { return objectRef(p.kind, p.namespace, p.name) }

// objectRef names an object as Kind/namespace/name, or Kind/name when it
// has no namespace (cluster-scoped, or namespaced and applied to the
// namespace of the context).
func objectRef(kind, namespace, name string) string {
	if name == "" {
		name = "<no name>"
	}
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// files is the set of objects the cross-object checks look things up in.
type files struct {
	group    string
	objects  []*parsed
	kinds    map[string]bool
	products map[string]*parsed
	licenses map[string]*parsed // namespace/name
	nsLabels map[string]map[string]string
}

func newFiles(group string, objs []*parsed) *files {
	f := &files{group: group, objects: objs, kinds: map[string]bool{}, products: map[string]*parsed{},
		licenses: map[string]*parsed{}, nsLabels: map[string]map[string]string{}}
	for _, o := range objs {
		f.kinds[o.kind] = true
		switch {
		case o.product != nil:
			f.products[o.name] = o
		case o.license != nil:
			f.licenses[o.namespace+"/"+o.name] = o
		case o.kind == "Namespace":
			f.nsLabels[o.name] = o.nsLabels
		}
	}
	return f
}

// labelsOf returns the labels of namespace and whether they are known.
func (f *files) labelsOf(namespace string) (map[string]string, bool) {
	if namespace == "" {
		return nil, false
	}
	l, ok := f.nsLabels[namespace]
	if !ok {
		return nil, false
	}
	if l == nil {
		l = map[string]string{}
	}
	return l, true
}

// parseObject decodes a document's object into its typed form, for the
// cross-object checks; nil when it is neither of the group nor a Namespace,
// or does not decode.
func parseObject(doc *Document, group, defaultNamespace string) *parsed {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string            `json:"name"`
			Namespace string            `json:"namespace"`
			Labels    map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	if json.Unmarshal(doc.JSON, &head) != nil {
		return nil
	}
	p := &parsed{doc: doc, kind: head.Kind, namespace: head.Metadata.Namespace, name: head.Metadata.Name}
	if p.namespace == "" {
		p.namespace = defaultNamespace
	}
	if head.APIVersion == "v1" && head.Kind == "Namespace" {
		p.namespace = ""
		p.nsLabels = head.Metadata.Labels
		return p
	}
	if head.APIVersion != licensingv1alpha1.GroupVersion.String() {
		if groupOf(head.APIVersion) == group {
			return p // another version: judged by the schema step only
		}
		return nil
	}
	var err error
	switch head.Kind {
	case kindProduct:
		p.namespace = ""
		p.product = &licensingv1alpha1.LicenseProduct{}
		err = json.Unmarshal(doc.JSON, p.product)
	case kindLicense:
		p.license = &licensingv1alpha1.SoftwareLicense{}
		err = json.Unmarshal(doc.JSON, p.license)
	case kindAssignment:
		p.assignment = &licensingv1alpha1.LicenseAssignment{}
		err = json.Unmarshal(doc.JSON, p.assignment)
	}
	if err != nil {
		p.product, p.license, p.assignment = nil, nil, nil
	}
	return p
}

// crossCheck runs the cross-object checks over the objects of the files.
func (f *files) crossCheck() (findings []Finding, notChecked []string) {
	add := func(o *parsed, severity string, errs field.ErrorList, warnings []string) {
		for _, e := range errs {
			findings = append(findings, Finding{File: o.doc.File, Object: o.ref(), Field: e.Field, Message: e.ErrorBody(), Severity: severity})
		}
		for _, w := range warnings {
			findings = append(findings, Finding{File: o.doc.File, Object: o.ref(), Message: w, Severity: SeverityWarning})
		}
	}
	notes := map[string]bool{}
	note := func(s string) {
		if !notes[s] {
			notes[s] = true
			notChecked = append(notChecked, s)
		}
	}

	findings = append(findings, f.duplicates()...)
	for _, o := range f.objects {
		switch {
		case o.product != nil:
			errs, warnings := webhookv1alpha1.ValidateLicenseProduct(o.product, f.missingMembers(o.product))
			add(o, SeverityError, errs, warnings)
		case o.license != nil:
			errs, warnings := f.checkLicense(o, note)
			add(o, SeverityError, errs, warnings)
		case o.assignment != nil:
			errs, warnings := f.checkAssignment(o, note)
			add(o, SeverityError, errs, warnings)
		}
	}
	return findings, notChecked
}

// duplicates finds objects that the files define twice: the later one
// would silently replace the earlier.
func (f *files) duplicates() []Finding {
	var out []Finding
	seen := map[string]*parsed{}
	for _, o := range f.objects {
		if o.name == "" {
			continue
		}
		key := o.kind + "/" + o.namespace + "/" + o.name
		if first, ok := seen[key]; ok {
			out = append(out, Finding{File: o.doc.File, Object: o.ref(), Severity: SeverityError,
				Message: fmt.Sprintf("defined twice: also in %s (document %d); applying both keeps only the last", first.doc.File, first.doc.Index)})
			continue
		}
		seen[key] = o
	}
	return out
}

// missingMembers are the bundle members of p that are not in the files.
func (f *files) missingMembers(p *licensingv1alpha1.LicenseProduct) []string {
	var missing []string
	if p.Spec.Bundle != nil {
		for _, m := range p.Spec.Bundle.Products {
			if _, ok := f.products[m]; !ok {
				missing = append(missing, m)
			}
		}
	}
	return missing
}

// checkLicense is the SoftwareLicense webhook's judgement against the
// licence's product from the files.
func (f *files) checkLicense(o *parsed, note func(string)) (field.ErrorList, []string) {
	l := o.license.DeepCopy()
	l.Namespace = o.namespace
	var warnings []string
	if w := licensing.ZeroSeatsWarning(l); w != "" {
		warnings = append(warnings, w)
	}
	if l.Spec.ProductRef == nil {
		return nil, warnings
	}
	if !f.kinds[kindProduct] {
		note("SoftwareLicense spec.productRef, spec.policyCode and the product's rules: no LicenseProduct in the files")
		return nil, warnings
	}
	po, ok := f.products[l.Spec.ProductRef.Name]
	if !ok || po.product == nil {
		return nil, append(warnings, fmt.Sprintf("spec.productRef: LicenseProduct %q is not in the files; "+
			"the licence stays not Ready and grants no seats until it exists", l.Spec.ProductRef.Name))
	}
	p := po.product.DeepCopy()
	labels, known := f.labelsOf(o.namespace)
	if !known && !licensing.NamespaceAllowedByProduct(p, map[string]string{}) {
		// The product selects namespaces by label and the licence's
		// namespace (or its labels) is not in the files.
		note(fmt.Sprintf("spec.allowAssignmentsFrom of LicenseProduct %s for licences whose Namespace is not in the files", p.Name))
		p.Spec.AllowAssignmentsFrom = nil
	}
	errs, productWarnings := webhookv1alpha1.ValidateSoftwareLicense(l, p, labels)
	return errs, append(warnings, productWarnings...)
}

// checkAssignment is the LicenseAssignment webhook's judgement against the
// licence and product from the files. The licence's effective policy, which
// the webhook reads from the licence's status, is resolved here from the
// files with licensing.ResolvePolicy, as the controller resolves it.
func (f *files) checkAssignment(o *parsed, note func(string)) (field.ErrorList, []string) {
	a := o.assignment.DeepCopy()
	a.Namespace = o.namespace
	in := webhookv1alpha1.AssignmentContext{}
	labels, known := f.labelsOf(o.namespace)
	in.NamespaceLabels = labels

	warnings := make([]string, 0, 1)
	skipLicence := false
	if ref := a.Spec.LicenseRef; ref != nil {
		ns := ref.Namespace
		if ns == "" {
			ns = o.namespace
		}
		if !f.kinds[kindLicense] {
			note("LicenseAssignment spec.licenseRef and the licence's sharing and seat model: no SoftwareLicense in the files")
			skipLicence = true
		} else if lo, ok := f.licenses[ns+"/"+ref.Name]; ok && lo.license != nil {
			in.License = lo.license.DeepCopy()
			in.License.Namespace = lo.namespace
		} else {
			return nil, []string{fmt.Sprintf("spec.licenseRef: %s is not in the files; the assignment stays Pending until it exists",
				objectRef(kindLicense, ns, ref.Name))}
		}
	}

	if productName := licensing.AssignmentProduct(a, in.License); productName != "" {
		if !f.kinds[kindProduct] {
			note("LicenseAssignment spec.productRef and the product's rules: no LicenseProduct in the files")
		} else if po, ok := f.products[productName]; ok && po.product != nil {
			in.Product = po.product.DeepCopy()
		} else if a.Spec.ProductRef != nil {
			return nil, []string{fmt.Sprintf("spec.productRef: LicenseProduct %q is not in the files; the assignment stays Pending until it exists", productName)}
		}
	}
	if in.License != nil {
		res := licensing.ResolvePolicy(in.License, in.Product)
		if res.Resolved {
			in.License.Status.EffectivePolicy = &res.Policy
		}
	}
	if !known {
		if in.Product != nil && !licensing.NamespaceAllowedByProduct(in.Product, map[string]string{}) {
			note(fmt.Sprintf("spec.allowAssignmentsFrom of LicenseProduct %s for assignments whose Namespace is not in the files", in.Product.Name))
			in.Product.Spec.AllowAssignmentsFrom = nil
		}
		// An assignment with no namespace may be applied to the licence's
		// namespace or to another: its sharing cannot be judged either.
		if in.License != nil && in.License.Namespace != a.Namespace && (sharedBySelector(in.License) || a.Namespace == "") {
			note(fmt.Sprintf("spec.sharing of SoftwareLicense %s for assignments whose Namespace is not in the files",
				objectRef(kindLicense, in.License.Namespace, in.License.Name)))
			in.License.Spec.Sharing = &licensingv1alpha1.NamespaceSharing{From: licensingv1alpha1.NamespacesFromAll}
		}
	}
	if skipLicence {
		in.License = nil
		a.Spec.LicenseRef = nil // not judged: no licence in the files
	}
	errs, more := webhookv1alpha1.ValidateLicenseAssignment(a, in)
	return errs, append(warnings, more...)
}

func sharedBySelector(l *licensingv1alpha1.SoftwareLicense) bool {
	return l.Spec.Sharing != nil && l.Spec.Sharing.From == licensingv1alpha1.NamespacesFromSelector
}

func groupOf(apiVersion string) string {
	for i := range apiVersion {
		if apiVersion[i] == '/' {
			return apiVersion[:i]
		}
	}
	return ""
}
