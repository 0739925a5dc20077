#!/usr/bin/env bash
# Provides helm, which lints and renders the chart in dist/chart, and prints
# its path on stdout.
#
# helm is built once from the Go module proxy, pinned by
# hack/tools/helm/go.mod, into a cache directory beside the envtest binaries
# (see hack/go-tool.sh); every later run starts at once. The first build takes
# about three minutes on an idle two-core machine, more under load.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" helm helm.sh/helm/v4 \
  helm.sh/helm/v4/cmd/helm "about three minutes"
