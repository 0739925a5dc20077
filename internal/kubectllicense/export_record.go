package kubectllicense

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
	"unicode"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// Record is seed 000's SoftwareLicense record, the form an ITAM tool
// imports: snake_case, nulls written out. docs/kubectl-license.md has the
// mapping from the CRD, field by field. Seed fields with no equivalent in
// the cluster are not written (app_id).
type Record struct {
	ID                 string       `json:"id"`
	TenantID           string       `json:"tenant_id"`
	CreatedAt          string       `json:"created_at"`
	UpdatedAt          string       `json:"updated_at"`
	CreatedBy          *string      `json:"created_by"`
	UpdatedBy          *string      `json:"updated_by"`
	Source             string       `json:"source"`
	SourceType         string       `json:"source_type"`
	IsDeleted          bool         `json:"is_deleted"`
	DeletedAt          *string      `json:"deleted_at"`
	DeletedBy          *string      `json:"deleted_by"`
	SchemaVersion      int          `json:"schema_version"`
	AssetID            *string      `json:"asset_id"`
	Vendor             *string      `json:"vendor"`
	ProductName        *string      `json:"product_name"`
	ProductSKU         *string      `json:"product_sku"`
	LicenseType        *string      `json:"license_type"`
	TotalSeats         *int32       `json:"total_seats"`
	UsedSeats          int32        `json:"used_seats"`
	AvailableSeats     *int32       `json:"available_seats"`
	Cost               *RecordCost  `json:"cost"`
	PurchaseDate       *string      `json:"purchase_date"`
	ExpiryDate         *string      `json:"expiry_date"`
	RenewalDate        *string      `json:"renewal_date"`
	AutoRenew          bool         `json:"auto_renew"`
	SupplierID         *string      `json:"supplier_id"`
	ContractReference  *string      `json:"contract_reference"`
	Status             *string      `json:"status"`
	ComplianceStatus   *string      `json:"compliance_status"`
	Tags               []string     `json:"tags"`
	ListPrice          *json.Number `json:"list_price"`
	NegotiatedDiscount *json.Number `json:"negotiated_discount"`
	CostCenterID       *string      `json:"cost_center_id"`
	ContractID         *string      `json:"contract_id"`
}

// RecordCost is the record's cost: the operator's computed status.cost.
type RecordCost struct {
	UnitPrice *json.Number `json:"unit_price"`
	// Total is per Period; null for unlimited seats.
	Total    *json.Number `json:"total"`
	Currency *string      `json:"currency"`
	Period   *string      `json:"period"`
}

const (
	// RecordSource is the record's source: the provenance tag of what this
	// plugin exports.
	RecordSource = "license-operator"
	// RecordSourceType is the record's source_type: written by a system,
	// not a person's frontend.
	RecordSourceType = "system"
	// RecordSchemaVersion is the record's schema_version.
	RecordSchemaVersion = 1
)

// ExportRecord is the seed 000 record of a licence. product is its
// LicenseProduct when the user may read it (the list price falls back to
// the product's), deletedBy the user who deleted it ("" when unknown).
func ExportRecord(l *licensingv1alpha1.SoftwareLicense, product *licensingv1alpha1.LicenseProduct, deletedBy string) Record {
	st := l.Status
	r := Record{
		ID:               string(l.UID),
		TenantID:         l.Namespace,
		CreatedAt:        stamp(l.CreationTimestamp.Time),
		UpdatedAt:        stamp(updatedAt(l)),
		CreatedBy:        nonEmpty(l.Annotations[licensingv1alpha1.CreatedByAnnotation]),
		UpdatedBy:        nonEmpty(l.Annotations[licensingv1alpha1.UpdatedByAnnotation]),
		Source:           RecordSource,
		SourceType:       RecordSourceType,
		IsDeleted:        l.DeletionTimestamp != nil,
		DeletedAt:        metaStamp(l.DeletionTimestamp),
		SchemaVersion:    RecordSchemaVersion,
		AssetID:          nonEmpty(l.Spec.AssetRef),
		TotalSeats:       st.Seats.Total,
		UsedSeats:        st.Seats.Used,
		AvailableSeats:   st.Seats.Available,
		PurchaseDate:     purchaseDate(l),
		ExpiryDate:       metaStamp(st.ValidUntil),
		RenewalDate:      metaStamp(st.RenewalTime),
		AutoRenew:        l.Spec.AutoRenew,
		Status:           nonEmpty(snake(string(st.State))),
		ComplianceStatus: nonEmpty(snake(string(st.Compliance))),
		Tags:             append([]string{}, l.Spec.Tags...),
	}
	if r.IsDeleted {
		r.DeletedBy = nonEmpty(deletedBy)
	}
	if r.ExpiryDate == nil {
		r.ExpiryDate = dateStamp(l.Spec.ExpiryDate) // before the operator computed a status
	}
	if r.RenewalDate == nil {
		r.RenewalDate = dateStamp(l.Spec.RenewalDate)
	}
	r.Vendor, r.ProductName, r.ProductSKU = resolvedProduct(l)
	if p := st.EffectivePolicy; p != nil && p.SeatModel != nil {
		r.LicenseType = nonEmpty(snake(string(*p.SeatModel)))
	}
	if c := st.Cost; c != nil {
		r.Cost = &RecordCost{
			UnitPrice: number(string(c.UnitPrice)), Total: number(string(c.Total)),
			Currency: nonEmpty(string(c.Currency)), Period: nonEmpty(string(c.Period)),
		}
	}
	if c := l.Spec.Cost; c != nil {
		if c.ListPrice != nil {
			r.ListPrice = number(string(*c.ListPrice))
		}
		r.NegotiatedDiscount = number(string(c.NegotiatedDiscountPercent))
		r.SupplierID = nonEmpty(c.Supplier)
		r.ContractReference = nonEmpty(c.ContractReference)
		r.CostCenterID = nonEmpty(c.CostCenter)
		r.ContractID = nonEmpty(c.ContractRef)
	}
	if r.ListPrice == nil && product != nil && product.Spec.Pricing != nil && product.Spec.Pricing.ListPrice != nil {
		r.ListPrice = number(string(*product.Spec.Pricing.ListPrice))
	}
	return r
}

