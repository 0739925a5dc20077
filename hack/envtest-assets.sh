#!/usr/bin/env bash
# Provides the Kubernetes control-plane binaries that envtest, the e2e tests and
# `make run-local` need, and prints the directory that holds them on stdout.
#
#   hack/envtest-assets.sh            kube-apiserver, etcd, kubectl (envtest)
#   hack/envtest-assets.sh --cluster  the above plus kube-controller-manager,
#                                     kube-scheduler and kubemark (hollow node)
#
# Where the binaries come from, in order (the path taken is said on stderr):
#   1. $KUBEBUILDER_ASSETS, when it already holds them;
#   2. the setup-envtest cache (~/.local/share/kubebuilder-envtest/k8s/...);
#   3. a setup-envtest download, with a short timeout (users with internet);
#   4. a build from the Go module proxy, pinned by hack/tools/k8s/go.mod and
#      hack/tools/etcd/go.mod, written into the setup-envtest cache so that
#      every later run starts at once.
# envtest never ships the controller manager, scheduler or kubemark, so
# --cluster always builds those (once) into the same cache directory.
#
# The Kubernetes binaries built here carry their release in -ldflags, as the
# release builds do (kubernetes hack/lib/version.sh): without it they report
# v0.0.0-master+$Format:%H$, which Kueue and other clients of /version refuse
# ("could not parse pre-release/metadata"). A cache built before the stamp is
# detected from `--version` and only its unstamped binaries are rebuilt; the
# compiled packages are still in Go's build cache, so that is mostly linking
# (README, "Where the control-plane binaries come from", says how long).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K8S_VERSION=${ENVTEST_K8S_VERSION:-1.36.3}
SETUP_ENVTEST_VERSION=${SETUP_ENVTEST_VERSION:-v0.25.1}
GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CACHE_ROOT=${ENVTEST_CACHE_ROOT:-$DATA_HOME/kubebuilder-envtest}
BUILD_DIR="$CACHE_ROOT/k8s/${K8S_VERSION}-${GOOS}-${GOARCH}"
DOWNLOAD_TIMEOUT=${ENVTEST_DOWNLOAD_TIMEOUT:-30}

say() { echo "envtest-assets: $*" >&2; }

cluster=false
[[ "${1:-}" == "--cluster" ]] && cluster=true

