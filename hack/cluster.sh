#!/usr/bin/env bash
# A single-node Kubernetes cluster for the test suites, built from Go modules
# and Debian's containerd, runc and CNI plugins. Needs root.
#
#   hack/cluster.sh up       start it (about 15 s once bin/ is built)
#   hack/cluster.sh down     stop it and put the host back as `up` found it
#   hack/cluster.sh check    fail when anything of a cluster is left on the host
#   hack/cluster.sh image REF ENTRYPOINT BINARY   build a one-binary image, import it
#   hack/cluster.sh guard    print the count of the off-node packet guard
#   hack/cluster.sh env      print KUBECONFIG=... for this cluster
#
# Everything lives under bin/cluster/. Only one cluster runs on a host at a
# time: the bridge, the kubepods cgroups and kubelet's fixed paths are
# host-wide. `up` records what the host looked like before (host.before), the
# PIDs it started (pids/), and `down` restores that, stopping only those PIDs.
#
# Pod traffic stays on the machine: pods resolve names only through the
# cluster's CoreDNS, which forwards nothing, and the nft table atlas_guard
# counts and drops every packet that arrives from the pod bridge and would be
# forwarded anywhere but back to the bridge (Service addresses are already
# translated to pod or node addresses when the forward hook sees a packet;
# packets to the node itself are never forwarded).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
k8s=$bin/k8s
dir=${CLUSTER_DIR:-$bin/cluster}
lockdir=/run/atlas-issuer-cluster.lock

bridge=atlas0
bridge_ip=10.244.0.1
pod_cidr=10.244.0.0/24
svc_cidr=10.96.0.0/16
api_svc_ip=10.96.0.1
dns_ip=10.96.0.10
node=atlas-node
# Fixed ports below the kernel's ephemeral range, on the bridge address: they
# clash neither with each other nor with envtest's loopback servers.
etcd_port=26379
etcd_peer_port=26380
api_port=26443
guard_table=atlas_guard

# Sysctls the node's components write (kubelet's kernel defaults, the bridge
# plugin's ip_forward); `down` writes back the values `up` found.
sysctls=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic
  kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Host paths that the node creates outside bin/cluster; `down` removes those
# that did not exist before `up`.
host_paths=(/var/lib/cni /var/lib/kubelet /var/log/containers /var/log/pods
  /run/containerd /run/netns /etc/cni /opt/cni /opt/containerd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'hack/cluster.sh: %s\n' "$*" >&2; exit 1; }
