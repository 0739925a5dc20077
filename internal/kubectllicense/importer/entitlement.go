// Package importer is `kubectl license import`: seed 001 LicenseEntitlement
// records (JSON, one or a list, or CSV with the same columns) written as
// SoftwareLicense manifests for Git. The mapping of each field is in
// docs/kubectl-license-import-validate.md and in Map.
package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Entitlement is one seed 001 LicenseEntitlement record.
type Entitlement struct {
	EntitlementID  string      `json:"entitlement_id"`
	Product        string      `json:"product"`
	ProductVersion string      `json:"product_version"`
	LicenseType    string      `json:"license_type"`
	LicenseKey     string      `json:"license_key"`
	Customer       *Customer   `json:"customer"`
	Seats          *int64      `json:"seats"`
	SeatsConsumed  *int64      `json:"seats_consumed"`
	ValidFrom      string      `json:"valid_from"`
	ValidUntil     string      `json:"valid_until"`
	Status         string      `json:"status"`
	Activation     *Activation `json:"activation"`
	Issuer         string      `json:"issuer"`
}

// Customer is the organisation that holds an entitlement.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Activation is an entitlement's activation policy.
type Activation struct {
	MaxActivations         *int64 `json:"max_activations"`
	MachineFingerprint     string `json:"machine_fingerprint"`
	OfflineGracePeriodDays *int64 `json:"offline_grace_period_days"`
}

// entitlementIDField is the seed 001 field that identifies an entitlement.
const entitlementIDField = "entitlement_id"

// fieldKind is the JSON type of a seed 001 field.
type fieldKind int

const (
	stringField fieldKind = iota
	integerField
	objectField
)

// seedField is one field of seed 001, by its path (customer.id).
type seedField struct {
	path string
	kind fieldKind
}

// SeedFields are the fields of seed 001, in the order of the seed; the
// columns of the CSV form are their paths.
var SeedFields = []seedField{
	{entitlementIDField, stringField},
	{"product", stringField},
	{"product_version", stringField},
	{"license_type", stringField},
	{"license_key", stringField},
	{"customer", objectField},
	{"customer.id", stringField},
	{"customer.name", stringField},
	{"customer.email", stringField},
	{"seats", integerField},
	{"seats_consumed", integerField},
	{"valid_from", stringField},
	{"valid_until", stringField},
	{"status", stringField},
	{"activation", objectField},
	{"activation.max_activations", integerField},
	{"activation.machine_fingerprint", stringField},
	{"activation.offline_grace_period_days", integerField},
	{"issuer", stringField},
}

// Path is the field's path, such as customer.id: its CSV column.
func (f seedField) Path() string { return f.path }

func seedFieldAt(path string) (seedField, bool) {
	i := slices.IndexFunc(SeedFields, func(f seedField) bool { return f.path == path })
	if i < 0 {
		return seedField{}, false
	}
	return SeedFields[i], true
}

// Record is one entitlement as read, with where it came from.
type Record struct {
	// Source names the record: file[index] for JSON, file:line for CSV.
	Source      string
	Entitlement Entitlement
}

// Notice is something the reader or the mapping reports about a record.
type Notice struct {
	// Source names the record (or the file).
	Source string
	// Path is the field's JSON path ($[0].activation.floating) or CSV column.
	Path string
	// Message says what happened to it.
	Message string
}

func (n Notice) String() string {
	if n.Path == "" {
		return n.Source + ": " + n.Message
	}
	return n.Source + ": " + n.Path + ": " + n.Message
}

// ReadResult is what Read found.
type ReadResult struct {
	Records []Record
	// Unknown are fields that are not seed 001's: reported, not imported.
	Unknown []Notice
	// Errors are records that could not be read; they are not imported.
	Errors []Notice
}

// Read reads seed 001 entitlements from data: JSON (an object or an array
// of them) when it starts with { or [, else CSV with a header row whose
// columns are the fields' paths (customer.id, activation.max_activations).
func Read(name string, data []byte) (*ReadResult, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return readJSON(name, trimmed)
	}
	return readCSV(name, data)
}

func readJSON(name string, data []byte) (*ReadResult, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %w", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one JSON value; write a list of entitlements as an array", name)
	}
	r := &ReadResult{}
	items, isList := doc.([]any)
	if !isList {
		items = []any{doc}
	}
	for i, item := range items {
		path := "$"
		source := name
		if isList {
			path = fmt.Sprintf("$[%d]", i)
			source = fmt.Sprintf("%s[%d]", name, i)
		}
		obj, ok := item.(map[string]any)
		if !ok {
			r.Errors = append(r.Errors, Notice{Source: source, Path: path, Message: "not an object: an entitlement is a JSON object"})
			continue
		}
		known, unknown := split(source, path, "", obj)
		r.Unknown = append(r.Unknown, unknown...)
		e, errs := decode(source, path, known)
		if len(errs) > 0 {
			r.Errors = append(r.Errors, errs...)
			continue
		}
		r.Records = append(r.Records, Record{Source: source, Entitlement: e})
	}
	return r, nil
}