# The version the Kubernetes binaries report, derived from K8S_VERSION. Both
# packages that hold it are stamped, as kubernetes hack/lib/version.sh does:
# component-base/version (servers, kubectl) and client-go/pkg/version.
K8S_MAJOR=${K8S_VERSION%%.*}
K8S_MINOR=${K8S_VERSION#*.}
K8S_MINOR=${K8S_MINOR%%.*}
version_ldflags() {
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf ' -X %s.gitVersion=v%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean' \
      "$pkg" "$K8S_VERSION" "$pkg" "$K8S_MAJOR" "$pkg" "$K8S_MINOR" "$pkg"
  done
}

base_bins=(kube-apiserver etcd kubectl)
cluster_bins=(kube-controller-manager kube-scheduler kubemark)

has_all() { # dir bin...
  local dir=$1; shift
  [[ -n "$dir" && -d "$dir" ]] || return 1
  local b
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
}

# unstamped DIR BIN succeeds when DIR/BIN is a Kubernetes binary built without
# its version (an unreleased v0.0.0-...). etcd is not a Kubernetes binary.
unstamped() {
  local dir=$1 b=$2 out
  [[ "$b" == etcd ]] && return 1
  if [[ "$b" == kubectl ]]; then
    out=$("$dir/$b" version --client 2>/dev/null) || true
  else
    out=$("$dir/$b" --version 2>/dev/null) || true
  fi
  [[ "$out" == *v0.0.0-* ]]
}

# ready DIR BIN... succeeds when DIR holds every BIN, each stamped.
ready() {
  local dir=$1; shift
  has_all "$dir" "$@" || return 1
  local b
  for b in "$@"; do
    if unstamped "$dir" "$b"; then
      say "$dir/$b reports no release version (built before the version stamp)"
      return 1
    fi
  done
}

# Builds the named binaries that BUILD_DIR lacks, or holds unstamped, from the
# pinned tool modules.
build_into_cache() {
  mkdir -p "$BUILD_DIR"
  local k8s_pkgs=() b missing_etcd=false
  for b in "$@"; do
    [[ -x "$BUILD_DIR/$b" ]] && ! unstamped "$BUILD_DIR" "$b" && continue
    if [[ "$b" == etcd ]]; then missing_etcd=true; else k8s_pkgs+=("k8s.io/kubernetes/cmd/$b"); fi
  done
  local tmp
  tmp=$(mktemp -d "$BUILD_DIR/.build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  if ((${#k8s_pkgs[@]})); then
    say "building ${k8s_pkgs[*]##*/} v${K8S_VERSION} from the Go module proxy (several minutes, once)"
    (cd "$ROOT/hack/tools/k8s" &&
      CGO_ENABLED=0 go build -trimpath -ldflags="-s -w$(version_ldflags)" -o "$tmp/" "${k8s_pkgs[@]}")
  fi
  if $missing_etcd; then
    say "building etcd from the Go module proxy"
    (cd "$ROOT/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  fi
  # Move into place only once complete, so an interrupted build never leaves a
  # half-written binary in the cache. The temporary directory is inside
  # BUILD_DIR, so each move is a rename: a test that runs the old binary
  # meanwhile keeps it, and the next one starts the new one.
  local f
  for f in "$tmp"/*; do [[ -e "$f" ]] && mv -f "$f" "$BUILD_DIR/"; done
  return 0
}

if $cluster; then
  if ready "$BUILD_DIR" "${base_bins[@]}" "${cluster_bins[@]}"; then
    say "using the cached cluster binaries in $BUILD_DIR"
  else
    build_into_cache "${base_bins[@]}" "${cluster_bins[@]}"
    say "built the cluster binaries into $BUILD_DIR"
  fi
  echo "$BUILD_DIR"
  exit 0
fi

if has_all "${KUBEBUILDER_ASSETS:-}" kube-apiserver etcd; then
  say "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

if has_all "$BUILD_DIR" "${base_bins[@]}"; then
  if ! ready "$BUILD_DIR" "${base_bins[@]}"; then
    # An earlier build of this script (downloads are stamped): relink what is
    # unstamped rather than look elsewhere, where setup-envtest would hand
    # back this same directory.
    build_into_cache "${base_bins[@]}"
    say "rebuilt the unstamped envtest binaries in $BUILD_DIR"
  else
    say "using the setup-envtest cache at $BUILD_DIR"
  fi
  echo "$BUILD_DIR"
  exit 0
fi

# Any other cached 1.x release that setup-envtest downloaded earlier.
for d in $(ls -d "$CACHE_ROOT"/k8s/*-"$GOOS-$GOARCH" 2>/dev/null | sort -rV); do
  if ready "$d" "${base_bins[@]}"; then
    say "using the setup-envtest cache at $d"
    echo "$d"
    exit 0
  fi
done

SETUP_ENVTEST="$ROOT/bin/setup-envtest-$SETUP_ENVTEST_VERSION"
if [[ ! -x "$SETUP_ENVTEST" ]]; then
  mkdir -p "$ROOT/bin"
  GOBIN="$ROOT/bin" go install "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" >&2 &&
    mv "$ROOT/bin/setup-envtest" "$SETUP_ENVTEST" || say "could not install setup-envtest"
fi
if [[ -x "$SETUP_ENVTEST" ]]; then
  say "trying a setup-envtest download (timeout ${DOWNLOAD_TIMEOUT}s)"
  if dir=$(timeout "$DOWNLOAD_TIMEOUT" "$SETUP_ENVTEST" use "${K8S_VERSION%.*}.x" --bin-dir "$CACHE_ROOT" -p path 2>/dev/null) &&
    ready "$dir" kube-apiserver etcd; then
    say "downloaded by setup-envtest into $dir"
    echo "$dir"
    exit 0
  fi
  say "setup-envtest could not download (offline?)"
fi

build_into_cache "${base_bins[@]}"
say "built the envtest binaries into $BUILD_DIR"
echo "$BUILD_DIR"
