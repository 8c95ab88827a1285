# atlas-issuer: a cert-manager external issuer for GlobalSign Atlas HVCA.
# The README's two commands are `make demo` and `make test`; every tool they
# need is built from Go modules into bin/ by hack/tools.sh on first use.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

BIN := $(CURDIR)/bin
GO ?= go
# envtest reads its kube-apiserver and etcd from here.
export KUBEBUILDER_ASSETS := $(BIN)/k8s
# Race detection on two cores roughly doubles test time; CI keeps it on.
GOTEST_FLAGS ?= -race -count=1

UNIT_PKGS = . ./api/... ./internal/... ./controllers/... ./hack/fake-atlas/... ./hack/image/... ./hack/release/...

##@ Build
.PHONY: build
build: ## Build the manager binary into bin/manager.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/manager .

.PHONY: fake-atlas
fake-atlas: ## Build the standalone fake Atlas into bin/fake-atlas.
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/fake-atlas ./hack/fake-atlas

##@ Tools (built from source, cached in bin/ by version)
.PHONY: tools envtest cluster-tools helm controller-gen golangci-lint
tools: ## Build every tool.
	hack/tools.sh envtest cluster helm controller-gen golangci-lint
envtest: ## kube-apiserver, etcd and kubectl into bin/k8s.
	hack/tools.sh envtest
cluster-tools: envtest ## kubelet, controller-manager, scheduler, kube-proxy into bin/k8s and CoreDNS into bin/ (for test-cluster).
	hack/tools.sh cluster
helm: ## helm into bin/helm.
	hack/tools.sh helm
controller-gen:
	hack/tools.sh controller-gen
golangci-lint:
	hack/tools.sh golangci-lint

##@ Generated code
.PHONY: generate manifests verify-generated
generate: controller-gen ## Regenerate deepcopy code and the apply configurations (api/applyconfiguration).
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt applyconfiguration:headerFile=hack/boilerplate.go.txt paths=./api/...
manifests: controller-gen ## Regenerate CRDs, the manager ClusterRole, and the chart's CRDs, schema and README.
	$(BIN)/controller-gen rbac:roleName=manager-role crd paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/sync-chart-crds.sh
	$(GO) run ./hack/chart-docs
verify-generated: generate manifests ## Fail when committed generated files are stale.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
		git status --porcelain -- api config charts; \
		echo "generated files are stale: run 'make generate manifests' and commit the result" >&2; exit 1; fi

##@ Checks
.PHONY: fmt lint
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')
# goheader's template is hack/boilerplate.go.txt without its comment
# delimiters and with the year free, so the header has one source.
lint: golangci-lint ## gofmt and golangci-lint (.golangci.yml) on both modules.
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
		if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted" >&2; exit 1; fi
	sed -e '1d;$$d' -e 's/Copyright [0-9]\{4\}/Copyright {{ COPYRIGHT-YEAR }}/' hack/boilerplate.go.txt > $(BIN)/goheader.tmpl
	$(BIN)/golangci-lint run --allow-serial-runners --config $(CURDIR)/.golangci.yml ./...
	cd test/e2e && $(BIN)/golangci-lint run --allow-serial-runners --config $(CURDIR)/.golangci.yml ./...
	hack/lint-comments.sh $$(git ls-files -co --exclude-standard '*.go')
	hack/lint-control.sh

##@ Tests
.PHONY: test test-unit test-integration test-e2e demo
test: verify-generated lint test-unit test-e2e-unit test-integration test-plugin test-chart test-release test-e2e test-cluster ## Everything: generated files, linters, unit, integration, end-to-end and single-node cluster suites.
	@echo "make test: all suites passed"
test-unit: ## Unit tests (no API server).
	$(GO) test $(GOTEST_FLAGS) $(UNIT_PKGS)
test-integration: envtest ## envtest suites: real API server, cert-manager CRDs, fake Atlas.
	$(GO) test $(GOTEST_FLAGS) ./test/integration/... -ginkgo.v
# The end-to-end module's own unit tests (the benchmark's and the chaos
# runs' measuring code) need no API server; no -race, for the same reason as
# the chart tests: the race build of cert-manager's packages costs more than
# the tests.
E2E_UNIT_GOTEST_FLAGS ?= -count=1
.PHONY: test-e2e-unit
test-e2e-unit: ## Unit tests of the benchmark, chaos and framework packages (test/e2e).
	cd test/e2e && $(GO) test $(E2E_UNIT_GOTEST_FLAGS) ./bench/... ./chaos/... ./framework/...
test-e2e: envtest ## End to end: cert-manager's own controllers, the manager and the fake Atlas as processes.
	cd test/e2e && $(GO) test -count=1 -timeout 30m ./suite/... -ginkgo.v

##@ Demo
demo: envtest ## Run everything locally and issue the sample Certificate (DEMO_KEEP=1 keeps it running).
	cd test/e2e && $(GO) run ./cmd/demo

.PHONY: clean
clean: ## Remove build output (keeps the tool cache in bin/k8s etc.).
	rm -f $(BIN)/manager $(BIN)/fake-atlas

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-20s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ kubectl plugin
.PHONY: kubectl-atlas test-plugin
kubectl-atlas: ## Build the kubectl plugin into bin/kubectl-atlas (put it on PATH to run `kubectl atlas`).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/kubectl-atlas ./cmd/kubectl-atlas
test-plugin: envtest ## kubectl-atlas against the fake Atlas and an envtest API server.
	$(GO) test $(GOTEST_FLAGS) ./internal/plugin/... ./test/plugin/...

