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

base_bins=(kube-apiserver etcd kubectl)
cluster_bins=(kube-controller-manager kube-scheduler kubemark)

has_all() { # dir bin...
  local dir=$1; shift
  [[ -n "$dir" && -d "$dir" ]] || return 1
  local b
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
}

# Builds the named binaries into BUILD_DIR from the pinned tool modules.
build_into_cache() {
  mkdir -p "$BUILD_DIR"
  local k8s_pkgs=() b missing_etcd=false
  for b in "$@"; do
    [[ -x "$BUILD_DIR/$b" ]] && continue
    if [[ "$b" == etcd ]]; then missing_etcd=true; else k8s_pkgs+=("k8s.io/kubernetes/cmd/$b"); fi
  done
  local tmp
  tmp=$(mktemp -d "$BUILD_DIR/.build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  if ((${#k8s_pkgs[@]})); then
    say "building ${k8s_pkgs[*]##*/} v${K8S_VERSION} from the Go module proxy (several minutes, once)"
    (cd "$ROOT/hack/tools/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/" "${k8s_pkgs[@]}")
  fi
  if $missing_etcd; then
    say "building etcd from the Go module proxy"
    (cd "$ROOT/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  fi
  # Move into place only once complete, so an interrupted build never leaves a
  # half-written binary in the cache.
  local f
  for f in "$tmp"/*; do [[ -e "$f" ]] && mv -f "$f" "$BUILD_DIR/"; done
  return 0
}

if $cluster; then
  if has_all "$BUILD_DIR" "${base_bins[@]}" "${cluster_bins[@]}"; then
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
  say "using the setup-envtest cache at $BUILD_DIR"
  echo "$BUILD_DIR"
  exit 0
fi

# Any other cached 1.x release that setup-envtest downloaded earlier.
for d in $(ls -d "$CACHE_ROOT"/k8s/*-"$GOOS-$GOARCH" 2>/dev/null | sort -rV); do
  if has_all "$d" "${base_bins[@]}"; then
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
    has_all "$dir" kube-apiserver etcd; then
    say "downloaded by setup-envtest into $dir"
    echo "$dir"
    exit 0
  fi
  say "setup-envtest could not download (offline?)"
fi

build_into_cache "${base_bins[@]}"
say "built the envtest binaries into $BUILD_DIR"
echo "$BUILD_DIR"
