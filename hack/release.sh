#!/usr/bin/env bash
# Publishes a release: pushes the image make image built, packages the chart
# pinned to the pushed digest and pushes it with helm, and builds the
# kubectl-atlas archives, SHA256SUMS and the krew manifest into
# RELEASE_DIR. Run it through `make release REGISTRY=... VERSION=...`.
#
#   REGISTRY      where the image (REGISTRY/atlas-issuer:VERSION) and the
#                 chart (oci://REGISTRY/charts/atlas-issuer) go
#   VERSION       v-prefixed semantic version, e.g. v0.2.0; the chart's
#                 version is the same without the v
#   PLAIN_HTTP=1  talk to the registry over HTTP (a local test registry)
#   RELEASE_URL   where the archives will be downloadable, for the krew
#                 manifest (default: the GitHub release of VERSION)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for v in REGISTRY VERSION REVISION GO_BUILD_FLAGS GO_LDFLAGS VERSION_PACKAGE IMAGE_SOURCE IMAGE_URL PLUGIN_PLATFORMS; do
  [ -n "${!v:-}" ] || { echo "hack/release.sh: $v is not set; run make release REGISTRY=... VERSION=..." >&2; exit 2; }
done
if ! [[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "hack/release.sh: VERSION=$VERSION is not a v-prefixed semantic version (vX.Y.Z[-pre])" >&2
  exit 2
fi
image_dir=${IMAGE_DIR:-$root/bin/image}
out=${RELEASE_DIR:-$root/bin/release}
helm=${HELM:-$root/bin/helm}
registry=${REGISTRY%/}
release_url=${RELEASE_URL:-$IMAGE_SOURCE/releases/download/$VERSION}
helm_flags=()
[ "${PLAIN_HTTP:-}" = 1 ] && helm_flags+=(--plain-http)
rel() { go run ./hack/release "$@"; }

rm -rf "$out"
mkdir -p "$out"

echo "==> pushing $registry/atlas-issuer:$VERSION" >&2
digest=$(rel push-image --layout "$image_dir" --ref "$registry/atlas-issuer:$VERSION")
[ "$digest" = "$(cat "$image_dir/digest")" ] || { echo "pushed $digest, but $image_dir/digest says otherwise" >&2; exit 1; }
echo "$registry/atlas-issuer@$digest" > "$out/image"

echo "==> packaging the chart $VERSION pinned to $digest" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a charts/atlas-issuer "$work/"
rel chart-values --values "$work/atlas-issuer/values.yaml" --repository "$registry/atlas-issuer" --digest "$digest"
"$helm" package "$work/atlas-issuer" --version "${VERSION#v}" --app-version "$VERSION" -d "$out" >&2
echo "==> pushing the chart to oci://$registry/charts" >&2
"$helm" push "${helm_flags[@]}" "$out/atlas-issuer-${VERSION#v}.tgz" "oci://$registry/charts" >&2

ldflags="$GO_LDFLAGS -X $VERSION_PACKAGE.Version=$VERSION -X $VERSION_PACKAGE.Revision=$REVISION"
# shellcheck disable=SC2086 # PLUGIN_PLATFORMS is a list of platforms.
for p in $PLUGIN_PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  exe=kubectl-atlas
  ext=tar.gz
  [ "$os" = windows ] && exe=kubectl-atlas.exe ext=zip
  echo "==> kubectl-atlas for $p" >&2
  # shellcheck disable=SC2086 # GO_BUILD_FLAGS is a list of flags.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build $GO_BUILD_FLAGS -ldflags "$ldflags" -o "$work/$p/$exe" ./cmd/kubectl-atlas
  rel archive --out "$out/kubectl-atlas_${VERSION}_${os}_${arch}.$ext" --file "$exe=$work/$p/$exe" --file "LICENSE=LICENSE"
done
rel krew --dir "$out" --version "$VERSION" --url-prefix "$release_url" --homepage "$IMAGE_URL" --out "$out/atlas.yaml"
echo "==> release $VERSION: $registry/atlas-issuer@$digest, oci://$registry/charts/atlas-issuer ${VERSION#v}, $out" >&2
