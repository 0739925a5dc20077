#!/usr/bin/env bash
# Provides promtool, which checks and unit-tests the PrometheusRule in
# config/prometheus, and prints its path on stdout.
#
# promtool is built once from the Go module proxy, pinned by
# hack/tools/promtool/go.mod, into a cache directory beside the envtest
# binaries (see hack/go-tool.sh); every later run starts at once. The first
# build takes about eight minutes on a two-core machine.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" promtool github.com/prometheus/prometheus \
  github.com/prometheus/prometheus/cmd/promtool "about eight minutes"