kctl() { "$k8s/kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }

# ensure_packages installs the Debian packages the node runs on, once.
ensure_packages() {
  local missing=() p
  for p in containerd runc containernetworking-plugins iptables conntrack nftables; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# snapshot prints the host state that a cluster touches, one fact a line, so
# that `check` can compare the host after `down` with the host before `up`.
snapshot() {
  local s p t
  for s in "${sysctls[@]}"; do printf 'sysctl %s=%s\n' "$s" "$(sysctl -n "$s")"; done
  for p in "${host_paths[@]}"; do [ -e "$p" ] && printf 'path %s\n' "$p"; done
  nft list tables 2>/dev/null | sed -n 's/^table /nft /p'
  ip -o link show "$bridge" >/dev/null 2>&1 && printf 'link %s\n' "$bridge"
  { ls /run/netns 2>/dev/null || true; } | sed 's/^/netns /'
  { find /sys/fs/cgroup -maxdepth 2 -name 'kubepods*' 2>/dev/null || true; } | sed 's/^/cgroup /'
  awk -v d="$dir/" 'index($2, d) == 1 { print "mount " $2 }' /proc/self/mounts
  true
}

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# start NAME CMD...: runs CMD in the background with its log in logs/NAME.log
# and its PID in pids/NAME.
start() {
  local name=$1; shift
  "$@" >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name"
}

# stop NAME...: SIGTERM to the recorded PIDs at once, SIGKILL to those still
# running after 10 s.
stop() {
  local n pid pids=() i
  for n in "$@"; do
    [ -f "$dir/pids/$n" ] || continue
    pid=$(cat "$dir/pids/$n")
    pid_alive "$pid" && pids+=("$pid") && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  done
  return 0
}

wait_for() { # SECONDS WHAT CMD...
  local secs=$1 what=$2 i; shift 2
  for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out after ${secs}s waiting for $what (logs in $dir/logs)"
}

# certs makes the cluster CA and every certificate and kubeconfig.
certs() {
  local p=$dir/pki
  mkdir -p "$p"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=atlas-test-cluster-ca -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  leaf() { # NAME SUBJ EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
      -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
    openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
      -days 2 -extfile <(printf '%s\n' "$3") -out "$p/$1.crt" 2>/dev/null
  }
  leaf apiserver /CN=kube-apiserver "subjectAltName=IP:127.0.0.1,IP:$api_svc_ip,IP:$bridge_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  leaf admin "/O=system:masters/CN=atlas-admin" "extendedKeyUsage=clientAuth"
  leaf node "/O=system:nodes/CN=system:node:$node" "extendedKeyUsage=clientAuth"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$p/sa.key" 2>/dev/null
  openssl pkey -in "$p/sa.key" -pubout -out "$p/sa.pub"
  kubeconfig admin >"$dir/admin.kubeconfig"
  kubeconfig node >"$dir/node.kubeconfig"
}

kubeconfig() { # USER
  local p=$dir/pki
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: atlas-test
  cluster:
    server: https://$bridge_ip:$api_port
    certificate-authority-data: $(base64 -w0 <"$p/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 <"$p/$1.crt")
    client-key-data: $(base64 -w0 <"$p/$1.key")
contexts:
- name: atlas-test
  context: {cluster: atlas-test, user: $1}
current-context: atlas-test
EOF
}

# guard installs the nft table that counts and drops every packet from the
# pod bridge that would leave the node. It goes in before the bridge carries
# any pod, so no pod packet is ever forwarded off the machine.
guard() {
  nft -f - <<EOF
table inet $guard_table {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "$bridge" oifname != "$bridge" counter drop comment "pod traffic leaving the node"
  }
}
EOF
}

configs() {
  local c=$dir/containerd
  mkdir -p "$c" "$dir/cni" "$dir/logs" "$dir/pids" "$dir/pod-logs" "$dir/kubelet"
  # Pods with dnsPolicy Default get kubelet's resolvConf; left empty,
  # containerd would hand them the host's resolver instead.
  echo "nameserver $dns_ip" >"$dir/resolv.conf"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "atlas.test/pause:latest"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$c/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
EOF
  cat >"$dir/cni/10-atlas.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "atlas",
  "plugins": [{
    "type": "bridge",
    "bridge": "$bridge",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "$pod_cidr", "gateway": "$bridge_ip"}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": "$dir/cni-ipam"
    }
  }]
}
EOF
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$c/containerd.sock
failSwapOn: false
address: $bridge_ip
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [$dns_ip]
clusterDomain: cluster.local
resolvConf: $dir/resolv.conf
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/kubelet/volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {nodefs.available: "1%", imagefs.available: "1%", memory.available: "100Mi"}
serializeImagePulls: false
syncFrequency: 5s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 5s
EOF
  cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/admin.kubeconfig}
hostnameOverride: $node
mode: iptables
clusterCIDR: $pod_cidr
nodePortAddresses: [$pod_cidr]
iptables: {localhostNodePorts: false}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
healthzBindAddress: $bridge_ip:10256
metricsBindAddress: $bridge_ip:10249
EOF
}

# images builds and imports the node's own images: pause and CoreDNS.
images() {
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin/pause" ./hack/pause)
  build_image "$dir/images/pause" atlas.test/pause:latest /pause "$bin/pause"
  build_image "$dir/images/coredns" atlas.test/coredns:latest /coredns "$bin/coredns"
  import_images "$dir/images/pause/image.tar" "$dir/images/coredns/image.tar"
}

# build_image OUT REF ENTRYPOINT BINARY: a linux/amd64 image of a static
# binary, running as 65532, built by hack/image (`make image`'s builder) into
# OUT, with OUT/image.tar for containerd.
build_image() {
  local out=$1 ref=$2 entry=$3 binary=$4 tool=$dir/tools/image
  [ -x "$tool" ] || (cd "$root" && CGO_ENABLED=0 go build -o "$tool" ./hack/image)
  rm -rf "$out"
  "$tool" --out "$out" --name "${ref%:*}" --tag "$ref" --binary "linux/amd64=$binary" \
    --entrypoint "$entry" --user 65532:65532 >/dev/null
}

