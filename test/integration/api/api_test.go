package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

const ns = "cel-tests"

var seq atomic.Int64

// unique gives every object of the table its own name, so entries never collide.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	Expect(err).NotTo(HaveOccurred())
	return t
}

func ensureNamespace(name string) {
	err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}

// expectInvalid asserts the API server rejected the request as Invalid with a
// message that contains every wanted fragment (the field path and the rule's text).
func expectInvalid(err error, want ...string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the API server accepted an object that breaks the rule")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	for _, w := range want {
		Expect(err.Error()).To(ContainSubstring(w))
	}
}

func validPolicy() *ut.PolicyWrapper {
	return ut.MakePolicy("standard").Type(v1.LicenseTypeSubscription).SeatModel(v1.SeatModelConcurrent).ValidDuration("1y")
}

var _ = Describe("The samples", func() {
	It("apply cleanly to a real API server", func() {
		ensureNamespace("samples")
		dir := filepath.Join(ut.RepoRoot(), "config", "samples")
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		var objs []*unstructured.Unstructured
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") || e.Name() == "kustomization.yaml" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			Expect(err).NotTo(HaveOccurred())
			reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
			for {
				doc, err := reader.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				Expect(err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{}
				if err := utilyaml.Unmarshal(doc, &u.Object); err != nil || len(u.Object) == 0 {
					Expect(err).NotTo(HaveOccurred(), "%s", e.Name())
					continue
				}
				objs = append(objs, u)
			}
		}
		// Products first, as kubectl apply -k does by ordering kinds.
		sort.SliceStable(objs, func(i, j int) bool {
			return objs[i].GetKind() == "LicenseProduct" && objs[j].GetKind() != "LicenseProduct"
		})
		kinds := map[string]int{}
		for _, u := range objs {
			if u.GetKind() != "LicenseProduct" {
				u.SetNamespace("samples")
			}
			Expect(k8sClient.Create(ctx, u)).To(Succeed(), "sample %s/%s", u.GetKind(), u.GetName())
			kinds[u.GetKind()]++
		}
		Expect(kinds).To(HaveKeyWithValue("LicenseProduct", BeNumerically(">=", 5)))
		Expect(kinds).To(HaveKeyWithValue("SoftwareLicense", BeNumerically(">=", 7)))
		Expect(kinds).To(HaveKeyWithValue("LicenseAssignment", BeNumerically(">=", 4)))
	})
})

var _ = Describe("CRD schemas", func() {
	It("document every field, so kubectl explain explains it", func() {
		// The three kinds and the operator's internal SeatLedger.
		Expect(crds).To(HaveLen(4))
		for _, crd := range crds {
			for _, v := range crd.Spec.Versions {
				var missing []string
				walkSchema(v.Schema.OpenAPIV3Schema, "", &missing)
				Expect(missing).To(BeEmpty(), "%s %s: fields without a description", crd.Name, v.Name)
			}
		}
	})

	It("carry short names, the licensing category and printer columns", func() {
		want := map[string]string{"licenseproducts": "lprod", "softwarelicenses": "swl", "licenseassignments": "lasg"}
		for _, crd := range crds {
			if crd.Spec.Names.Kind == "SeatLedger" {
				// Internal: no short name, and not in the category, so
				// `kubectl get licensing` lists only what people write.
				Expect(crd.Spec.Names.ShortNames).To(BeEmpty())
				Expect(crd.Spec.Names.Categories).NotTo(ContainElement("licensing"))
				continue
			}
			Expect(crd.Spec.Names.ShortNames).To(ConsistOf(want[crd.Spec.Names.Plural]), crd.Name)
			Expect(crd.Spec.Names.Categories).To(ContainElement("licensing"), crd.Name)
			Expect(crd.Spec.Versions[0].AdditionalPrinterColumns).NotTo(BeEmpty(), crd.Name)
			Expect(crd.Spec.Versions[0].Subresources.Status).NotTo(BeNil(), crd.Name)
		}
	})
})