##@ Chart, kustomize and Dockerfile
# No -race here: these tests drive helm, kubectl and an API server, and the
# race build of envtest's dependencies costs more than the tests themselves.
CHART_GOTEST_FLAGS ?= -count=1
.PHONY: test-chart
test-chart: envtest helm ## Helm chart, kustomize and Dockerfile checks; the chart's RBAC proven on envtest.
	HELM=$(BIN)/helm KUBECTL=$(BIN)/kubectl $(GO) test $(CHART_GOTEST_FLAGS) ./test/chart/...

##@ Benchmarks
.PHONY: bench
bench: envtest ## Benchmarks against cert-manager's CA issuer on the e2e setup; writes bin/bench/report.{json,md} and throughput.png (BENCH_QUICK=1: within 10 minutes).
	cd test/e2e && $(GO) run ./cmd/bench

##@ Reliability
# Each fuzz target runs this long; the issue asks for a minute each.
FUZZTIME ?= 60s
.PHONY: test-chaos
test-chaos: envtest ## Fuzz CSR mapping, Atlas answers and Secret parsing, then faults, kills, bad input and secret canaries end to end (bin/chaos/report.json).
	$(GO) test -run='^$$' -fuzz='^FuzzMap$$' -fuzztime=$(FUZZTIME) ./internal/issuance
	$(GO) test -run='^$$' -fuzz='^FuzzResponse$$' -fuzztime=$(FUZZTIME) ./internal/atlas
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/credentials
	cd test/e2e && $(GO) run ./cmd/chaos

##@ Image and release
# Build flags, platforms, user and labels: hack/build.env, shared with the
# Dockerfile. The version comes from git; a tree without git builds "dev".
include hack/build.env
export GO_BUILD_FLAGS GO_LDFLAGS VERSION_PACKAGE IMAGE_REPOSITORY IMAGE_PLATFORMS PLUGIN_PLATFORMS IMAGE_ENTRYPOINT IMAGE_USER \
	IMAGE_TITLE IMAGE_DESCRIPTION IMAGE_URL IMAGE_SOURCE IMAGE_VENDOR IMAGE_LICENSES
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
ifeq ($(origin REVISION),undefined)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
endif
# The commit time, so that two builds of one commit give the same image.
ifeq ($(origin SOURCE_DATE_EPOCH),undefined)
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
endif
export VERSION REVISION SOURCE_DATE_EPOCH
VERSION_LDFLAGS = -X $(VERSION_PACKAGE).Version=$(VERSION) -X $(VERSION_PACKAGE).Revision=$(REVISION)
.PHONY: image
image: ## Build the manager image for IMAGE_PLATFORMS without Docker: bin/image/ (OCI layout), bin/image/digest, bin/image/image.tar.
	hack/image.sh
.PHONY: release test-release
release: image helm ## Publish: make release REGISTRY=ghcr.io/globalsign VERSION=v0.2.0 (docs/release.md); archives, SHA256SUMS and krew manifest in bin/release.
	hack/release.sh
# The release suite builds the image again, and once more as another
# version, to prove the build reproducible: for every platform in
# IMAGE_PLATFORMS, unless RELEASE_REPRODUCE_PLATFORMS names fewer. make test
# names the host's platform alone, which halves what it builds twice; make
# test-release on its own rebuilds them all.
#
# Every platform of the plugin is a build of all its dependencies for
# another GOOS/GOARCH, minutes each with an empty Go cache. make test
# releases the plugin for the image's two platforms, whose builds it shares,
# and windows/amd64 (the .exe in a zip); make test-release releases all of
# PLUGIN_PLATFORMS.
RELEASE_REPRODUCE_PLATFORMS ?=
RELEASE_PLUGIN_PLATFORMS ?=
test: RELEASE_REPRODUCE_PLATFORMS = linux/$(shell $(GO) env GOHOSTARCH)
test: RELEASE_PLUGIN_PLATFORMS = linux/amd64 linux/arm64 windows/amd64
test-release: helm ## Release into a registry the test starts on 127.0.0.1 and check every artifact pulled back; then rebuild the image for RELEASE_REPRODUCE_PLATFORMS (default: all) to prove it reproducible. RELEASE_PLUGIN_PLATFORMS: release the plugin for fewer platforms.
	hack/deb.sh /usr/bin/containerd containerd
	RELEASE_REPRODUCE_PLATFORMS='$(RELEASE_REPRODUCE_PLATFORMS)' RELEASE_PLUGIN_PLATFORMS='$(RELEASE_PLUGIN_PLATFORMS)' \
		$(GO) test -count=1 -timeout 60m ./test/release/... -v -run TestRelease

##@ Single-node cluster (root only: containerd, runc and CNI from Debian's packages)
.PHONY: cluster-up cluster-down test-cluster demo-cluster
cluster-up: cluster-tools ## Start the single-node cluster of hack/cluster.sh (KUBECONFIG=bin/cluster/admin.kubeconfig).
	hack/cluster.sh up
cluster-down: ## Stop it and check that the host is as it was.
	hack/cluster.sh down
	hack/cluster.sh check
test-cluster: cluster-tools helm ## The manager's image installed with helm into a real single-node cluster (bin/cluster/report.json).
	cd test/e2e && $(GO) test -count=1 -timeout 20m ./cluster/... -v
demo-cluster: cluster-tools helm ## The same stack, left running for you to explore (prints a kubeconfig and commands; stop with make cluster-down).
	cd test/e2e && CLUSTER_DEMO=1 $(GO) test -count=1 -timeout 10m ./cluster/... -v -run 'TestCluster$$'