import_images() {
  local t
  for t in "$@"; do
    ctr --address "$dir/containerd/containerd.sock" -n k8s.io images import "$t" >/dev/null
  done
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root"
  for c in kube-apiserver etcd kubectl kubelet kube-controller-manager kube-scheduler kube-proxy; do
    [ -x "$k8s/$c" ] || die "$k8s/$c is missing: run 'hack/tools.sh envtest cluster'"
  done
  [ -x "$bin/coredns" ] || die "$bin/coredns is missing: run 'hack/tools.sh cluster'"
  ensure_packages
  mkdir "$lockdir" 2>/dev/null || die "a cluster is already running ($(cat "$lockdir/owner" 2>/dev/null)); stop it with its 'hack/cluster.sh down'"
  echo "$dir" >"$lockdir/owner"
  local t0=$SECONDS
  [ -e "$dir/host.before" ] && { rm -rf "$lockdir"; die "$dir holds an earlier cluster: run 'hack/cluster.sh down' first"; }
  rm -rf "$dir" && mkdir -p "$dir"
  snapshot >"$dir/host.before"
  # A failed start leaves nothing behind either.
  trap 'say "up failed: tearing down"; down' EXIT
  grep -q "^link $bridge$" "$dir/host.before" && die "a link named $bridge already exists"
  ip route | grep -qE "^(${pod_cidr%/*}|${svc_cidr%/*})" && die "$pod_cidr or $svc_cidr is routed already"
  configs
  certs
  guard
  ip link add "$bridge" type bridge
  ip addr add "$bridge_ip/24" dev "$bridge"
  ip link set "$bridge" up
  # A Service address that kube-proxy has not programmed yet goes to the
  # bridge, never out through the host's default route.
  ip route add "$svc_cidr" dev "$bridge"

  say "starting etcd, kube-apiserver and containerd"
  start etcd "$k8s/etcd" --data-dir "$dir/etcd" --name atlas-test \
    --listen-client-urls "http://$bridge_ip:$etcd_port" --advertise-client-urls "http://$bridge_ip:$etcd_port" \
    --listen-peer-urls "http://$bridge_ip:$etcd_peer_port" --initial-advertise-peer-urls "http://$bridge_ip:$etcd_peer_port" \
    --initial-cluster "atlas-test=http://$bridge_ip:$etcd_peer_port" --unsafe-no-fsync --log-level warn
  local p=$dir/pki
  start kube-apiserver "$k8s/kube-apiserver" --etcd-servers "http://$bridge_ip:$etcd_port" \
    --bind-address "$bridge_ip" --advertise-address "$bridge_ip" --secure-port "$api_port" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
    --authorization-mode Node,RBAC --service-cluster-ip-range "$svc_cidr" --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --kubelet-client-certificate "$p/admin.crt" --kubelet-client-key "$p/admin.key" \
    --kubelet-preferred-address-types InternalIP --endpoint-reconciler-type lease
  start containerd containerd --config "$dir/containerd/config.toml"
  wait_for 60 "the API server" kctl get --raw /readyz
  wait_for 30 "containerd" ctr --address "$dir/containerd/containerd.sock" version

  say "starting kubelet, controller-manager, scheduler and kube-proxy"
  start kubelet "$k8s/kubelet" --config "$dir/kubelet.yaml" --kubeconfig "$dir/node.kubeconfig" \
    --root-dir "$dir/kubelet" --hostname-override "$node" --node-ip "$bridge_ip"
  start kube-controller-manager "$k8s/kube-controller-manager" --kubeconfig "$dir/admin.kubeconfig" \
    --authentication-kubeconfig "$dir/admin.kubeconfig" --authorization-kubeconfig "$dir/admin.kubeconfig" \
    --bind-address "$bridge_ip" --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" --controllers '*'
  start kube-scheduler "$k8s/kube-scheduler" --kubeconfig "$dir/admin.kubeconfig" \
    --authentication-kubeconfig "$dir/admin.kubeconfig" --authorization-kubeconfig "$dir/admin.kubeconfig" \
    --bind-address "$bridge_ip" --leader-elect=false
  start kube-proxy "$k8s/kube-proxy" --config "$dir/kube-proxy.yaml"
  images
  wait_for 30 "the node" kctl wait --for=condition=Ready "node/$node" --timeout=1s

  say "starting CoreDNS"
  sed -e "s|__IMAGE__|atlas.test/coredns:latest|" -e "s|__DNS_IP__|$dns_ip|" "$root/hack/cluster/coredns.yaml" | kctl apply -f - >/dev/null
  wait_for 60 "CoreDNS" kctl -n kube-system rollout status deploy/coredns --timeout=1s
  trap - EXIT
  say "cluster up in $((SECONDS - t0))s: export KUBECONFIG=$dir/admin.kubeconfig"
}

