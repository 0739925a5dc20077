package validate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Document is one object of a manifest file, as JSON.
type Document struct {
	// File is the path the document was read from.
	File string
	// Index counts the documents of the file from 1.
	Index int
	// JSON is the object as JSON, as kubectl sends it.
	JSON []byte
	// Err is set when the document could not be read as an object.
	Err error
}

// manifestExtensions are the files a directory walk reads.
var manifestExtensions = []string{".yaml", ".yml", ".json"}

// ReadPaths reads the manifests at paths: files (of any name), and
// directories, walked recursively for *.yaml, *.yml and *.json files;
// "-" is standard input. Files whose name starts with a dot and
// kustomization files are skipped in directories. Documents come in order.
func ReadPaths(paths []string, stdin io.Reader) ([]Document, error) {
	var docs []Document
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			docs = append(docs, SplitDocuments("<stdin>", data)...)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			docs = append(docs, SplitDocuments(p, data)...)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if f != p && strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasPrefix(name, ".") || isKustomization(name) || !slices.Contains(manifestExtensions, strings.ToLower(filepath.Ext(name))) {
				return nil
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			docs = append(docs, SplitDocuments(f, data)...)
		}
	}
	return docs, nil
}

func isKustomization(name string) bool {
	switch name {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// SplitDocuments splits the content of a file into its objects: YAML
// documents separated by ---, a JSON object, or a JSON array of objects
// (or a stream of them). Empty documents are dropped; a List
// (kind: List, or any kind ending in List with items) is expanded into
// its items, as kubectl does.
func SplitDocuments(file string, data []byte) []Document {
	var raws [][]byte
	var readErr error
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		raws, readErr = splitJSON(trimmed)
	} else {
		raws, readErr = splitYAML(data)
	}
	var docs []Document
	for _, raw := range raws {
		for _, obj := range expandList(raw) {
			docs = append(docs, Document{File: file, Index: len(docs) + 1, JSON: obj})
		}
	}
	if readErr != nil {
		docs = append(docs, Document{File: file, Index: len(docs) + 1, Err: readErr})
	}
	return docs
}

func splitJSON(data []byte) ([][]byte, error) {
	var out [][]byte
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("reading JSON: %w", err)
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				return out, fmt.Errorf("reading JSON: %w", err)
			}
			for _, it := range items {
				out = append(out, it)
			}
			continue
		}
		out = append(out, raw)
	}
}

func splitYAML(data []byte) ([][]byte, error) {
	var out [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("reading YAML: %w", err)
		}
		if isEmptyYAML(doc) {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return out, fmt.Errorf("reading YAML document %d: %w", len(out)+1, err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue
		}
		out = append(out, j)
	}
}

// isEmptyYAML says whether a document has nothing but comments and blanks.
func isEmptyYAML(doc []byte) bool {
	for line := range strings.SplitSeq(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// expandList returns the items of a List, else the object itself.
func expandList(raw []byte) [][]byte {
	var list struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if json.Unmarshal(raw, &list) != nil || !strings.HasSuffix(list.Kind, "List") || list.Items == nil {
		return [][]byte{raw}
	}
	out := make([][]byte, 0, len(list.Items))
	for _, it := range list.Items {
		out = append(out, it)
	}
	return out
}
