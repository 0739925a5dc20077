// Package crd embeds the CustomResourceDefinitions that controller-gen writes
// into bases/ (make manifests), so that tools built from this module (the
// offline `kubectl license validate`) judge manifests against exactly the
// schemas and CEL rules the cluster installs: one source of truth, no copy.
package crd

import "embed"

// Bases holds bases/*.yaml, one CustomResourceDefinition per file.
//
//go:embed bases/*.yaml
var Bases embed.FS