down() {
  [ -f "$dir/host.before" ] || { say "no cluster in $dir"; return 0; }
  local t0=$SECONDS
  if pid_alive "$(cat "$dir/pids/kube-apiserver" 2>/dev/null)"; then
    # Pods first, while kubelet still runs, so their sandboxes go cleanly.
    kctl delete namespaces --all --wait=false >/dev/null 2>&1 || true
    kctl -n kube-system delete deploy --all --wait=false >/dev/null 2>&1 || true
    kctl delete pods -A --all --grace-period=1 --wait=false >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 100; i++)); do
      [ -z "$(kctl get pods -A -o name 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  local n
  stop kube-proxy kube-scheduler kube-controller-manager kubelet
  # What the pods left: their sandboxes' shims, network namespaces, mounts.
  local sock=$dir/containerd/containerd.sock
  if pid_alive "$(cat "$dir/pids/containerd" 2>/dev/null)"; then
    local ids
    ids=$(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null || true)
    for n in $ids; do ctr --address "$sock" -n k8s.io tasks kill -s KILL "$n" >/dev/null 2>&1 || true; done
    for n in $ids; do ctr --address "$sock" -n k8s.io tasks delete -f "$n" >/dev/null 2>&1 || true; done
  fi
  stop containerd
  # Shims that outlived containerd are ours when they serve our state dir.
  local pid
  for pid in $(pgrep -f containerd-shim-runc-v2 || true); do
    grep -qz -- "$dir/containerd" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-address $sock" && kill -KILL "$pid" 2>/dev/null || true
  done
  # etcd only after the API server: stopped together, the API server hangs.
  stop kube-apiserver
  stop etcd

  # Network namespaces the pods had, and every mount under our folder.
  for n in /run/netns/cni-*; do
    [ -e "$n" ] || continue
    grep -qx "netns ${n#/run/netns/}" "$dir/host.before" && continue
    umount "$n" 2>/dev/null || true
    rm -f "$n"
  done
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # kubepods cgroups, deepest first, in every hierarchy.
  local cg
  for cg in /sys/fs/cgroup/*/kubepods*; do
    [ -d "$cg" ] || continue
    grep -qx "cgroup $cg" "$dir/host.before" && continue
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  # nft tables that were not there before and are the node's: kubelet's and
  # kube-proxy's (through iptables-nft), and the guard. Others are not ours
  # to delete; check reports them.
  local t
  nft list tables | sed -n 's/^table //p' | grep -E "^((ip|ip6) (filter|nat|mangle|kube-proxy)|inet $guard_table)\$" |
    while read -r t; do
      grep -qx "nft $t" "$dir/host.before" || nft delete table $t
    done
  ip link del "$bridge" 2>/dev/null || true
  local line s v
  while read -r line; do
    case $line in sysctl\ *) s=${line#sysctl }; v=${s#*=}; s=${s%%=*}
      [ "$(sysctl -n "$s")" = "$v" ] || sysctl -qw "$s=$v" ;; esac
  done <"$dir/host.before"
  for n in "${host_paths[@]}"; do
    grep -qx "path $n" "$dir/host.before" || rm -rf "$n"
  done
  mv "$dir/host.before" "$dir/host.before.done"
  rm -rf "$lockdir"
  say "cluster down in $((SECONDS - t0))s"
}

# check fails, listing each leftover, when the host differs from what the last
# `up` recorded, or a PID it started still runs.
check() {
  local before=$dir/host.before.done
  [ -f "$dir/host.before" ] && die "the cluster in $dir is still up"
  [ -f "$before" ] || die "no record of a cluster in $dir"
  local bad=0 f pid
  while read -r line; do
    printf 'leftover: %s\n' "$line" >&2
    bad=1
  done < <(diff <(sort "$before") <(snapshot | sort) | sed -n 's/^> //p; s/^< \(.*\)/\1 (was so before)/p')
  for f in "$dir"/pids/*; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    pid_alive "$pid" && { printf 'leftover: process %s (%s)\n' "$pid" "${f##*/}" >&2; bad=1; }
  done
  pgrep -f containerd-shim-runc-v2 >/dev/null 2>&1 && for pid in $(pgrep -f containerd-shim-runc-v2); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$dir/containerd" &&
      { printf 'leftover: shim %s\n' "$pid" >&2; bad=1; }
  done
  [ -d "$lockdir" ] && { printf 'leftover: lock %s\n' "$lockdir" >&2; bad=1; }
  [ $bad = 0 ] || return 1
  echo "host clean"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  check) check ;;
  image)
    [ $# = 4 ] || die "usage: hack/cluster.sh image REF ENTRYPOINT BINARY"
    out=$dir/images/$(basename "$2" | tr : -)
    build_image "$out" "$2" "$3" "$4"
    import_images "$out/image.tar" ;;
  guard) nft list table inet "$guard_table" | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' ;;
  env) echo "KUBECONFIG=$dir/admin.kubeconfig" ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
