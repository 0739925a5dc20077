// Package corpus reads the manifests that validate is compared with the API
// server on: every document of config/samples, and the cases of
// internal/kubectllicense/validate/testdata/corpus, one object per file, each
// with its expected verdict in a comment:
//
//	# want: accepted
//	# want: refused spec.seats
//
// where the text after "refused" appears in a field path or message of the
// refusal.
package corpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/license-operator/license-operator/internal/kubectllicense/validate"
)

// Case is one manifest of the corpus.
type Case struct {
	// Name is the file name without .yaml, or sample:<file>#<document>.
	Name string
	// Doc is the object.
	Doc validate.Document
	// Accepted is the expected verdict of the API server.
	Accepted bool
	// Want is a fragment of a field path or message of the refusal.
	Want string
}

// Dir is the corpus directory under the repository root.
func Dir(root string) string {
	return filepath.Join(root, "internal", "kubectllicense", "validate", "testdata", "corpus")
}

// Load reads the samples (every document of config/samples/*.yaml except
// kustomization.yaml, all expected to be accepted) and the corpus cases.
func Load(root string) ([]Case, error) {
	samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	if err != nil {
		return nil, err
	}
	var cases []Case
	for _, f := range samples {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		docs, err := validate.ReadPaths([]string{f}, nil)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			cases = append(cases, Case{Name: fmt.Sprintf("sample:%s#%d", filepath.Base(f), d.Index), Doc: d, Accepted: true})
		}
	}
	files, err := filepath.Glob(filepath.Join(Dir(root), "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c := Case{Name: strings.TrimSuffix(filepath.Base(f), ".yaml")}
		want, ok := wantOf(data)
		if !ok {
			return nil, fmt.Errorf("%s: no \"# want: accepted\" or \"# want: refused <fragment>\" line", f)
		}
		c.Accepted = want == "accepted"
		c.Want = strings.TrimSpace(strings.TrimPrefix(want, "refused"))
		docs := validate.SplitDocuments(f, data)
		if len(docs) != 1 {
			return nil, fmt.Errorf("%s: want one object, found %d", f, len(docs))
		}
		c.Doc = docs[0]
		cases = append(cases, c)
	}
	return cases, nil
}

func wantOf(data []byte) (string, bool) {
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "# want:"); ok {
			w := strings.TrimSpace(rest)
			return w, w == "accepted" || strings.HasPrefix(w, "refused")
		}
	}
	return "", false
}
