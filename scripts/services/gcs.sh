#!/usr/bin/env bash
# Google Cloud Storage for the storage tests: firebase-tools' storage emulator
# (gcs-emulator.mjs beside this script) on 127.0.0.1:9199. `start` installs
# firebase-tools when missing, waits until the JSON API answers and writes
# .services/gcs.env; `stop` stops it by PID. Both are idempotent. The
# emulator ignores generation preconditions and ACLs and caps bodies at about
# 130 MB (ENVIRONMENT.md): tests cover those with recorded responses.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/node.sh
source scripts/services/lib/daemon.bash
root="$PWD/.services/gcs"
env_file="$PWD/.services/gcs.env"
pidfile="$root/gcs.pid"
port="${MANTLE_GCS_PORT:-9199}"
endpoint="http://127.0.0.1:$port"
bucket=mantle-test

running() { pid_alive "$pidfile"; }
answers_or_died() { answers || ! running; }
answers() { curl -fsS --max-time 2 -o /dev/null "$endpoint/b" 2>/dev/null; }

write_env() {
  cat >"$env_file" <<ENV
MANTLE_TEST_GCS_ENDPOINT=$endpoint
MANTLE_TEST_GCS_BUCKET=$bucket
ENV
}

start() {
  if [ ! -d node_modules/firebase-tools/lib/emulator/storage ]; then
    echo "gcs.sh: installing firebase-tools" >&2
    flock /tmp/npm.lock npm install --no-save --no-audit --no-fund firebase-tools >/dev/null
  fi
  mkdir -p "$root"
  if running && answers; then
    echo "gcs.sh: already running (pid $(cat "$pidfile")) on $endpoint" >&2
  else
    [ -f "$pidfile" ] && ! running && rm -f "$pidfile"
    # Its blobs go under TMPDIR: keep them in our own directory.
    (cd "$root" && TMPDIR="$root" exec setsid node "$OLDPWD/scripts/services/gcs-emulator.mjs" "$port" >"$root/gcs.log" 2>&1 </dev/null) &
    echo $! >"$pidfile"
    # Until it answers, or gives up early if the process died.
    wait_until 30 answers_or_died || true
    if ! answers; then
      echo "gcs.sh: the emulator did not answer on $endpoint; last lines of $root/gcs.log:" >&2
      tail -n 20 "$root/gcs.log" >&2 || true
      exit 1
    fi
    echo "gcs.sh: started (pid $(cat "$pidfile")) on $endpoint" >&2
  fi
  # The emulator makes a bucket on the first request that names it.
  curl -fsS --max-time 5 -o /dev/null "$endpoint/storage/v1/b/$bucket/o"
  write_env
}

stop() {
  rm -f "$env_file"
  stop_pidfile gcs.sh "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
