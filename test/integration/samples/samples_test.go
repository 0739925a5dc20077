package samples

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// samplesNamespace is where a namespaced sample that names no namespace
// goes: `kubectl apply -k config/samples` (and make run-local) puts it in
// the current namespace, default.
const samplesNamespace = "default"

// testdata holds one expectation file per sample of the licensing kinds.
const testdata = "testdata"

// checkedKinds are the kinds whose every sample must have an expectation
// file: the status the operator computes for each is asserted.
var checkedKinds = []string{"LicenseProduct", "SoftwareLicense", "LicenseAssignment"}

// expectationFile is the file, under testdata, of a sample's expectation:
// <kind>-<name>.yaml, the kind in lower case.
func expectationFile(obj *unstructured.Unstructured) string {
	return strings.ToLower(obj.GetKind()) + "-" + obj.GetName() + ".yaml"
}

func describe(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
	}
	return fmt.Sprintf("%s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
}

var _ = Describe("config/samples", Ordered, ContinueOnFailure, func() {
	// samples are the objects of config/samples in the order kustomize
	// renders them; checked are those of checkedKinds.
	var samples, checked []*unstructured.Unstructured

	BeforeAll(func() {
		// The node-locked sample solver-ws01 binds to workstation ws01, whose
		// systemUUID is the first of fea-solver-workstations'
		// machineFingerprints: a kubelet would register it; here the test does.
		ws01 := ut.MakeNode("ws01").SystemUUID("4c4c4544-0042-3510-8052-b4c04f4e3332").Ready(corev1.ConditionTrue, time.Now()).Obj()
		nodeStatus := ws01.Status.DeepCopy()
		Expect(k8sClient.Create(ctx, ws01)).To(Succeed())
		ws01.Status = *nodeStatus
		Expect(k8sClient.Status().Update(ctx, ws01)).To(Succeed())

		var err error
		samples, err = kubecluster.KustomizedObjects(assets, filepath.Join("config", "samples"))
		Expect(err).NotTo(HaveOccurred())
		Expect(samples).NotTo(BeEmpty(), "config/samples renders no object")
		for _, obj := range samples {
			namespaced, err := k8sClient.IsObjectNamespaced(obj)
			Expect(err).NotTo(HaveOccurred(), "%s: the API server does not know its kind", describe(obj))
			if namespaced && obj.GetNamespace() == "" {
				obj.SetNamespace(samplesNamespace)
			}
			// Strict, as kubectl apply validates: a field the schema does not
			// know is refused, not dropped.
			Expect(k8sClient.Create(ctx, obj.DeepCopy(), client.FieldValidation("Strict"))).To(Succeed(), "the API server refuses the sample %s", describe(obj))
			if w := adminWarnings.Take(); len(w) > 0 {
				GinkgoWriter.Printf("%s was admitted with warnings:\n  %s\n", describe(obj), strings.Join(w, "\n  "))
			}
			if slices.Contains(checkedKinds, obj.GetKind()) {
				checked = append(checked, obj)
			}
		}
	})

	It("has an expectation file for each sample of LicenseProduct, SoftwareLicense and LicenseAssignment, and none for anything else", func() {
		want := map[string]string{}
		for _, obj := range checked {
			file := expectationFile(obj)
			Expect(want).NotTo(HaveKey(file), "%s and %s share the expectation file %s: rename one", want[file], describe(obj), file)
			want[file] = describe(obj)
		}
		entries, err := os.ReadDir(testdata)
		Expect(err).NotTo(HaveOccurred())
		have := map[string]bool{}
		for _, e := range entries {
			have[e.Name()] = true
		}
		var missing, stale []string
		for file, obj := range want {
			if !have[file] {
				missing = append(missing, fmt.Sprintf("%s for %s", filepath.Join(testdata, file), obj))
			}
		}
		for file := range have {
			if _, ok := want[file]; !ok {
				stale = append(stale, filepath.Join(testdata, file))
			}
		}
		slices.Sort(missing)
		slices.Sort(stale)
		Expect(missing).To(BeEmpty(), "every sample needs the status the operator computes for it written down: add the files")
		Expect(stale).To(BeEmpty(), "expectation files of no sample: remove them, or restore their samples")
	})

	It("use every spec field of LicenseProduct, SoftwareLicense and LicenseAssignment", func() {
		// A policy field counts once whether a product's policy, its
		// policyDefaults or a licence's overrides use it.
		want, used := map[string]bool{}, map[string]bool{}
		for _, crd := range testEnv.CRDs {
			kind := crd.Spec.Names.Kind
			if !slices.Contains(checkedKinds, kind) {
				continue
			}
			schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
			for _, f := range SpecFields(kind, schema) {
				want[f] = true
			}
			for _, obj := range checked {
				if obj.GetKind() == kind {
					for _, f := range UsedFields(kind, schema, obj.Object) {
						used[f] = true
					}
				}
			}
		}
		Expect(want).NotTo(BeEmpty())
		var unused []string
		for f := range want {
			if !used[f] {
				unused = append(unused, f)
			}
		}
		slices.Sort(unused)
		Expect(unused).To(BeEmpty(), "the samples show each field in use: use these in config/samples")
	})

	It("gets, for every sample, the status its expectation file lists", func() {
		expectations := map[string]Expectation{}
		for _, obj := range checked {
			data, err := os.ReadFile(filepath.Join(testdata, expectationFile(obj)))
			if os.IsNotExist(err) {
				continue // the test above names it
			}
			Expect(err).NotTo(HaveOccurred())
			e, err := ParseExpectation(data)
			Expect(err).NotTo(HaveOccurred(), "%s", filepath.Join(testdata, expectationFile(obj)))
			expectations[describe(obj)] = e
		}
		Expect(expectations).NotTo(BeEmpty())

		Eventually(func(g Gomega) {
			now := time.Now()
			var problems []string
			for _, obj := range checked {
				e, ok := expectations[describe(obj)]
				if !ok {
					continue
				}
				if p := statusProblems(obj, e, now); p != "" {
					problems = append(problems, p)
				}
			}
			g.Expect(problems).To(BeEmpty())
		}).Should(Succeed())
	})
})

// statusProblems compares the live status of sample with its expectation
// and says, for a person, what differs and what the status is; "" when it
// matches. A status counts only once the operator computed it from the
// sample's current generation.
func statusProblems(sample *unstructured.Unstructured, e Expectation, now time.Time) string {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(licensingv1alpha1.GroupVersion.WithKind(sample.GetKind()))
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(sample), live); err != nil {
		return fmt.Sprintf("%s: %v", describe(sample), err)
	}
	status, _, _ := unstructured.NestedMap(live.Object, "status")
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	if observed != live.GetGeneration() {
		return fmt.Sprintf("%s: status.observedGeneration is %d, not the generation %d", describe(sample), observed, live.GetGeneration())
	}
	actual, err := Normalize(status)
	if err != nil {
		return fmt.Sprintf("%s: %v", describe(sample), err)
	}
	expected, err := Normalize(e.Status)
	if err != nil {
		return fmt.Sprintf("%s: %v", describe(sample), err)
	}
	mismatches := Mismatches("status", expected, actual, now)
	if len(mismatches) == 0 {
		return ""
	}
	shown, _ := yaml.Marshal(status)
	return fmt.Sprintf("%s (%s):\n  %s\nits status is:\n%s", describe(sample), filepath.Join(testdata, expectationFile(sample)),
		strings.Join(mismatches, "\n  "), shown)
}
