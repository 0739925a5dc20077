package kubectllicense

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

var _ = Describe("kubectl license export", Ordered, func() {
	var full, deleted *licensingv1alpha1.SoftwareLicense

	BeforeAll(func() {
		createNamespace("exp-a")
		Expect(k8sClient.Create(ctx, utiltesting.MakeProduct("exp-cad").Pricing("130", "EUR", "1y").Obj())).To(Succeed())
		l := fullLicence()
		l.Namespace, l.UID, l.ManagedFields, l.CreationTimestamp = "exp-a", "", nil, metav1.Time{}
		full = createLicence(l)

		// Deleted while held: Terminating (a finalizer), and the deletion
		// webhook's event says who deleted it.
		d := utiltesting.MakeLicense("old", "exp-a").Product("exp-cad").Seats(1).
			ResolvedProduct("exp-cad", "CAD Pro", "Acme", "CAD-1").Computed(licensingv1alpha1.LicenseStateActive, 1, 1).Obj()
		d.Finalizers = []string{licensingv1alpha1.LicenseFinalizer}
		deleted = createLicence(d)
		Expect(k8sClient.Delete(ctx, deleted)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deleted), deleted)).To(Succeed())
		createEvent(deleted, "SoftwareLicense", DeletedByEvent, "Delete",
			licensing.DeletedByMessage("SoftwareLicense", "system:serviceaccount:ci:deployer", 1), time.Now())
	})

	AfterAll(func() {
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deleted), deleted)).To(Succeed())
		deleted.Finalizers = nil
		Expect(k8sClient.Update(ctx, deleted)).To(Succeed())
	})

	It("writes seed 000 records as snake_case JSON", func() {
		out, _, err := runPlugin(adminKubeconfig, "export", "-n", "exp-a")
		Expect(err).NotTo(HaveOccurred())
		var records []map[string]any
		Expect(json.Unmarshal([]byte(out), &records)).To(Succeed())
		Expect(records).To(HaveLen(2))
		byName := map[string]map[string]any{}
		for _, r := range records {
			byName[r["id"].(string)] = r
		}
		r := byName[string(full.UID)]
		Expect(r).To(HaveKeyWithValue("tenant_id", "exp-a"))
		Expect(r).To(HaveKeyWithValue("created_at", full.CreationTimestamp.UTC().Format(time.RFC3339)))
		Expect(r).To(HaveKeyWithValue("vendor", "Acme"))
		Expect(r).To(HaveKeyWithValue("product_name", "CAD Pro"))
		Expect(r).To(HaveKeyWithValue("product_sku", "CAD-1"))
		Expect(r).To(HaveKeyWithValue("license_type", "named_user"))
		Expect(r).To(HaveKeyWithValue("total_seats", 10.0))
		Expect(r).To(HaveKeyWithValue("used_seats", 12.0))
		Expect(r).To(HaveKeyWithValue("available_seats", 0.0))
		Expect(r).To(HaveKeyWithValue("status", "expiring_soon"))
		Expect(r).To(HaveKeyWithValue("compliance_status", "over_allocated"))
		Expect(r).To(HaveKeyWithValue("list_price", 120.0))
		Expect(r).To(HaveKeyWithValue("negotiated_discount", 12.5))
		Expect(r).To(HaveKeyWithValue("cost", map[string]any{"unit_price": 105.0, "total": 1050.0, "currency": "EUR", "period": "1y"}))
		Expect(r).To(HaveKeyWithValue("purchase_date", "2025-12-15T00:00:00Z"))
		Expect(r).To(HaveKeyWithValue("renewal_date", "2026-11-30T00:00:00Z"))
		Expect(r).To(HaveKeyWithValue("expiry_date", "2027-01-01T00:00:00Z"))
		Expect(r).To(HaveKeyWithValue("auto_renew", true))
		Expect(r).To(HaveKeyWithValue("tags", []any{"engineering", "cad"}))
		Expect(r).To(HaveKeyWithValue("is_deleted", false))
		Expect(r).To(HaveKeyWithValue("deleted_by", BeNil()))

		old := byName[string(deleted.UID)]
		Expect(old).To(HaveKeyWithValue("is_deleted", true))
		Expect(old).To(HaveKeyWithValue("deleted_at", deleted.DeletionTimestamp.UTC().Format(time.RFC3339)))
		Expect(old).To(HaveKeyWithValue("deleted_by", "system:serviceaccount:ci:deployer"))
		Expect(old).To(HaveKeyWithValue("list_price", 130.0)) // the product's
		Expect(old).To(HaveKeyWithValue("total_seats", 1.0))
	})

	It("writes one CSV column per record field", func() {
		out, _, err := runPlugin(adminKubeconfig, "export", "-n", "exp-a", "-o", "csv")
		Expect(err).NotTo(HaveOccurred())
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		Expect(err).NotTo(HaveOccurred())
		Expect(rows).To(HaveLen(3))
		Expect(rows[0]).To(Equal(RecordColumns()))
		col := func(row []string, name string) string {
			for i, c := range rows[0] {
				if c == name {
					return row[i]
				}
			}
			Fail("no column " + name)
			return ""
		}
		var fullRow []string
		for _, r := range rows[1:] {
			if col(r, "id") == string(full.UID) {
				fullRow = r
			}
		}
		Expect(fullRow).NotTo(BeNil())
		Expect(col(fullRow, "used_seats")).To(Equal("12"))
		Expect(col(fullRow, "available_seats")).To(Equal("0"))
		Expect(col(fullRow, "status")).To(Equal("expiring_soon"))
		Expect(col(fullRow, "compliance_status")).To(Equal("over_allocated"))
		Expect(col(fullRow, "cost")).To(Equal(`{"unit_price":105.00,"total":1050.00,"currency":"EUR","period":"1y"}`))
		Expect(col(fullRow, "deleted_at")).To(BeEmpty())
	})

	It("refuses table output: a record is not a table", func() {
		_, _, err := runPlugin(adminKubeconfig, "export", "-n", "exp-a", "-o", "table")
		Expect(err).To(MatchError(ContainSubstring("allowed formats are: json,yaml,csv")))
	})
})
