// Package samples applies config/samples to a real API server running the
// whole operator and checks the status the operator computes for every
// sample against an expectation file in testdata/.
package samples

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Placeholders an expectation may hold instead of a value, for what depends
// on when the test runs (a renewal term that rolls, a reset period, a bound
// time) or on randomness (a generated key's fingerprint).
const (
	// Any matches any value that is present.
	Any = "<any>"
	// Absent matches only a field that is not there.
	Absent = "<absent>"
	// Past matches an RFC 3339 time before now.
	Past = "<past>"
	// Future matches an RFC 3339 time after now.
	Future = "<future>"
	// matchPrefix starts "<match:REGEXP>": a string the regular expression
	// matches.
	matchPrefix = "<match:"
)

// Expectation is what an expectation file says about one object: a partial
// status. Only the fields it lists are compared.
type Expectation struct {
	Status map[string]any
}

// ParseExpectation reads an expectation file: a YAML document whose only
// key is status.
func ParseExpectation(data []byte) (Expectation, error) {
	doc, err := decode(data)
	if err != nil {
		return Expectation{}, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return Expectation{}, fmt.Errorf("an expectation is a map with the key status, not %T", doc)
	}
	for k := range m {
		if k != "status" {
			return Expectation{}, fmt.Errorf("unknown key %q: an expectation has only status", k)
		}
	}
	status, ok := m["status"].(map[string]any)
	if !ok || len(status) == 0 {
		return Expectation{}, fmt.Errorf("an expectation lists at least one status field under status")
	}
	return Expectation{Status: status}, nil
}

// Normalize turns a value decoded any way (an unstructured object from the
// API server, a YAML file) into what Mismatches compares: maps, slices,
// strings, bools, nil and json.Number, so that 3 from YAML equals 3 from
// JSON and stays apart from "3".
func Normalize(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data)
}

func decode(data []byte) (any, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	return decodeJSON(j)
}

func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// Mismatches compares actual with the partial value expected, both
// Normalized, and returns one line per difference, naming its path:
//
//   - a map matches when each key expected matches the same key of actual;
//     keys actual has beyond them are not compared; a key actual lacks
//     matches only Absent, 0 or false (what a Go client reads a missing
//     number or bool as), or a map of nothing but these;
//   - a list of maps that all have a "type" (conditions) matches when each
//     expected element matches the actual element of its type;
//   - any other list matches element by element, with as many elements;
//   - Any, Absent, Past, Future and "<match:REGEXP>" match as they say;
//   - anything else matches an equal value of the same type.
func Mismatches(path string, expected, actual any, now time.Time) []string {
	if s, ok := expected.(string); ok {
		if out, placeholder := matchPlaceholder(path, s, actual, now); placeholder {
			return out
		}
	}
	switch e := expected.(type) {
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a map, got %s", path, show(actual))}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(e)) {
			av, present := a[k]
			child := path + "." + k
			if !present && missingMatches(e[k]) {
				continue
			}
			if e[k] == Absent {
				out = append(out, fmt.Sprintf("%s: want absent, got %s", child, show(av)))
				continue
			}
			if !present {
				out = append(out, fmt.Sprintf("%s: want %s, got nothing", child, show(e[k])))
				continue
			}
			out = append(out, Mismatches(child, e[k], av, now)...)
		}
		return out
	case []any:
		a, ok := actual.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a list, got %s", path, show(actual))}
		}
		if byType(e) {
			return mismatchesByType(path, e, a, now)
		}
		if len(a) != len(e) {
			return []string{fmt.Sprintf("%s: want %d elements %s, got %d %s", path, len(e), show(e), len(a), show(a))}
		}
		var out []string
		for i := range e {
			out = append(out, Mismatches(fmt.Sprintf("%s[%d]", path, i), e[i], a[i], now)...)
		}
		return out
	}
	if !reflect.DeepEqual(expected, actual) {
		return []string{fmt.Sprintf("%s: want %s, got %s", path, show(expected), show(actual))}
	}
	return nil
}

// matchPlaceholder matches a placeholder; placeholder is false when s is
// not one.
func matchPlaceholder(path, s string, actual any, now time.Time) (out []string, placeholder bool) {
	switch {
	case s == Any:
		if actual == nil {
			return []string{path + ": want a value, got null"}, true
		}
		return nil, true
	case s == Absent:
		// Reached only for a list element or the top: a map key is handled by the caller.
		return []string{fmt.Sprintf("%s: want absent, got %s", path, show(actual))}, true
	case s == Past || s == Future:
		ts, ok := actual.(string)
		t, err := time.Parse(time.RFC3339, ts)
		if !ok || err != nil {
			return []string{fmt.Sprintf("%s: want an RFC 3339 time (%s), got %s", path, s, show(actual))}, true
		}
		if s == Past && !t.Before(now) {
			return []string{fmt.Sprintf("%s: want a time before %s, got %s", path, now.Format(time.RFC3339), ts)}, true
		}
		if s == Future && !t.After(now) {
			return []string{fmt.Sprintf("%s: want a time after %s, got %s", path, now.Format(time.RFC3339), ts)}, true
		}
		return nil, true
	case strings.HasPrefix(s, matchPrefix) && strings.HasSuffix(s, ">"):
		re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(s, matchPrefix), ">"))
		if err != nil {
			return []string{fmt.Sprintf("%s: the expectation %q is not a regular expression: %v", path, s, err)}, true
		}
		as, ok := actual.(string)
		if !ok || !re.MatchString(as) {
			return []string{fmt.Sprintf("%s: want a string matching %s, got %s", path, re, show(actual))}, true
		}
		return nil, true
	}
	return nil, false
}

// zero says whether v is 0 or false, which a field that is not there
// reads as in a Go client: the operator's status writes may leave out a
// count that is 0.
func zero(v any) bool {
	n, ok := v.(json.Number)
	return v == false || (ok && n.String() == "0")
}

// missingMatches says whether a field that is not there matches v:
// Absent, 0, false, or a map of nothing but such values (a field that is
// not there has none of its fields either).
func missingMatches(v any) bool {
	if v == Absent || zero(v) {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return false
	}
	for _, child := range m {
		if !missingMatches(child) {
			return false
		}
	}
	return true
}

// byType says whether every element of a non-empty list is a map with a
// string "type", as conditions are.
func byType(list []any) bool {
	if len(list) == 0 {
		return false
	}
	for _, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["type"].(string); !ok {
			return false
		}
	}
	return true
}

func mismatchesByType(path string, expected, actual []any, now time.Time) []string {
	var out []string
	for _, e := range expected {
		typ := e.(map[string]any)["type"].(string)
		child := fmt.Sprintf("%s[type=%s]", path, typ)
		i := slices.IndexFunc(actual, func(a any) bool {
			m, ok := a.(map[string]any)
			return ok && m["type"] == typ
		})
		if i < 0 {
			out = append(out, child+": want it, got no element of this type")
			continue
		}
		out = append(out, Mismatches(child, e, actual[i], now)...)
	}
	return out
}

// show writes a value compactly for a message: strings quoted, so that "3"
// and 3 look different.
func show(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(data)
}
