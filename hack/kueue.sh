#!/usr/bin/env bash
# Provides kueue, the manager of Kueue (sigs.k8s.io/kueue/cmd/kueue), which
# the e2e suite of test/e2e/kueue runs beside the local cluster
# (test/localcluster/kueue.go), and prints its path on stdout.
#
# It is built once from the Go module proxy, pinned by hack/tools/kueue/go.mod
# (a module of its own: Kueue pins older k8s.io and controller-runtime
# releases than the operator), into a cache directory beside the envtest
# binaries (see hack/go-tool.sh); every later run starts at once. The first
# build takes about seven minutes on an idle two-core machine, more under load.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh" kueue sigs.k8s.io/kueue \
  sigs.k8s.io/kueue/cmd/kueue "about seven minutes" sigs.k8s.io/kueue/pkg/version.GitVersion
