# Sourced by the storage service scripts: a daemon known by its PID file.
# (Not a service itself: scripts/test.sh runs only scripts/services/*.sh.)

# pid_alive PIDFILE: the process named in PIDFILE is running.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_until SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds or time is up.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while [ "$SECONDS" -lt "$deadline" ]; do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# stop_pidfile NAME PIDFILE: TERM, up to 10 s, then KILL; removes the PID file.
stop_pidfile() {
  local name="$1" pidfile="$2" pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name: pid $pid did not stop in 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "$name: stopped" >&2
}
