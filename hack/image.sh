#!/usr/bin/env bash
# Builds the static manager for every platform in IMAGE_PLATFORMS into
# bin/manager-OS-ARCH and the multi-platform image from them into
# bin/image/ (OCI layout, digest, image.tar). Run it through `make image`,
# which passes hack/build.env's values and the version from git.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for v in VERSION REVISION SOURCE_DATE_EPOCH GO_BUILD_FLAGS GO_LDFLAGS VERSION_PACKAGE IMAGE_REPOSITORY \
  IMAGE_PLATFORMS IMAGE_ENTRYPOINT IMAGE_USER IMAGE_TITLE IMAGE_DESCRIPTION IMAGE_URL IMAGE_SOURCE IMAGE_VENDOR IMAGE_LICENSES; do
  [ -n "${!v:-}" ] || { echo "hack/image.sh: $v is not set; run make image" >&2; exit 2; }
done
out=${IMAGE_OUT:-$root/bin/image}

# The image carries Debian's CA bundle: the default Atlas URL is a public
# endpoint, and Go's crypto/x509 reads this file on Linux.
ca=/etc/ssl/certs/ca-certificates.crt
"$root/hack/deb.sh" "$ca" ca-certificates

ldflags="$GO_LDFLAGS -X $VERSION_PACKAGE.Version=$VERSION -X $VERSION_PACKAGE.Revision=$REVISION"
args=()
for p in $IMAGE_PLATFORMS; do
  os=${p%%/*} arch=${p#*/}
  bin=$root/bin/manager-$os-$arch
  echo "==> building the manager for $p" >&2
  # shellcheck disable=SC2086 # GO_BUILD_FLAGS is a list of flags.
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build $GO_BUILD_FLAGS -ldflags "$ldflags" -o "$bin" .
  args+=(--binary "$p=$bin")
done

echo "==> building the image into $out" >&2
go run ./hack/image --out "$out" --name "$IMAGE_REPOSITORY" --tag "$VERSION" \
  "${args[@]}" --entrypoint "$IMAGE_ENTRYPOINT" --user "$IMAGE_USER" --ca-bundle "$ca" --sbom \
  --created "$SOURCE_DATE_EPOCH" \
  --label "org.opencontainers.image.title=$IMAGE_TITLE" \
  --label "org.opencontainers.image.description=$IMAGE_DESCRIPTION" \
  --label "org.opencontainers.image.url=$IMAGE_URL" \
  --label "org.opencontainers.image.source=$IMAGE_SOURCE" \
  --label "org.opencontainers.image.vendor=$IMAGE_VENDOR" \
  --label "org.opencontainers.image.licenses=$IMAGE_LICENSES" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$REVISION"
