package samples

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// TestFieldsDocNamesEverySpecField checks that docs/fields.md names each
// spec field of the three kinds (its name, in code: `seats`, or a segment of
// a path in code: `pricing.freeToUse`), so that a new field cannot land
// without a word on its effect.
func TestFieldsDocNamesEverySpecField(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(utiltesting.RepoRoot(), "docs", "fields.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(utiltesting.CRDDir(), "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	named := codeSegments(string(doc))
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kind := crd.Spec.Names.Kind
		if !slices.Contains(checkedKinds, kind) {
			continue
		}
		seen++
		for _, field := range SpecFields(kind, crd.Spec.Versions[0].Schema.OpenAPIV3Schema) {
			path := field[strings.LastIndex(field, " ")+1:]
			name := strings.TrimSuffix(path[strings.LastIndex(path, ".")+1:], "[]")
			if !named[name] {
				t.Errorf("docs/fields.md does not name %s (`%s`): say what it does", field, name)
			}
		}
	}
	if seen != len(checkedKinds) {
		t.Fatalf("found the CRDs of %d of the kinds %v in %s", seen, checkedKinds, utiltesting.CRDDir())
	}
}

// codeSegments are the dotted-path segments of every `code span` of a
// Markdown text, without []: "`features[].maxConsumption`" gives features
// and maxConsumption.
func codeSegments(md string) map[string]bool {
	out := map[string]bool{}
	spans := strings.Split(md, "`")
	for i := 1; i < len(spans); i += 2 {
		for _, seg := range strings.Split(spans[i], ".") {
			out[strings.TrimSuffix(seg, "[]")] = true
		}
	}
	return out
}
