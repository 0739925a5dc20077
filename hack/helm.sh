#!/usr/bin/env bash
# Provides helm, which lints and renders the chart in dist/chart, and prints
# its path on stdout.
#
# helm is built once from the Go module proxy, pinned by
# hack/tools/helm/go.mod, into a cache directory beside the envtest binaries;
# every later run starts at once. The first build takes about three minutes
# on an idle two-core machine, more under load.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CACHE_ROOT=${ENVTEST_CACHE_ROOT:-$DATA_HOME/kubebuilder-envtest}
VERSION=$(cd "$ROOT/hack/tools/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
BUILD_DIR="$CACHE_ROOT/helm/${VERSION}-${GOOS}-${GOARCH}"

say() { echo "helm: $*" >&2; }

if [[ -x "$BUILD_DIR/helm" ]]; then
  say "using the cached helm in $BUILD_DIR"
  echo "$BUILD_DIR/helm"
  exit 0
fi

mkdir -p "$BUILD_DIR"
tmp=$(mktemp -d "$BUILD_DIR/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "building helm ${VERSION} from the Go module proxy (about three minutes, once)"
(cd "$ROOT/hack/tools/helm" &&
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/helm" helm.sh/helm/v4/cmd/helm)
# Moved into place only once complete, so an interrupted build never leaves a
# half-written binary in the cache.
mv -f "$tmp/helm" "$BUILD_DIR/helm"
say "built helm into $BUILD_DIR"
echo "$BUILD_DIR/helm"
