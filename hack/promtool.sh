#!/usr/bin/env bash
# Provides promtool, which checks and unit-tests the PrometheusRule in
# config/prometheus, and prints its path on stdout.
#
# promtool is built once from the Go module proxy, pinned by
# hack/tools/promtool/go.mod, into a cache directory beside the envtest
# binaries; every later run starts at once. The first build takes about eight
# minutes on a two-core machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CACHE_ROOT=${ENVTEST_CACHE_ROOT:-$DATA_HOME/kubebuilder-envtest}
VERSION=$(cd "$ROOT/hack/tools/promtool" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
BUILD_DIR="$CACHE_ROOT/promtool/${VERSION}-${GOOS}-${GOARCH}"

say() { echo "promtool: $*" >&2; }

if [[ -x "$BUILD_DIR/promtool" ]]; then
  say "using the cached promtool in $BUILD_DIR"
  echo "$BUILD_DIR/promtool"
  exit 0
fi

mkdir -p "$BUILD_DIR"
tmp=$(mktemp -d "$BUILD_DIR/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "building promtool ${VERSION} from the Go module proxy (about eight minutes, once)"
(cd "$ROOT/hack/tools/promtool" &&
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool)
# Moved into place only once complete, so an interrupted build never leaves a
# half-written binary in the cache.
mv -f "$tmp/promtool" "$BUILD_DIR/promtool"
say "built promtool into $BUILD_DIR"
echo "$BUILD_DIR/promtool"
