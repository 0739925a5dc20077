package validate

import (
	"fmt"
	"strings"
	"text/tabwriter"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate/corpus"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

const fieldManager = "validate-corpus"

// row is one manifest's verdicts.
type row struct {
	name     string
	object   string
	want     bool
	reason   string // a fragment of the refusal the corpus expects
	create   bool
	apply    string // "accepted", "refused" or "n/a" (server-side apply needs a name)
	validate bool
	server   string // the API server's refusal
	offline  string // validate's first error
}

func verdict(ok bool) string {
	if ok {
		return "accepted"
	}
	return "refused"
}

var _ = Describe("validate", func() {
	It("accepts and refuses exactly what the API server accepts and refuses on create", func() {
		schemas, err := validate.LoadSchemas()
		Expect(err).NotTo(HaveOccurred())
		cases, err := corpus.Load(utiltesting.RepoRoot())
		Expect(err).NotTo(HaveOccurred())

		var rows []row
		for i, c := range cases {
			r, judged := judge(schemas, i, c)
			if judged {
				rows = append(rows, r)
			}
		}

		var table strings.Builder
		tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
		_, err = fmt.Fprintln(tw, "CASE\tOBJECT\tAPI SERVER (create)\tAPI SERVER (apply)\tVALIDATE\tAGREE")
		Expect(err).NotTo(HaveOccurred())
		agree, refused := 0, 0
		for _, r := range rows {
			ok := r.create == r.validate && (r.apply == "n/a" || r.apply == verdict(r.create))
			if ok {
				agree++
			}
			if !r.create {
				refused++
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", r.name, r.object, verdict(r.create), r.apply, verdict(r.validate), ok)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(tw.Flush()).To(Succeed())
		fmt.Fprintf(&table, "\n%d manifests (%d refused by the API server): validate agrees on %d\n", len(rows), refused, agree)
		AddReportEntry("verdicts", table.String(), ReportEntryVisibilityAlways)
		GinkgoWriter.Print(table.String())

		Expect(refused).To(BeNumerically(">=", 40), "the corpus needs at least 40 manifests the API server refuses")
		for _, r := range rows {
			Expect(verdict(r.validate)).To(Equal(verdict(r.create)),
				"%s (%s): the API server %s it (%s), validate %s it (%s)", r.name, r.object, verdict(r.create), r.server, verdict(r.validate), r.offline)
			if r.apply != "n/a" {
				Expect(r.apply).To(Equal(verdict(r.create)), "%s: server-side apply and create disagree: %s", r.name, r.server)
			}
			Expect(verdict(r.create)).To(Equal(verdict(r.want)), "%s: the corpus expects the API server to have %s it: %s", r.name, verdict(r.want), r.server)
			if !r.create {
				// Both refuse for the reason the case is about.
				Expect(r.server).To(ContainSubstring(r.reason), "%s: the API server's refusal", r.name)
				Expect(r.offline).To(ContainSubstring(r.reason), "%s: validate's refusal", r.name)
			}
		}
	})
})

// judge creates one manifest on the API server (server-side apply as a dry
// run first, then a create, both with strict field validation) in a fresh
// namespace unless it names its own, and validates it offline. Objects of
// other groups (the samples' Namespace and Secret) are created, not judged.
func judge(schemas *validate.Schemas, i int, c corpus.Case) (row, bool) {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	Expect(u.UnmarshalJSON(c.Doc.JSON)).To(Succeed(), c.Name)
	gvk := u.GroupVersionKind()
	r := row{name: c.Name, object: shorten(gvk.Kind+"/"+u.GetName(), 48), want: c.Accepted, reason: c.Want, apply: "n/a"}

	namespace := u.GetNamespace()
	if namespace == "" {
		namespace = fmt.Sprintf("corpus-%d", i)
	}
	ensureNamespace(namespace)

	mapping, mapErr := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if gvk.Group != schemas.Group() {
		Expect(mapErr).NotTo(HaveOccurred(), c.Name)
		if gvk.Kind != "Namespace" {
			_, err := dyn.Resource(mapping.Resource).Namespace(namespace).Create(ctx, u, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred(), c.Name)
		}
		return r, false
	}

	var createErr error
	if mapErr != nil {
		// The API server serves no such kind or version.
		createErr = mapErr
	} else {
		var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			res = dyn.Resource(mapping.Resource).Namespace(namespace)
		}
		if u.GetName() != "" {
			_, err := res.Patch(ctx, u.GetName(), types.ApplyPatchType, c.Doc.JSON, metav1.PatchOptions{
				FieldManager: fieldManager, Force: new(true), DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
			r.apply = verdict(err == nil)
			if err != nil {
				r.server = "apply: " + err.Error()
			}
		}
		created, err := res.Create(ctx, u, metav1.CreateOptions{FieldManager: fieldManager, FieldValidation: metav1.FieldValidationStrict})
		createErr = err
		if err == nil {
			Expect(res.Delete(ctx, created.GetName(), metav1.DeleteOptions{})).To(Succeed(), c.Name)
		}
	}
	r.create = createErr == nil
	if createErr != nil {
		r.server = createErr.Error()
	}

	report := schemas.Validate(ctx, []validate.Document{c.Doc}, validate.Options{WithoutWebhooks: true, Namespace: namespace})
	r.validate = len(report.Errors) == 0
	var offline []string
	for _, e := range report.Errors {
		offline = append(offline, e.String())
	}
	r.offline = strings.Join(offline, "; ")
	return r, true
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func ensureNamespace(name string) {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	_, err := dyn.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsInvalid(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}