// walkSchema lists the properties that have no description. The standard
// metadata object and the embedded Condition/LabelSelector types are documented
// by Kubernetes itself.
func walkSchema(s *apiextensionsv1.JSONSchemaProps, path string, missing *[]string) {
	if s == nil {
		return
	}
	for name, prop := range s.Properties {
		p := path + "." + name
		if p == ".metadata" || p == ".apiVersion" || p == ".kind" {
			continue
		}
		if prop.Description == "" {
			*missing = append(*missing, p)
		}
		walkSchema(&prop, p, missing)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walkSchema(s.Items.Schema, path+"[]", missing)
	}
}

var _ = Describe("CEL and schema validation on create", func() {
	BeforeEach(func() { ensureNamespace(ns) })

	DescribeTable("rejects an object that breaks a rule, naming the field",
		func(build func() client.Object, want ...string) {
			expectInvalid(k8sClient.Create(ctx, build()), want...)
		},
		// LicenseProduct
		Entry("defaultPolicy names no listed policy", func() client.Object {
			return ut.MakeProduct(unique("p")).Policy(validPolicy().Obj()).DefaultPolicy("missing").Obj()
		}, "spec", "defaultPolicy must name one of spec.policies[].code"),
		Entry("defaultPolicy without any policies", func() client.Object {
			return ut.MakeProduct(unique("p")).DefaultPolicy("standard").Obj()
		}, "defaultPolicy must name one of spec.policies[].code"),
		Entry("policy codes are not unique", func() client.Object {
			return ut.MakeProduct(unique("p")).Policy(validPolicy().Obj()).Policy(validPolicy().Obj()).Obj()
		}, "spec.policies[1]", "Duplicate value"),
		Entry("a duration outside the calendar syntax", func() client.Object {
			return ut.MakeProduct(unique("p")).Policy(validPolicy().ValidDuration("1 year").Obj()).Obj()
		}, "spec.policies[0].validDuration", "should match"),
		Entry("a TimeLimited policy without validDuration", func() client.Object {
			p := ut.MakePolicy("tl").Type(v1.LicenseTypeTimeLimited).Obj()
			return ut.MakeProduct(unique("p")).Policy(p).Obj()
		}, "spec.policies[0]", "a TimeLimited policy needs validDuration"),
		Entry("consumption settings on a non-consumption policy", func() client.Object {
			p := validPolicy().Consumption(v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](5)}).Obj()
			return ut.MakeProduct(unique("p")).Policy(p).Obj()
		}, "spec.policies[0]", "consumption settings need type: Consumption"),
		Entry("maxOverages without allowOverages", func() client.Object {
			p := ut.MakePolicy("metered").Type(v1.LicenseTypeConsumption).
				Consumption(v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](5), MaxOverages: ptr.To[int64](2)}).Obj()
			return ut.MakeProduct(unique("p")).Policy(p).Obj()
		}, "spec.policies[0].consumption", "consumption.maxOverages needs consumption.allowOverages: true"),
		Entry("a negative maxActivations", func() client.Object {
			return ut.MakeProduct(unique("p")).Policy(validPolicy().MaxActivations(-1).Obj()).Obj()
		}, "spec.policies[0].maxActivations", "should be greater than or equal to 0"),
		Entry("a bundle that includes itself", func() client.Object {
			return ut.MakeProduct("self-bundle").Bundle("self-bundle", "other").Obj()
		}, "spec.bundle.products must not include the bundle itself"),
		Entry("allowAssignmentsFrom Selector without a selector", func() client.Object {
			p := ut.MakeProduct(unique("p")).Obj()
			p.Spec.AllowAssignmentsFrom = &v1.AllowAssignmentsFrom{From: v1.AssignmentsFromSelector}
			return p
		}, "spec.allowAssignmentsFrom", "namespaceSelector is required when from is Selector"),
		Entry("a list price that is not a decimal", func() client.Object {
			return ut.MakeProduct(unique("p")).Pricing("12,50", "EUR", "1y").Obj()
		}, "spec.pricing.listPrice", "should match"),
		Entry("a currency that is not ISO 4217", func() client.Object {
			return ut.MakeProduct(unique("p")).Pricing("12.50", "euro", "1y").Obj()
		}, "spec.pricing.currency", "should match"),
		Entry("an unknown authorization method", func() client.Object {
			return ut.MakeProduct(unique("p")).Authorization("Token").Obj()
		}, "spec.authorization", "Unsupported value"),

		// SoftwareLicense
		Entry("expiryDate before startDate", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Start(date("2026-06-01")).Expiry(date("2026-05-01")).Obj()
		}, "spec", "spec.expiryDate must be after spec.startDate"),
		Entry("expiryDate equal to startDate", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Start(date("2026-06-01")).Expiry(date("2026-06-01")).Obj()
		}, "spec.expiryDate must be after spec.startDate"),
		Entry("negative seats", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Seats(-1).Obj()
		}, "spec.seats", "should be greater than or equal to 0"),
		Entry("a discount above 100", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Discount("100", "100.5").Obj()
		}, "spec.cost.negotiatedDiscountPercent", "must be a decimal from 0 to 100"),
		Entry("a discount that is not a number", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Discount("100", "-5").Obj()
		}, "spec.cost.negotiatedDiscountPercent", "must be a decimal from 0 to 100"),
		Entry("an override duration outside the calendar syntax", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Overrides(v1.PolicySettings{GracePeriod: ptr.To[v1.CalendarDuration]("2 weeks")}).Obj()
		}, "spec.overrides.gracePeriod", "should match"),
		Entry("sharing by Selector without a selector", func() client.Object {
			l := ut.MakeLicense(unique("l"), ns).Obj()
			l.Spec.Sharing = &v1.NamespaceSharing{From: v1.NamespacesFromSelector}
			return l
		}, "spec.sharing", "namespaceSelector is required when from is Selector"),
		Entry("a user listed twice", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).Users("ada@example.com", "ada@example.com").Obj()
		}, "spec.users[1]", "Duplicate value"),
		Entry("an unknown administrative state", func() client.Object {
			return ut.MakeLicense(unique("l"), ns).State("Paused").Obj()
		}, "spec.state", "Unsupported value"),
		Entry("an entitlement without entitlementID", func() client.Object {
			l := ut.MakeLicense(unique("l"), ns).Obj()
			l.Spec.Entitlement = &v1.Entitlement{Issuer: "flexnet"}
			return l
		}, "spec.entitlement", "needs entitlementID and issuer"),
		Entry("an entitlement without issuer", func() client.Object {
			l := ut.MakeLicense(unique("l"), ns).Obj()
			l.Spec.Entitlement = &v1.Entitlement{EntitlementID: "FLX-1"}
			return l
		}, "spec.entitlement", "needs entitlementID and issuer"),

		// LicenseAssignment
		Entry("both licenseRef and productRef", func() client.Object {
			return ut.MakeAssignment(unique("a"), ns).License("l").Product("p").User("ada@example.com").Obj()
		}, "spec", "set exactly one of spec.licenseRef or spec.productRef"),
		Entry("neither licenseRef nor productRef", func() client.Object {
			return ut.MakeAssignment(unique("a"), ns).User("ada@example.com").Obj()
		}, "set exactly one of spec.licenseRef or spec.productRef"),
		Entry("two assignees", func() client.Object {
			a := ut.MakeAssignment(unique("a"), ns).License("l").User("ada@example.com").Obj()
			a.Spec.Assignee.Node = &v1.NodeAssignee{Name: "ws01"}
			return a
		}, "spec.assignee", "assignee must set exactly one of user, serviceAccount, node or workload"),
		Entry("no assignee", func() client.Object {
			return ut.MakeAssignment(unique("a"), ns).License("l").Obj()
		}, "spec.assignee", "assignee must set exactly one of user, serviceAccount, node or workload"),
		Entry("zero seats", func() client.Object {
			return ut.MakeAssignment(unique("a"), ns).License("l").User("ada@example.com").Seats(-2).Obj()
		}, "spec.seats", "should be greater than or equal to 1"),
	)
})

