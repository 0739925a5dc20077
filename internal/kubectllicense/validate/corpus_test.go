package validate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
	"github.com/license-operator/license-operator/internal/kubectllicense/validate/corpus"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// TestCorpusVerdicts judges every case of the corpus as an API server
// without the operator's webhooks, and checks the verdict each case
// expects; test/integration/validate checks the same cases against a real
// API server.
func TestCorpusVerdicts(t *testing.T) {
	schemas, err := validate.LoadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	cases, err := corpus.Load(utiltesting.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, c := range cases {
		r := schemas.Validate(context.Background(), []validate.Document{c.Doc}, validate.Options{WithoutWebhooks: true})
		if r.Objects+r.Skipped != 1 {
			t.Errorf("%s: judged %d objects and skipped %d, want one", c.Name, r.Objects, r.Skipped)
			continue
		}
		accepted := len(r.Errors) == 0
		if accepted != c.Accepted {
			t.Errorf("%s: accepted %v, want %v; errors: %v", c.Name, accepted, c.Accepted, r.Errors)
			continue
		}
		if c.Accepted {
			continue
		}
		refused++
		found := false
		for _, e := range r.Errors {
			if strings.Contains(e.Field, c.Want) || strings.Contains(e.Message, c.Want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no error names %q: %v", c.Name, c.Want, r.Errors)
		}
	}
	if refused < 40 {
		t.Errorf("the corpus has %d refused cases, want at least 40", refused)
	}
}
