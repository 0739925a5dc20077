package kubectllicense

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// fullLicence sets every field the record maps (docs/kubectl-license.md).
func fullLicence() *licensingv1alpha1.SoftwareLicense {
	l := utiltesting.MakeLicense("cad-2026", "team-a").Product("cad").Seats(10).
		Purchased(time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)).
		Renewal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)).AutoRenew().
		Discount("120.00", "12.5").
		ResolvedProduct("cad", "CAD Pro", "Acme", "CAD-1").
		EffectiveSeatModel(licensingv1alpha1.SeatModelNamedUser).
		Computed(licensingv1alpha1.LicenseStateExpiringSoon, 12, 4).
		Term(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ptr.To(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))).
		CostStatus("105.00", "1050.00", "EUR", "1y").
		Created(time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)).Obj()
	l.UID = types.UID("5f0c7a56-1c39-4bd4-9d7e-7a4c8f6f3b21")
	l.Annotations = map[string]string{
		licensingv1alpha1.CreatedByAnnotation: "alice@example.com",
		licensingv1alpha1.UpdatedByAnnotation: "bob@example.com",
	}
	l.ManagedFields = []metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Time: &metav1.Time{Time: time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)}},
		{Manager: "license-operator", Subresource: "status", Time: &metav1.Time{Time: time.Date(2026, 2, 3, 8, 0, 0, 0, time.UTC)}},
	}
	l.Spec.Cost.Currency = "EUR"
	l.Spec.Cost.CostCenter = "cc-4711"
	l.Spec.Cost.ContractRef = "contract-42"
	l.Spec.Cost.ContractReference = "PO-2026-001"
	l.Spec.Cost.Supplier = "Reseller GmbH"
	l.Spec.AssetRef = "asset-cad-workstations"
	l.Spec.Tags = []string{"engineering", "cad"}
	return l
}

func TestExportRecord(t *testing.T) {
	l := fullLicence()
	deleted := metav1.NewTime(time.Date(2026, 2, 4, 10, 0, 0, 0, time.UTC))
	l.DeletionTimestamp = &deleted
	s := func(v string) *string { return &v }
	n := func(v string) *json.Number { x := json.Number(v); return &x }
	want := Record{
		ID: "5f0c7a56-1c39-4bd4-9d7e-7a4c8f6f3b21", TenantID: "team-a",
		CreatedAt: "2026-01-02T09:30:00Z", UpdatedAt: "2026-02-03T08:00:00Z",
		CreatedBy: s("alice@example.com"), UpdatedBy: s("bob@example.com"),
		Source: "license-operator", SourceType: "system",
		IsDeleted: true, DeletedAt: s("2026-02-04T10:00:00Z"), DeletedBy: s("carol@example.com"),
		SchemaVersion: 1, AssetID: s("asset-cad-workstations"),
		Vendor: s("Acme"), ProductName: s("CAD Pro"), ProductSKU: s("CAD-1"), LicenseType: s("named_user"),
		TotalSeats: ptr.To[int32](10), UsedSeats: 12, AvailableSeats: ptr.To[int32](0),
		Cost:         &RecordCost{UnitPrice: n("105.00"), Total: n("1050.00"), Currency: s("EUR"), Period: s("1y")},
		PurchaseDate: s("2025-12-15T00:00:00Z"), ExpiryDate: s("2027-01-01T00:00:00Z"), RenewalDate: s("2026-11-30T00:00:00Z"),
		AutoRenew: true, SupplierID: s("Reseller GmbH"), ContractReference: s("PO-2026-001"),
		Status: s("expiring_soon"), ComplianceStatus: s("over_allocated"),
		Tags: []string{"engineering", "cad"}, ListPrice: n("120.00"), NegotiatedDiscount: n("12.5"),
		CostCenterID: s("cc-4711"), ContractID: s("contract-42"),
	}
	if diff := cmp.Diff(want, ExportRecord(l, nil, "carol@example.com")); diff != "" {
		t.Errorf("ExportRecord (-want +got):\n%s", diff)
	}
}