// split keeps the seed 001 fields of obj (at prefix, a seed 001 path; at
// jsonPath in the file) and reports the others, which are not imported.
func split(source, jsonPath, prefix string, obj map[string]any) (map[string]any, []Notice) {
	known := map[string]any{}
	var unknown []Notice
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		f, ok := seedFieldAt(p)
		if !ok {
			unknown = append(unknown, Notice{Source: source, Path: jsonPath + "." + k,
				Message: "unknown field: not a seed 001 LicenseEntitlement field, not imported"})
			continue
		}
		v := obj[k]
		if child, isObj := v.(map[string]any); isObj && f.kind == objectField {
			var more []Notice
			v, more = split(source, jsonPath+"."+k, p, child)
			unknown = append(unknown, more...)
		}
		known[k] = v
	}
	return known, unknown
}

// decode reads the seed 001 fields (split's known) into an Entitlement,
// reporting each value of the wrong type at its path.
func decode(source, jsonPath string, known map[string]any) (Entitlement, []Notice) {
	var errs []Notice
	for _, f := range SeedFields {
		v, ok := lookup(known, f.path)
		if !ok || v == nil {
			continue
		}
		bad := ""
		switch f.kind {
		case stringField:
			if _, isString := v.(string); !isString {
				bad = "must be a string"
			}
		case integerField:
			if n, isNumber := v.(json.Number); !isNumber || !isInteger(string(n)) {
				bad = "must be a whole number"
			}
		case objectField:
			if _, isObject := v.(map[string]any); !isObject {
				bad = "must be an object"
			}
		}
		if bad != "" {
			errs = append(errs, Notice{Source: source, Path: jsonPath + "." + f.path, Message: fmt.Sprintf("%s, not %s", bad, jsonValue(v))})
		}
	}
	if len(errs) > 0 {
		return Entitlement{}, errs
	}
	raw, err := json.Marshal(known)
	if err != nil {
		return Entitlement{}, []Notice{{Source: source, Path: jsonPath, Message: err.Error()}}
	}
	var e Entitlement
	if err := json.Unmarshal(raw, &e); err != nil {
		return Entitlement{}, []Notice{{Source: source, Path: jsonPath, Message: err.Error()}}
	}
	return e, nil
}

func lookup(obj map[string]any, path string) (any, bool) {
	var cur any = obj
	for seg := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// readCSV reads entitlements from CSV: a header row of seed 001 paths, then
// one entitlement a row. An empty cell is a field left out.
func readCSV(name string, data []byte) (*ReadResult, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the CSV header: %w", name, err)
	}
	r := &ReadResult{}
	columns := make([]*seedField, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		f, ok := seedFieldAt(h)
		switch {
		case !ok:
			r.Unknown = append(r.Unknown, Notice{Source: name, Path: fmt.Sprintf("column %d %q", i+1, h),
				Message: "unknown column: not a seed 001 LicenseEntitlement field, not imported"})
		case f.kind == objectField:
			r.Unknown = append(r.Unknown, Notice{Source: name, Path: fmt.Sprintf("column %d %q", i+1, h),
				Message: fmt.Sprintf("an object is written as one column a field (%s.<field>); not imported", h)})
		default:
			columns[i] = &f
		}
	}
	if !slices.ContainsFunc(columns, func(f *seedField) bool { return f != nil }) {
		return nil, fmt.Errorf("%s: the first row names no seed 001 field: want a header such as entitlement_id,product,license_type,status,issuer", name)
	}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		line, _ := cr.FieldPos(0)
		source := fmt.Sprintf("%s:%d", name, line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(row) != len(header) {
			r.Errors = append(r.Errors, Notice{Source: source, Message: fmt.Sprintf("%d cells, the header has %d", len(row), len(header))})
			continue
		}
		obj := map[string]any{}
		for i, cell := range row {
			f := columns[i]
			if f == nil || strings.TrimSpace(cell) == "" {
				continue
			}
			var v any = cell
			if n := strings.TrimSpace(cell); f.kind == integerField && isInteger(n) {
				v = json.Number(n)
			}
			set(obj, f.path, v)
		}
		e, errs := decode(source, "$", obj)
		if len(errs) > 0 {
			r.Errors = append(r.Errors, errs...)
			continue
		}
		r.Records = append(r.Records, Record{Source: source, Entitlement: e})
	}
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func set(obj map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		child, ok := obj[s].(map[string]any)
		if !ok {
			child = map[string]any{}
			obj[s] = child
		}
		obj = child
	}
	obj[segs[len(segs)-1]] = v
}
