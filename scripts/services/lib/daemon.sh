# Sourced by the service scripts of cork's container engines: a daemon
# started in the background, known by its pid file, probed by a function,
# stopped by PID. (A subdirectory, so scripts/test.sh does not take it for a
# service.)

# daemon_running PIDFILE: true while the pid in PIDFILE is alive.
daemon_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# daemon_wait NAME PIDFILE LOG PROBE: waits up to 30 s for PROBE to succeed;
# fails with the log's tail if the daemon dies or never answers.
daemon_wait() {
  local name=$1 pidfile=$2 log=$3 probe=$4
  for _ in $(seq 1 300); do
    "$probe" && return 0
    # dockerd writes its pid file itself, a moment after it starts.
    [ -f "$pidfile" ] && ! daemon_running "$pidfile" && break
    sleep 0.1
  done
  "$probe" && return 0
  echo "$name: did not answer; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

# daemon_stop NAME PIDFILE: SIGTERM, then SIGKILL after 30 s.
daemon_stop() {
  local name=$1 pidfile=$2 pid
  daemon_running "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name: pid $pid did not stop in 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "$name: stopped" >&2
}

# unmount_below DIR: unmounts what a stopped engine left mounted under DIR (dockerd's
# exec/netns/default, Podman's storage/overlay), deepest first, so a stop undoes its start.
unmount_below() {
  local dir mnt
  dir="$(realpath -m "$1")"
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt"
  done
}

# socket_answers SOCKET: the Engine API's /_ping answers on the unix socket.
socket_answers() { curl -fsS --max-time 2 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1; }
