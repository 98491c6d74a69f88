#!/bin/bash
# The one-node Kubernetes cluster the Kubernetes runner's tests run against (`cargo xtask cluster`).
#
# No Kubernetes server is packaged for Debian bookworm, on PyPI or on npm, and envtest-style
# helpers download their binaries at run time. Debian's `kubernetes` source package (1.20.2, the
# source of kubernetes-client) holds the whole tree with its vendor/ folder, so the control plane
# and kubelet are built from it once, with Debian's Go, and kept under $KILN_K8S (default
# /var/tmp/kiln-k8s, outside the checkout; ~4 GB). etcd and dockerd are Debian's; the kubelet
# reaches dockerd through its built-in dockershim. Everything listens on 127.0.0.1 only, pods
# use the host network (there is no network plugin), and images come from dockerd's own store
# (there is no registry): the pause image is built from Kubernetes' own pause.c.
#
# usage: kiln-cluster.sh build|start|stop|status|load-image IMAGE
set -euo pipefail
ROOT=${KILN_K8S:-/var/tmp/kiln-k8s}
SRC=$ROOT/kubernetes-1.20.5+really1.20.2
BIN=$SRC/_output/bin
RUN=$ROOT/run
DOCKER=unix://$ROOT/docker/docker.sock
KUBECONFIG=$ROOT/kubeconfig
TOKEN=kiln-test-admin-token
export KUBECONFIG

log() { echo "kiln-cluster: $*" >&2; }

