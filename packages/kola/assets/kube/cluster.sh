#!/usr/bin/env bash
# One single-node Kubernetes cluster on 127.0.0.1 from cached binaries: the one
# implementation behind both scripts/services/kube.sh (the project's service)
# and kola's `local` deployer, so that what CI tests is what kola runs.
#
#   cluster.sh start DIR    start (or find running) the cluster whose state is DIR
#   cluster.sh stop DIR     remove every process, mount, netns, cgroup and interface it made
#   cluster.sh status DIR   exit 0 when its API server answers and the node is Ready
#
# Configuration (environment):
#   MANTLE_KUBE_BIN        directory of kube-apiserver, kube-controller-manager,
#                          kube-scheduler, kubelet, kubectl, pause.c (build.sh beside this script)
#   MANTLE_KUBE_PORT_BASE  first of 5 consecutive TCP ports (etcd client, etcd peer,
#                          API server, kubelet, kubelet healthz); default 16400
#   MANTLE_KUBE_NAME       short name [a-z0-9]{1,8}: the CNI bridge (mk-NAME), the pod
#                          cgroup (/mantle-kube-NAME), /run/mantle-kube/NAME; default svc
#   MANTLE_KUBE_SUBNET     the pod subnet's second octet (10.X.0.0/16); default 244
#   MANTLE_KUBE_NODE_BIN   the Node.js binary for the node test image (default: node on PATH)
#   MANTLE_KUBE_IMAGES     the local images to load: pause always, plus any of
#                          busybox,node (default busybox,node)
#   MANTLE_KUBE_IMAGE_CACHE where built image tarballs are kept (default ~/.cache/mantle-ts/kubernetes/images)
#
# Two clusters with different DIR, NAME, PORT_BASE and SUBNET run side by side
# (each has its own etcd, containerd socket and state, runc root, CNI network,
# cgroup and kubelet root). Everything it makes is named after DIR or NAME, so
# stop finds it again even after a kill -9 of whoever started it.
# Writes DIR/kubeconfig (admin) and DIR/cluster.env; logs in DIR/log/.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
name="${MANTLE_KUBE_NAME:-svc}"
[[ "$name" =~ ^[a-z0-9]{1,8}$ ]] || { echo "cluster.sh: MANTLE_KUBE_NAME must be 1-8 of [a-z0-9]" >&2; exit 2; }
base="${MANTLE_KUBE_PORT_BASE:-16400}"
subnet="${MANTLE_KUBE_SUBNET:-244}"
bin="${MANTLE_KUBE_BIN:-$(cat "$dir/bin.path" 2>/dev/null || true)}"
etcd_port=$base
peer_port=$((base + 1))
api_port=$((base + 2))
kubelet_port=$((base + 3))
healthz_port=$((base + 4))
run="/run/mantle-kube/$name"
bridge="mk-$name"
cgroup="mantle-kube-$name"
pki="$dir/pki"
logd="$dir/log"
kubeconfig="$dir/kubeconfig"
sock="$run/containerd.sock"
daemons=(kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd)
img_cache="${MANTLE_KUBE_IMAGE_CACHE:-$HOME/.cache/mantle-ts/kubernetes/images}"

