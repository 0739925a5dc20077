// Command gen-chart generates the Helm chart in dist/chart from config/, the
// way kubebuilder's helm plugin does: `kustomize build config/default` (through
// the kustomize API, so no binary is needed) split into one template per
// object, with the values of the chart put in place of the few fields they
// set. config/prometheus (monitoring) and config/internalcert (the objects of
// internal certificate management, installed when certManager.enabled is
// false) are built too, each under its own condition. The chart's own files
// (Chart.yaml, values.yaml, values.schema.json, NOTES.txt and README) live in
// hack/gen-chart/chart and are copied as they are.
//
// config/ stays the one source: `make chart` runs this command, and the test
// beside it fails when dist/chart differs from what it would generate.
//
//	go run ./hack/gen-chart -config config -out dist/chart
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	configDir := flag.String("config", "config", "the kustomize config directory")
	outDir := flag.String("out", "dist/chart", "the chart directory to (re)write")
	flag.Parse()
	if err := run(*configDir, *outDir); err != nil {
		fmt.Fprintln(os.Stderr, "gen-chart:", err)
		os.Exit(1)
	}
}

// run replaces outDir with the chart generated from configDir.
func run(configDir, outDir string) error {
	files, err := Generate(configDir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(outDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}