var _ = Describe("The OEM licence type of seed 001", func() {
	It("is accepted as a policy type", func() {
		p := ut.MakeProduct(unique("oem")).Policy(ut.MakePolicy("embedded").Type(v1.LicenseTypeOEM).Obj()).DefaultPolicy("embedded").Obj()
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, p)).To(Succeed()) })
	})
})

var _ = Describe("CEL transition rules on update", func() {
	BeforeEach(func() { ensureNamespace(ns) })

	DescribeTable("rejects a change that would orphan seats or rewrite history, naming the field",
		func(build func() client.Object, mutate func(client.Object), want ...string) {
			obj := build()
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			mutate(obj)
			expectInvalid(k8sClient.Update(ctx, obj), want...)
		},
		Entry("a licence's productRef changes",
			func() client.Object { return ut.MakeLicense(unique("l"), ns).Product("a").Obj() },
			func(o client.Object) { o.(*v1.SoftwareLicense).Spec.ProductRef.Name = "b" },
			"spec", "spec.productRef is immutable once set"),
		Entry("a licence's productRef is removed",
			func() client.Object { return ut.MakeLicense(unique("l"), ns).Product("a").Obj() },
			func(o client.Object) { o.(*v1.SoftwareLicense).Spec.ProductRef = nil },
			"spec.productRef is immutable once set"),
		Entry("an assignment's licenseRef name changes",
			func() client.Object {
				return ut.MakeAssignment(unique("a"), ns).License("l1").User("ada@example.com").Obj()
			},
			func(o client.Object) { o.(*v1.LicenseAssignment).Spec.LicenseRef.Name = "l2" },
			"spec", "spec.licenseRef is immutable"),
		Entry("an assignment's licenseRef namespace changes",
			func() client.Object {
				return ut.MakeAssignment(unique("a"), ns).License("l1").User("ada@example.com").Obj()
			},
			func(o client.Object) { o.(*v1.LicenseAssignment).Spec.LicenseRef.Namespace = "other" },
			"spec.licenseRef is immutable"),
		Entry("an assignment switches from licenseRef to productRef",
			func() client.Object {
				return ut.MakeAssignment(unique("a"), ns).License("l1").User("ada@example.com").Obj()
			},
			func(o client.Object) {
				a := o.(*v1.LicenseAssignment)
				a.Spec.LicenseRef = nil
				a.Spec.ProductRef = &v1.ProductReference{Name: "p"}
			},
			"spec.licenseRef is immutable"),
		Entry("an assignment's productRef changes",
			func() client.Object {
				return ut.MakeAssignment(unique("a"), ns).Product("p1").ServiceAccount("sa").Obj()
			},
			func(o client.Object) { o.(*v1.LicenseAssignment).Spec.ProductRef.Name = "p2" },
			"spec.productRef is immutable"),
		Entry("reported consumption goes down",
			func() client.Object {
				return ut.MakeAssignment(unique("a"), ns).License("l").ServiceAccount("sa").Consumption(10).Obj()
			},
			func(o client.Object) { o.(*v1.LicenseAssignment).Spec.Consumption = ptr.To[int64](9) },
			"spec.consumption", "spec.consumption only grows"),
	)

	It("allows the changes that keep seats where they are", func() {
		l := ut.MakeLicense(unique("l"), ns).Product("a").Seats(5).Obj()
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		l.Spec.Seats = ptr.To[int32](3)
		l.Spec.State = v1.AdminStateSuspended
		Expect(k8sClient.Update(ctx, l)).To(Succeed())

		a := ut.MakeAssignment(unique("a"), ns).License("l1").User("ada@example.com").Consumption(1).Obj()
		Expect(k8sClient.Create(ctx, a)).To(Succeed())
		Expect(a.Spec.Seats).To(Equal(int32(1)))
		a.Spec.Assignee = v1.Assignee{User: &v1.UserAssignee{Email: "grace@example.com"}}
		a.Spec.Consumption = ptr.To[int64](7)
		a.Spec.Seats = 2
		Expect(k8sClient.Update(ctx, a)).To(Succeed())
	})

	It("defaults the fields a licence administrator leaves out", func() {
		p := ut.MakeProduct(unique("p")).Obj()
		p.Spec.Authorization = ""
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		Expect(p.Spec.Authorization).To(Equal(v1.AuthorizationKey))

		l := ut.MakeLicense(unique("l"), ns).KeySecret("k", "").Obj()
		l.Spec.Sharing = &v1.NamespaceSharing{}
		Expect(k8sClient.Create(ctx, l)).To(Succeed())
		Expect(l.Spec.State).To(Equal(v1.AdminStateActive))
		Expect(l.Spec.Key.SecretRef.Key).To(Equal("license-key"))
		Expect(l.Spec.Sharing.From).To(Equal(v1.NamespacesFromNamespace))
	})
})