func TestExportRecordOfABareLicence(t *testing.T) {
	// Tracked without a product, before the operator computed anything: the
	// spec's values, and nulls where the seed allows them.
	l := utiltesting.MakeLicense("tracked", "team-b").Expiry(time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)).Obj()
	l.Spec.Vendor, l.Spec.ProductName = "Initech", "TPS Reports"
	product := utiltesting.MakeProduct("tps").Pricing("9.99", "USD", "1m").Obj()
	r := ExportRecord(l, product, "who-deleted-nothing")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{
		`"total_seats":null`, `"available_seats":null`, `"used_seats":0`, `"cost":null`, `"status":null`,
		`"deleted_by":null`, `"is_deleted":false`, `"tags":[]`, `"license_type":null`,
		`"vendor":"Initech"`, `"product_name":"TPS Reports"`, `"expiry_date":"2026-06-30T00:00:00Z"`,
		`"list_price":9.99`, // the product's list price, as a JSON number
	} {
		if !strings.Contains(string(b), field) {
			t.Errorf("record %s has no %s", b, field)
		}
	}
	if strings.Contains(string(b), "app_id") {
		t.Errorf("record %s has app_id, which nothing in the cluster maps to", b)
	}
}

func TestExportRecordPurchaseDate(t *testing.T) {
	purchased := time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC)
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(v string) *string { return &v }
	cases := map[string]struct {
		l    *licensingv1alpha1.SoftwareLicense
		want *string
	}{
		"purchaseDate":                      {utiltesting.MakeLicense("a", "ns").Purchased(purchased).Start(started).Obj(), s("2025-12-15T00:00:00Z")},
		"startDate: the subscription began": {utiltesting.MakeLicense("a", "ns").Start(started).Obj(), s("2026-01-01T00:00:00Z")},
		"neither: null, not the creation":   {utiltesting.MakeLicense("a", "ns").Created(started).Obj(), nil},
	}
	for name, c := range cases {
		if diff := cmp.Diff(c.want, ExportRecord(c.l, nil, "").PurchaseDate); diff != "" {
			t.Errorf("%s: purchase_date (-want +got):\n%s", name, diff)
		}
	}
}

func TestRecordCSV(t *testing.T) {
	r := ExportRecord(fullLicence(), nil, "")
	cols := RecordColumns()
	row, err := r.CSVRow()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, c := range cols {
		got[c] = row[i]
	}
	want := map[string]string{
		"id": "5f0c7a56-1c39-4bd4-9d7e-7a4c8f6f3b21", "tenant_id": "team-a",
		"created_at": "2026-01-02T09:30:00Z", "updated_at": "2026-02-03T08:00:00Z",
		"created_by": "alice@example.com", "updated_by": "bob@example.com",
		"source": "license-operator", "source_type": "system", "is_deleted": "false", "deleted_at": "", "deleted_by": "",
		"schema_version": "1", "asset_id": "asset-cad-workstations",
		"vendor": "Acme", "product_name": "CAD Pro", "product_sku": "CAD-1", "license_type": "named_user",
		"total_seats": "10", "used_seats": "12", "available_seats": "0",
		"cost":          `{"unit_price":105.00,"total":1050.00,"currency":"EUR","period":"1y"}`,
		"purchase_date": "2025-12-15T00:00:00Z", "expiry_date": "2027-01-01T00:00:00Z", "renewal_date": "2026-11-30T00:00:00Z",
		"auto_renew": "true", "supplier_id": "Reseller GmbH", "contract_reference": "PO-2026-001",
		"status": "expiring_soon", "compliance_status": "over_allocated", "tags": `["engineering","cad"]`,
		"list_price": "120.00", "negotiated_discount": "12.5", "cost_center_id": "cc-4711", "contract_id": "contract-42",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV cells (-want +got):\n%s", diff)
	}
}
