#!/usr/bin/env bash
# Builds the project's tools from Go modules into bin/, each only when it is
# missing or its pin changed. Nothing here downloads a release binary: this
# project must build on machines that reach only a Go module proxy.
#
#   hack/tools.sh envtest         bin/k8s/{kube-apiserver,etcd,kubectl}, bin/kubectl
#   hack/tools.sh cluster         bin/k8s/{kubelet,kube-controller-manager,
#                                 kube-scheduler,kube-proxy} and bin/coredns for the
#                                 single-node test cluster (hack/cluster.sh)
#   hack/tools.sh helm            bin/helm
#   hack/tools.sh controller-gen  bin/controller-gen
#   hack/tools.sh golangci-lint   bin/golangci-lint
#
# Pins: Kubernetes, etcd and CoreDNS in hack/tools/{k8s,etcd,coredns}/go.mod (regenerate the
# Kubernetes one with hack/tools/k8s/update.sh); the others below.
set -euo pipefail

HELM_VERSION=v3.22.0
CONTROLLER_GEN_VERSION=v0.23.0
GOLANGCI_LINT_VERSION=v2.15.0

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
stamps=$bin/.stamps
mkdir -p "$stamps"

# fresh NAME KEY: true when bin/.stamps/NAME already records KEY.
fresh() { [ -f "$stamps/$1" ] && [ "$(cat "$stamps/$1")" = "$2" ]; }
stamp() { printf '%s' "$2" > "$stamps/$1"; }
say() { printf '==> %s\n' "$*" >&2; }

modkey() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-16; }

# k8s_ldflags prints the -ldflags that stamp the Kubernetes version into a
# component; without them it reports v0.0.0-master.
k8s_ldflags() {
  local kver; kver=$(cd "$root/hack/tools/k8s" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  local major=${kver#v}; major=${major%%.*}
  local minor=${kver#v*.}; minor=${minor%%.*}
  local ld="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld="$ld -X $pkg.gitVersion=$kver -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s' "$ld"
}

# k8s_key: the Kubernetes release the wrapper module was generated for. The
# module's other lines follow from it (update.sh), and adding a command to its
# tools.go must not rebuild the ones already built.
k8s_key() { (cd "$root/hack/tools/k8s" && go list -m -f '{{.Version}}' k8s.io/kubernetes); }

build_envtest() {
  local kdir=$root/hack/tools/k8s edir=$root/hack/tools/etcd out=$bin/k8s
  local key; key="$(k8s_key)-$(modkey "$edir")"
  if fresh envtest "$key" && [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ] && [ -x "$out/kubectl" ]; then
    return 0
  fi
  mkdir -p "$out"
  local kver; kver=$(k8s_key)
  local ld; ld=$(k8s_ldflags)
  say "building kube-apiserver $kver from source (first time: about 4 minutes)"
  (cd "$kdir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  say "building kubectl $kver from source"
  (cd "$kdir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl)
  local ever; ever=$(cd "$edir" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
  say "building etcd $ever from source"
  (cd "$edir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  ln -sf k8s/kubectl "$bin/kubectl"
  stamp envtest "$key"
}

# build_cluster builds the node components of hack/cluster.sh's single-node
# cluster from the same wrapper modules (kubelet alone takes about 4 minutes
# the first time).
build_cluster() {
  local kdir=$root/hack/tools/k8s cdir=$root/hack/tools/coredns out=$bin/k8s
  local key; key="$(k8s_key)-$(modkey "$cdir")"
  local cmds="kubelet kube-controller-manager kube-scheduler kube-proxy" c missing=
  for c in $cmds; do [ -x "$out/$c" ] || missing=1; done
  if fresh cluster "$key" && [ -z "$missing" ] && [ -x "$bin/coredns" ]; then
    return 0
  fi
  local ld; ld=$(k8s_ldflags)
  for c in $cmds; do
    say "building $c $(k8s_key) from source"
    (cd "$kdir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out/$c" "k8s.io/kubernetes/cmd/$c")
  done
  local cver; cver=$(cd "$cdir" && go list -m -f '{{.Version}}' github.com/coredns/coredns)
  say "building coredns $cver from source"
  (cd "$cdir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/coredns" github.com/coredns/coredns)
  stamp cluster "$key"
}

build_helm() {
  fresh helm "$HELM_VERSION" && [ -x "$bin/helm" ] && return 0
  # Without these, helm template and helm lint assume Kubernetes 1.20.
  local kver; kver=$(cd "$root/hack/tools/k8s" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  local major=${kver#v}; major=${major%%.*}
  local minor=${kver#v*.}; minor=${minor%%.*}
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ld="$ld -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
  done
  say "building helm $HELM_VERSION from source"
  GOBIN=$bin CGO_ENABLED=0 go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  stamp helm "$HELM_VERSION"
}

build_goinstall() { # NAME PACKAGE VERSION
  fresh "$1" "$3" && [ -x "$bin/$1" ] && return 0
  say "building $1 $3"
  GOBIN=$bin CGO_ENABLED=0 go install -trimpath "$2@$3"
  stamp "$1" "$3"
}

for tool in "$@"; do
  case $tool in
    envtest) build_envtest ;;
    cluster) build_cluster ;;
    helm) build_helm ;;
    controller-gen) build_goinstall controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen "$CONTROLLER_GEN_VERSION" ;;
    golangci-lint) build_goinstall golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION" ;;
    *) echo "hack/tools.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
done
