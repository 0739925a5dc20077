#!/usr/bin/env bash
# Provides a tool built from the Go module proxy and prints its path on stdout:
#
#   hack/go-tool.sh NAME MODULE PACKAGE DURATION [VERSION_VAR]
#
# NAME's version is MODULE's version in hack/tools/NAME/go.mod. The binary is
# built once into a cache directory beside the envtest binaries
# (~/.local/share/kubebuilder-envtest/NAME/<version>-<os>-<arch>/NAME); every
# later run starts at once. DURATION says how long the first build takes.
# VERSION_VAR, when given, is the string variable (package.Name) that the
# tool's own release build stamps with its version; it gets the same.
set -euo pipefail

NAME=$1 MODULE=$2 PACKAGE=$3 DURATION=$4 VERSION_VAR=${5:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CACHE_ROOT=${ENVTEST_CACHE_ROOT:-$DATA_HOME/kubebuilder-envtest}
VERSION=$(cd "$ROOT/hack/tools/$NAME" && go list -m -f '{{.Version}}' "$MODULE")
BUILD_DIR="$CACHE_ROOT/$NAME/${VERSION}-${GOOS}-${GOARCH}"

say() { echo "$NAME: $*" >&2; }

if [[ -x "$BUILD_DIR/$NAME" ]]; then
  say "using the cached $NAME in $BUILD_DIR"
  echo "$BUILD_DIR/$NAME"
  exit 0
fi

mkdir -p "$BUILD_DIR"
tmp=$(mktemp -d "$BUILD_DIR/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ldflags="-s -w"
[[ -n "$VERSION_VAR" ]] && ldflags+=" -X $VERSION_VAR=$VERSION"
say "building $NAME ${VERSION} from the Go module proxy ($DURATION, once)"
(cd "$ROOT/hack/tools/$NAME" &&
  CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$tmp/$NAME" "$PACKAGE")
# Moved into place only once complete, so an interrupted build never leaves a
# half-written binary in the cache.
mv -f "$tmp/$NAME" "$BUILD_DIR/$NAME"
say "built $NAME into $BUILD_DIR"
echo "$BUILD_DIR/$NAME"
