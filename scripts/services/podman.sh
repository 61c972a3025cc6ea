#!/usr/bin/env bash
# Podman's Docker-compatible API service for cork's integration tests, with
# its own storage, run root and socket under .services/podman/ (the machine's
# own Podman storage is left alone). `start` installs podman when missing,
# starts `podman system service`, waits until the API answers and writes
# .services/podman.env; `stop` stops it by PID. Both are idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/services/lib/daemon.sh
root="$PWD/.services/podman"
env_file="$PWD/.services/podman.env"
pidfile="$root/podman.pid"
sock="$root/podman.sock"
probe() { socket_answers "$sock"; }

start() {
  if ! command -v podman >/dev/null; then
    echo "podman.sh: installing podman" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends podman >/dev/null
  fi
  getent group docker >/dev/null || groupadd --system docker
  mkdir -p "$root"
  chmod 0755 "$PWD/.services" "$root"
  # root here lacks CAP_SYS_RESOURCE: Podman's default ulimits cannot be set
  # (ENVIRONMENT.md). cgroupfs and a file event log: no systemd runs here.
  # Each exec session keeps two conmon processes until its cleanup, which the
  # API service delays by exit_command_delay (300 s by default, time for a
  # client to read the exit code): a test run would pile up dozens of them.
  cat >"$root/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
exit_command_delay = 5
CONF
  if daemon_running "$pidfile" && probe; then
    echo "podman.sh: already running (pid $(cat "$pidfile"))" >&2
  else
    daemon_running "$pidfile" || rm -f "$pidfile"
    rm -f "$sock"
    CONTAINERS_CONF="$root/containers.conf" setsid podman \
      --root "$root/storage" --runroot "$root/run" --tmpdir "$root/tmp" \
      --cgroup-manager=cgroupfs \
      system service --time=0 "unix://$sock" \
      >"$root/podman.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    daemon_wait podman.sh "$pidfile" "$root/podman.log" probe
    # The socket's group lets the tests run cork as an unprivileged uid.
    chgrp docker "$sock"
    chmod 0660 "$sock"
    echo "podman.sh: started (pid $(cat "$pidfile")) on unix://$sock" >&2
  fi
  echo "CORK_TEST_PODMAN_HOST=unix://$sock" >"$env_file"
}

case "${1:-}" in
  start) start ;;
  stop) rm -f "$env_file"; daemon_stop podman.sh "$pidfile"; unmount_below "$root" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
