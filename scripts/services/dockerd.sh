#!/usr/bin/env bash
# A private Docker Engine for cork's integration tests, on its own socket and
# data root under .services/dockerd/ (the machine's own dockerd, if any, is
# left alone). `start` installs docker.io when missing, starts dockerd
# unattended, waits until the API answers and writes .services/dockerd.env;
# `stop` stops it by PID. Both are idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/services/lib/daemon.sh
root="$PWD/.services/dockerd"
env_file="$PWD/.services/dockerd.env"
pidfile="$root/dockerd.pid"
sock="$root/docker.sock"
probe() { socket_answers "$sock"; }

start() {
  if ! command -v dockerd >/dev/null; then
    echo "dockerd.sh: installing docker.io" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  # The socket's group lets the tests run cork as an unprivileged uid.
  getent group docker >/dev/null || groupadd --system docker
  mkdir -p "$root"
  chmod 0755 "$PWD/.services" "$root"
  if daemon_running "$pidfile" && probe; then
    echo "dockerd.sh: already running (pid $(cat "$pidfile"))" >&2
  else
    daemon_running "$pidfile" || rm -f "$pidfile"
    # Flags measured in ENVIRONMENT.md: no iptables, no bridge, cgroupfs.
    setsid dockerd \
      --storage-driver=overlay2 \
      --data-root="$root/data" \
      --exec-root="$root/exec" \
      --pidfile="$pidfile" \
      -H "unix://$sock" \
      --group docker \
      --exec-opt native.cgroupdriver=cgroupfs \
      --iptables=false --ip6tables=false --bridge=none \
      >"$root/dockerd.log" 2>&1 </dev/null &
    daemon_wait dockerd.sh "$pidfile" "$root/dockerd.log" probe
    echo "dockerd.sh: started (pid $(cat "$pidfile")) on unix://$sock" >&2
  fi
  echo "CORK_TEST_DOCKER_HOST=unix://$sock" >"$env_file"
}

case "${1:-}" in
  start) start ;;
  stop) rm -f "$env_file"; daemon_stop dockerd.sh "$pidfile"; unmount_below "$root" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