say() { echo "cluster.sh[$name]: $*" >&2; }
alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
kc() { "$bin/kubectl" --kubeconfig "$kubeconfig" --request-timeout=10s "$@"; }
api_ready() { curl -fsS --max-time 3 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; }
node_ready() { [ "$(kc get node localhost -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
sa_ready() { kc -n default get serviceaccount default >/dev/null 2>&1; }

wait_for() { # seconds what command...
  local seconds=$1 what=$2 deadline d
  shift 2
  deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    "$@" && return 0
    # A daemon that died will not make it happen: say which, at once.
    for d in "${daemons[@]}"; do
      if [ -f "$run/$d.pid" ] && ! alive "$d"; then
        say "$d exited while waiting for $what; logs in $logd"
        tail -n 5 "$logd/$d.log" >&2 2>/dev/null || true
        return 1
      fi
    done
    sleep 0.3
  done
  say "$what did not happen in ${seconds} s; logs in $logd"
  tail -n 8 "$logd"/*.log >&2 2>/dev/null || true
  return 1
}

spawn() { # name command... : a daemon in its own session, its pid in $run/NAME.pid
  local n=$1
  shift
  setsid "$@" </dev/null >>"$logd/$n.log" 2>&1 &
  echo $! >"$run/$n.pid"
}

need_bin() {
  [ -n "$bin" ] && [ -x "$bin/kube-apiserver" ] || { say "MANTLE_KUBE_BIN must name the built binaries (build.sh beside this script)"; exit 2; }
  local t
  for t in etcd containerd ctr openssl curl gcc /usr/lib/cni/bridge /bin/busybox; do
    command -v "$t" >/dev/null || { say "$t missing: run scripts/system-deps.sh"; exit 2; }
  done
}

# --- certificates (EC P-256: generated in well under a second) --------------
cert() { # name subject [ext]
  local n=$1 subj=$2 ext=${3:-}
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$n.key" 2>/dev/null
  openssl req -new -key "$pki/$n.key" -subj "$subj" -out "$pki/$n.csr" 2>/dev/null
  if [ -n "$ext" ]; then
    printf '%s\n' "$ext" >"$pki/$n.ext"
    openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 -extfile "$pki/$n.ext" -out "$pki/$n.crt" 2>/dev/null
  else
    openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 -out "$pki/$n.crt" 2>/dev/null
  fi
}

make_pki() {
  rm -rf "$pki"
  mkdir -p "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=mantle-kube-$name" -days 30 -out "$pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=mantle-admin"
  cert apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:localhost"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

kubeconfig_for() { # user file
  local u=$1 f=$2
  cat >"$f" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mantle-kube-$name
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $u
  user:
    client-certificate-data: $(base64 -w0 "$pki/$u.crt")
    client-key-data: $(base64 -w0 "$pki/$u.key")
contexts:
- name: mantle-kube-$name
  context: {cluster: mantle-kube-$name, user: $u}
current-context: mantle-kube-$name
KC
}

# --- images, built from this machine's files, never pulled -------------------
# A docker-archive tarball (what `docker save` writes; `ctr images import`
# reads it) of one layer made from ROOTFS, cached by the hash of its inputs.
image_tar() { # ref rootfs entrypoint-json out
  local ref=$1 rootfs=$2 entry=$3 out=$4 t diff cfg
  t="$(mktemp -d "$dir/img.XXXXXX")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$t/layer.tar" .
  diff="$(sha256sum "$t/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/usr/local/bin:/usr/bin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$entry" "$diff" >"$t/config.json"
  cfg="$(sha256sum "$t/config.json" | cut -d' ' -f1)"
  mv "$t/config.json" "$t/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" >"$t/manifest.json"
  tar -C "$t" -cf "$out.tmp" manifest.json "$cfg.json" layer.tar
  mv "$out.tmp" "$out"
  rm -rf "$t"
}

busybox_rootfs() { # dir
  mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/proc" "$1/sys" "$1/dev"
  cp /bin/busybox "$1/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

build_images() { # prints the tarballs to load
  mkdir -p "$img_cache"
  local key out r lib node_bin
  key="$(sha256sum "$bin/pause.c" | cut -c1-16)"
  out="$img_cache/pause-3.4-$key.tar"
  if [ ! -f "$out" ]; then
    r="$(mktemp -d "$dir/rootfs.XXXXXX")"
    gcc -Os -static -o "$r/pause" "$bin/pause.c"
    strip "$r/pause" 2>/dev/null || true
    image_tar mantle.local/pause:3.4 "$r" '["/pause"]' "$out"
    rm -rf "$r"
  fi
  echo "$out"
  case ",${MANTLE_KUBE_IMAGES-busybox,node}," in *,busybox,*|*,node,*) ;; *) return 0 ;; esac
  key="$(sha256sum /bin/busybox | cut -c1-16)"
  out="$img_cache/busybox-local-$key.tar"
  if [ ! -f "$out" ]; then
    r="$(mktemp -d "$dir/rootfs.XXXXXX")"
    busybox_rootfs "$r"
    image_tar mantle.local/busybox:local "$r" '["/bin/sh"]' "$out"
    rm -rf "$r"
  fi
  case ",${MANTLE_KUBE_IMAGES-busybox,node}," in *,busybox,*) echo "$out" ;; esac
  case ",${MANTLE_KUBE_IMAGES-busybox,node}," in *,node,*) ;; *) return 0 ;; esac
  node_bin="$(readlink -f "${MANTLE_KUBE_NODE_BIN:-$(command -v node)}")"
  key="$( (sha256sum /bin/busybox; "$node_bin" --version; ldd "$node_bin") | sha256sum | cut -c1-16)"
  out="$img_cache/node-local-$key.tar"
  if [ ! -f "$out" ]; then
    r="$(mktemp -d "$dir/rootfs.XXXXXX")"
    busybox_rootfs "$r"
    mkdir -p "$r/usr/local/bin"
    cp "$node_bin" "$r/usr/local/bin/node"
    # Node's shared libraries, at the paths the dynamic loader looks for them.
    for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
      mkdir -p "$r$(dirname "$lib")"
      cp -L "$lib" "$r$lib"
    done
    image_tar mantle.local/node:local "$r" '["/usr/local/bin/node"]' "$out"
    rm -rf "$r"
  fi
  echo "$out"
}

# --- start --------------------------------------------------------------------
write_configs() {
  mkdir -p "$dir/cni" "$dir/containerd" "$dir/kubelet" "$dir/etcd"
  cat >"$dir/containerd/config.toml" <<TOML
version = 2
root = "$dir/containerd/root"
state = "$run/containerd-state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "mantle.local/pause:3.4"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$run/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
TOML
  cat >"$dir/cni/10-mantle.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "mantle-kube-$name",
  "plugins": [
    {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$dir/cni-ipam", "ranges": [[{"subnet": "10.$subnet.0.0/16"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
CNI
  cat >"$dir/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup
failSwapOn: false
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
}

start() {
  need_bin
  mkdir -p "$run" "$logd"
  if alive kube-apiserver && alive kubelet && api_ready && node_ready; then
    say "already running (API server https://127.0.0.1:$api_port)"
    return 0
  fi
  teardown quiet
  mkdir -p "$run" "$logd"
  echo "$bin" >"$dir/bin.path"
  # A start that fails (or is interrupted) half-way leaves nothing running.
  trap 'rc=$?; trap - EXIT; if [ "$rc" -ne 0 ]; then say "start failed; tearing down"; teardown quiet; fi; exit "$rc"' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  local t0=$SECONDS ip images=()
  make_pki
  kubeconfig_for admin "$kubeconfig"
  kubeconfig_for controller-manager "$pki/controller-manager.kubeconfig"
  kubeconfig_for scheduler "$pki/scheduler.kubeconfig"
  kubeconfig_for kubelet "$pki/kubelet.kubeconfig"
  write_configs
  # The API server must advertise a non-loopback address; nothing connects to it.
  ip="$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.' || true)"
  [ -n "$ip" ] || ip=192.0.2.1
  spawn etcd etcd --name "mk-$name" --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "mk-$name=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn
  spawn containerd containerd --config "$dir/containerd/config.toml"
  mapfile -t images < <(build_images)
  spawn kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --secure-port "$api_port" --insecure-port 0 --advertise-address "$ip" \
    --service-cluster-ip-range 10.0.0.0/24 --authorization-mode Node,RBAC --allow-privileged \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet.crt" --kubelet-client-key "$pki/apiserver-kubelet.key" \
    --kubelet-preferred-address-types Hostname \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local
  wait_for 60 "containerd answering on $sock" ctr --address "$sock" version >/dev/null
  local tarball
  for tarball in "${images[@]}"; do
    ctr --address "$sock" -n k8s.io images import --no-unpack "$tarball" >/dev/null 2>>"$logd/images.log" \
      || ctr --address "$sock" -n k8s.io images import "$tarball" >/dev/null 2>>"$logd/images.log"
  done
  wait_for 90 "the API server answering on 127.0.0.1:$api_port" api_ready
  spawn kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$pki/controller-manager.kubeconfig" \
    --leader-elect=false --port 0 --secure-port 0 --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key"
  spawn kube-scheduler "$bin/kube-scheduler" --kubeconfig "$pki/scheduler.kubeconfig" \
    --leader-elect=false --port 0 --secure-port 0
  # The kubelet's cgroup root must exist in every hierarchy (cgroup v1 here); cpuset needs its CPUs and memory nodes.
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -f "${h}cgroup.procs" ] && mkdir -p "$h$cgroup"
  done
  if [ -d "/sys/fs/cgroup/cpuset/$cgroup" ]; then
    cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$cgroup/cpuset.cpus"
    cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$cgroup/cpuset.mems"
  fi
  spawn kubelet "$bin/kubelet" --kubeconfig "$pki/kubelet.kubeconfig" --config "$dir/kubelet/config.yaml" \
    --root-dir "$dir/kubelet/root" --cert-dir "$dir/kubelet/pki" --hostname-override localhost \
    --container-runtime remote --container-runtime-endpoint "unix://$sock" --runtime-request-timeout 2m
  wait_for 120 "node localhost Ready" node_ready
  wait_for 60 "the default service account" sa_ready
  cat >"$dir/cluster.env" <<ENV
KUBECONFIG=$kubeconfig
MANTLE_KUBE_API=https://127.0.0.1:$api_port
MANTLE_KUBE_KUBECTL=$bin/kubectl
MANTLE_KUBE_CONTAINERD=$sock
MANTLE_KUBE_IMAGE_PAUSE=mantle.local/pause:3.4
MANTLE_KUBE_IMAGE_BUSYBOX=mantle.local/busybox:local
MANTLE_KUBE_IMAGE_NODE=mantle.local/node:local
ENV
  trap - EXIT TERM INT
  say "ready in $((SECONDS - t0)) s: API server https://127.0.0.1:$api_port, KUBECONFIG=$kubeconfig"
}

# --- stop -------------------------------------------------------------------
stop_pid() { # name seconds
  local n=$1 seconds=$2 pid i
  [ -f "$run/$n.pid" ] || return 0
  pid="$(cat "$run/$n.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # The API server has ignored SIGTERM for over a minute here.
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$run/$n.pid"
}

cgroup_pids() { cat /sys/fs/cgroup/pids/"$cgroup"/cgroup.procs /sys/fs/cgroup/pids/"$cgroup"/*/cgroup.procs /sys/fs/cgroup/pids/"$cgroup"/*/*/cgroup.procs /sys/fs/cgroup/pids/"$cgroup"/*/*/*/cgroup.procs 2>/dev/null || true; }

teardown() {
  local quiet=${1:-} netns=() n c pid m
  # Controllers first: a ReplicaSet or Job would replace the pods deleted below, and a sandbox
  # the kubelet is still making when it stops leaves a network namespace nobody knows of.
  for n in kube-scheduler kube-controller-manager; do stop_pid "$n" 5; done
  # Pods next, while the kubelet runs, so that CNI removes their network namespaces.
  if alive kubelet && alive kube-apiserver && [ -f "$kubeconfig" ]; then
    kc delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=30s >/dev/null 2>&1 || true
  fi
  stop_pid kubelet 10
  if alive containerd; then
    # Every network namespace its sandboxes use: removed below if CNI did not.
    mapfile -t netns < <(for c in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers info "$c" 2>/dev/null | grep -o '/var/run/netns/cni-[0-9a-f-]*'
    done | sort -u)
    for c in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s KILL "$c" >/dev/null 2>&1 || true
    done
    sleep 0.3
    for c in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks rm -f "$c" >/dev/null 2>&1 || true
    done
  fi
  stop_pid kube-apiserver 15
  stop_pid etcd 10
  stop_pid containerd 10
  # Left by a kill -9 of the whole tree: shims of our containerd and any process in our pod cgroup.
  for pid in $(pgrep -f -- "-address $sock" 2>/dev/null) $(cgroup_pids); do kill -KILL "$pid" 2>/dev/null || true; done
  # And any pod network namespace still on this cluster's pod subnet (a sandbox made while it stopped).
  for n in /var/run/netns/cni-*; do
    [ -e "$n" ] && ip -n "$(basename "$n")" -o -4 addr show 2>/dev/null | grep -q " 10\.$subnet\." && netns+=("$n")
  done
  for n in "${netns[@]}"; do
    umount "$n" 2>/dev/null || true
    rm -f "$n"
  done
  for m in $(findmnt -rn -o TARGET | awk -v d="$dir/" -v r="$run/" 'index($0, d) == 1 || index($0, r) == 1' | sort -r); do umount -l "$m" 2>/dev/null || true; done
  ip link del "$bridge" >/dev/null 2>&1 || true
  for c in /sys/fs/cgroup/*/"$cgroup"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$run" "$dir/containerd/root" "$dir/kubelet/root" "$dir/etcd" "$dir/cni-ipam" "$dir/cluster.env"
  [ -n "$quiet" ] || say "stopped"
}

status() {
  [ -f "$kubeconfig" ] && [ -n "$bin" ] && alive kube-apiserver && api_ready && node_ready
}

case "$cmd" in
  start) start ;;
  stop) teardown ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status DIR" >&2; exit 2 ;;
esac