build() {
  if [ -x "$BIN/kubelet" ] && [ -x "$BIN/kube-apiserver" ]; then return; fi
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > /etc/apt/sources.list.d/kiln-deb-src.sources
    apt-get update -q
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dpkg-dev golang-go rsync jq gcc etcd-server docker.io openssl >&2
  mkdir -p "$ROOT"
  [ -d "$SRC" ] || (cd "$ROOT" && apt-get source -q kubernetes >&2)
  cd "$SRC"
  # This machine's bounding set lacks CAP_SYS_RESOURCE: runc cannot give a container a negative
  # oom_score_adj ("can't get final child's PID from pipe: EOF"), which the kubelet asks for
  # the pod sandbox (-998) and Guaranteed pods (-997).
  sed -i 's/defaultSandboxOOMAdj int = -998/defaultSandboxOOMAdj int = 0/' pkg/kubelet/dockershim/docker_sandbox.go
  sed -i 's/guaranteedOOMScoreAdj int = -997/guaranteedOOMScoreAdj int = 0/' pkg/kubelet/qos/policy.go
  export GOPATH=$SRC/.go CGO_ENABLED=0 GOCACHE=$ROOT/gocache HOME=$ROOT/home
  mkdir -p .go/src/k8s.io "$HOME"
  [ -L .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
  printf "KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_VERSION='v1.20.2'\nKUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='20'\n" > "$ROOT/version.env"
  export KUBE_GIT_VERSION_FILE=$ROOT/version.env
  log "building Kubernetes 1.20.2 from Debian's source package (about 10 minutes on 2 cores)"
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet" GOLDFLAGS="-s -w" >&2
}

docker_() { /usr/bin/docker -H "$DOCKER" "$@"; }

start_dockerd() {
  if docker_ info >/dev/null 2>&1; then return; fi
  mkdir -p "$ROOT/docker" "$RUN"
  nohup /usr/sbin/dockerd -H "$DOCKER" --data-root "$ROOT/docker/root" --exec-root "$ROOT/docker/exec" \
    --pidfile "$RUN/dockerd.pid" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --default-ulimit nofile=20000:20000 --exec-opt native.cgroupdriver=cgroupfs \
    --containerd-namespace kiln-k8s --containerd-plugins-namespace kiln-k8s-plugins \
    > "$ROOT/docker/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker_ info >/dev/null 2>&1 && return; sleep 0.5; done
  log "dockerd did not start: see $ROOT/docker/dockerd.log"; exit 1
}

pause_image() {
  if docker_ image inspect kiln.local/pause:3.2 >/dev/null 2>&1; then return; fi
  mkdir -p "$ROOT/pause/root"
  gcc -Os -static -o "$ROOT/pause/root/pause" "$SRC/build/pause/linux/pause.c" -DVERSION=3.2-kiln
  strip "$ROOT/pause/root/pause"
  tar -C "$ROOT/pause/root" -c . | docker_ import -c 'ENTRYPOINT ["/pause"]' - kiln.local/pause:3.2 >/dev/null
}

ready() { kubectl get --raw /readyz >/dev/null 2>&1 && kubectl get node kiln-node 2>/dev/null | grep -q ' Ready'; }

daemon() { # name, command...
  local name=$1; shift
  nohup "$@" > "$ROOT/log/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}

start() {
  build
  start_dockerd
  pause_image
  if [ -f "$KUBECONFIG" ] && ready; then log "running"; return; fi
  stop_cluster
  mkdir -p "$ROOT"/{pki,etcd,log,kubelet} "$RUN"
  [ -f "$ROOT/pki/sa.key" ] || { openssl genrsa -out "$ROOT/pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$ROOT/pki/sa.key" -pubout -out "$ROOT/pki/sa.pub" 2>/dev/null; }
  echo "$TOKEN,admin,admin,system:masters" > "$ROOT/pki/tokens.csv"
  cat > "$KUBECONFIG" <<KC
apiVersion: v1
kind: Config
clusters: [{name: kiln, cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: kiln, context: {cluster: kiln, user: admin, namespace: default}}]
current-context: kiln
KC
  daemon etcd etcd --name kiln --data-dir "$ROOT/etcd" --listen-client-urls http://127.0.0.1:12379 \
    --advertise-client-urls http://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380 \
    --initial-advertise-peer-urls http://127.0.0.1:12380 --initial-cluster kiln=http://127.0.0.1:12380
  daemon apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:12379 --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 --secure-port=16443 --insecure-port=0 --cert-dir="$ROOT/pki" \
    --token-auth-file="$ROOT/pki/tokens.csv" --authorization-mode=RBAC \
    --service-account-key-file="$ROOT/pki/sa.pub" --service-account-signing-key-file="$ROOT/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/24 \
    --allow-privileged=true
  for _ in $(seq 1 120); do kubectl get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
  daemon controller-manager "$BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG" --bind-address=127.0.0.1 \
    --port=0 --service-account-private-key-file="$ROOT/pki/sa.key" --leader-elect=false \
    --controllers='*,-nodeipam,-service,-route,-cloud-node-lifecycle'
  daemon scheduler "$BIN/kube-scheduler" --kubeconfig="$KUBECONFIG" --bind-address=127.0.0.1 --port=0 --leader-elect=false
  daemon kubelet "$BIN/kubelet" --kubeconfig="$KUBECONFIG" --root-dir="$ROOT/kubelet" --hostname-override=kiln-node \
    --node-ip=127.0.0.1 --address=127.0.0.1 --port=10250 --read-only-port=0 --healthz-port=0 \
    --container-runtime=docker --docker-endpoint="$DOCKER" --pod-infra-container-image=kiln.local/pause:3.2 \
    --cgroup-driver=cgroupfs --fail-swap-on=false --cgroups-per-qos=false --enforce-node-allocatable= \
    --eviction-hard= --image-gc-high-threshold=100 --max-pods=20 --node-labels=kiln.test/arch=x86_64
  for _ in $(seq 1 180); do kubectl get node kiln-node 2>/dev/null | grep -q ' Ready' && break; sleep 0.5; done
  # kubelet 1.20 refuses a loopback node IP and then publishes no address: give the node
  # 127.0.0.1, so `kubectl logs` (apiserver -> kubelet) stays on loopback.
  kubectl patch node kiln-node --subresource=status --type=merge \
    -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":"kiln-node"}]}}' >/dev/null
  for _ in $(seq 1 60); do kubectl get serviceaccount default >/dev/null 2>&1 && break; sleep 0.5; done
  ready || { log "the node did not get ready: see $ROOT/log/"; exit 1; }
  log "running (KUBECONFIG=$KUBECONFIG)"
}

unmount_under() {
  { grep -o " $1[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
}

stop_cluster() {
  for c in kubelet scheduler controller-manager apiserver etcd; do # etcd last
    [ -f "$RUN/$c.pid" ] || continue
    pid=$(cat "$RUN/$c.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true; rm -f "$RUN/$c.pid"
  done
  # The kubelet bind-mounts pod volumes under its root dir.
  unmount_under "$ROOT/kubelet"
  ids=$(docker_ ps -aq --filter label=io.kubernetes.pod.name 2>/dev/null || true)
  [ -z "$ids" ] || docker_ rm -f $ids >/dev/null
}

stop() {
  stop_cluster
  if [ -f "$RUN/dockerd.pid" ]; then
    pid=$(cat "$RUN/dockerd.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$RUN/dockerd.pid"
  fi
  unmount_under "$ROOT/docker/"
}

# An image from podman's store into dockerd's, where the kubelet finds it.
load_image() {
  start_dockerd
  docker_ image inspect "$1" >/dev/null 2>&1 || podman save "$1" | docker_ load >&2
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  status) ready && echo "running (KUBECONFIG=$KUBECONFIG)" || { echo "not running"; exit 1; } ;;
  load-image) load_image "$2" ;;
  *) echo "usage: $0 build|start|stop|status|load-image IMAGE" >&2; exit 2 ;;
esac
