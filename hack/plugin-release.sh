#!/usr/bin/env bash
# Builds the release archives of the kubectl plugin for krew and writes the
# krew manifest with their sha256:
#
#   hack/plugin-release.sh v0.1.0     (make plugin-release VERSION=v0.1.0)
#
# For each platform of PLATFORMS (default: linux and darwin, amd64 and
# arm64) it builds cmd/kubectl-license statically and packs it with
# kubectl_complete-license into dist/plugin/kubectl-license_<os>_<arch>.tar.gz
# (reproducible: sorted names, fixed times and owners; GNU tar). Then it
# writes dist/plugin/license.yaml: plugins/license.yaml with the version and
# each archive's sha256 in place of the placeholders. Platforms left out of
# PLATFORMS keep their placeholder, and the script says so.
set -euo pipefail

VERSION=${1:?usage: hack/plugin-release.sh VERSION (for example v0.1.0)}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/dist/plugin"
MANIFEST="$ROOT/plugins/license.yaml"
PLACEHOLDER_VERSION=v0.1.0

mkdir -p "$OUT"
declare -A SUMS
for p in $PLATFORMS; do
	os=${p%/*} arch=${p#*/}
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	echo "plugin-release: building $os/$arch" >&2
	(cd "$ROOT" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w" -o "$work/kubectl-license" ./cmd/kubectl-license)
	install -m 0755 "$ROOT/cmd/kubectl-license/kubectl_complete-license" "$work/kubectl_complete-license"
	archive="$OUT/kubectl-license_${os}_${arch}.tar.gz"
	tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - kubectl-license kubectl_complete-license | gzip -n >"$archive"
	SUMS["kubectl-license_${os}_${arch}.tar.gz"]=$(sha256sum "$archive" | cut -d' ' -f1)
	rm -rf "$work"
	trap - EXIT
done

# The manifest: the version everywhere, and each archive's sha256 on the
# line after its uri.
{
	archive=""
	while IFS= read -r line; do
		line=${line//$PLACEHOLDER_VERSION/$VERSION}
		if [[ $line =~ uri:\ .*/(kubectl-license_[a-z0-9]+_[a-z0-9]+\.tar\.gz)$ ]]; then
			archive=${BASH_REMATCH[1]}
		elif [[ $line =~ ^(\ *sha256:\ ) && -n $archive ]]; then
			if [[ -n ${SUMS[$archive]:-} ]]; then
				line="${BASH_REMATCH[1]}\"${SUMS[$archive]}\""
			else
				echo "plugin-release: $archive was not built (PLATFORMS): its sha256 stays a placeholder" >&2
			fi
			archive=""
		fi
		printf '%s\n' "$line"
	done <"$MANIFEST"
} >"$OUT/license.yaml"
echo "plugin-release: wrote $OUT/license.yaml and the archives; upload them to the release $VERSION" >&2
