# Builds the atlas-issuer manager: a static binary on a distroless base that
# runs as a non-root user, with no shell or package manager to exploit.
# `make image` builds the same image without Docker; the build flags, user
# and labels here must match hack/build.env (test/chart checks them).
#
#   docker build -t atlas-issuer --build-arg VERSION=$(git describe --tags --always --dirty) --build-arg REVISION=$(git rev-parse HEAD) .

FROM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /workspace
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
# CGO_ENABLED=0: the distroless static image has no libc.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X github.com/globalsign/atlas-issuer/internal/version.Version=${VERSION} -X github.com/globalsign/atlas-issuer/internal/version.Revision=${REVISION}" -o /out/manager .

FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="atlas-issuer" \
      org.opencontainers.image.description="cert-manager external issuer for GlobalSign Atlas HVCA" \
      org.opencontainers.image.url="https://github.com/globalsign/atlas-issuer" \
      org.opencontainers.image.source="https://github.com/globalsign/atlas-issuer" \
      org.opencontainers.image.vendor="GlobalSign" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /
COPY --from=builder /out/manager /manager
# Numeric, so that Kubernetes can verify runAsNonRoot without reading
# /etc/passwd.
USER 65532:65532
ENTRYPOINT ["/manager"]