// purchaseDate is seed 000's purchase_date, "the date the license was
// originally purchased or the subscription began": spec.purchaseDate, else
// spec.startDate (an imported entitlement's valid_from). Never the start of
// a later term or the creation of the object.
func purchaseDate(l *licensingv1alpha1.SoftwareLicense) *string {
	if l.Spec.PurchaseDate != nil {
		return dateStamp(l.Spec.PurchaseDate)
	}
	return dateStamp(l.Spec.StartDate)
}

// resolvedProduct is the vendor, product name and SKU the operator resolved
// (status.product), else those of the spec.
func resolvedProduct(l *licensingv1alpha1.SoftwareLicense) (vendor, name, sku *string) {
	vendor, name, sku = nonEmpty(l.Spec.Vendor), nonEmpty(l.Spec.ProductName), nonEmpty(l.Spec.ProductSKU)
	if p := l.Status.Product; p != nil {
		if p.Vendor != "" {
			vendor = &p.Vendor
		}
		if p.DisplayName != "" {
			name = &p.DisplayName
		}
		if p.SKU != "" {
			sku = &p.SKU
		}
	}
	return vendor, name, sku
}

// updatedAt is the last write of the object: the latest time of its
// managed fields (spec, metadata or status), else its creation.
func updatedAt(l *licensingv1alpha1.SoftwareLicense) time.Time {
	t := l.CreationTimestamp.Time
	for _, m := range l.ManagedFields {
		if m.Time != nil && m.Time.After(t) {
			t = m.Time.Time
		}
	}
	return t
}

// DeletedByEvent is the reason of the event the deletion webhook writes on a
// licence when a user deletes it (licensing.DeletedByMessage).
const DeletedByEvent = "Deleted"

// DeletedBy is the user who deleted the object uid, from the deletion
// webhook's event; "" when no such event is found.
func DeletedBy(events []eventsv1.Event, uid string) string {
	for i := range events {
		e := &events[i]
		if e.Reason != DeletedByEvent || string(e.Regarding.UID) != uid {
			continue
		}
		_, rest, ok := strings.Cut(e.Note, " deleted by ")
		if !ok {
			continue
		}
		user, _, _ := strings.Cut(rest, ": it stays Terminating")
		return user
	}
	return ""
}

// snake is CamelCase as snake_case: ExpiringSoon is expiring_soon.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func metaStamp(t *metav1.Time) *string {
	if t == nil {
		return nil
	}
	s := stamp(t.Time)
	return &s
}

func dateStamp(d *licensingv1alpha1.Date) *string {
	if d == nil {
		return nil
	}
	return metaStamp(&d.Time)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// number is a decimal as written (exact, never a float), or nil.
func number(s string) *json.Number {
	if s == "" {
		return nil
	}
	n := json.Number(s)
	return &n
}

// RecordColumns are the CSV columns of a record: its JSON names, in order.
func RecordColumns() []string {
	t := reflect.TypeFor[Record]()
	cols := make([]string, t.NumField())
	for i := range cols {
		cols[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return cols
}

// CSVRow is the record as CSV cells, in the order of RecordColumns: a null
// is an empty cell, a string is written as it is, and a number, a boolean
// or a JSON value (cost, tags) as its JSON text.
func (r Record) CSVRow() ([]string, error) {
	v := reflect.ValueOf(r)
	row := make([]string, v.NumField())
	for i := range row {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.String && f.Type() != reflect.TypeFor[json.Number]() {
			row[i] = f.String()
			continue
		}
		b, err := json.Marshal(f.Interface())
		if err != nil {
			return nil, err
		}
		row[i] = string(b)
	}
	return row, nil
}
