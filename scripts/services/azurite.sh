#!/usr/bin/env bash
# Azure Blob Storage for the storage tests: Azurite (the root devDependency)
# on 127.0.0.1:10000, blobs under .services/azurite/data, with the flags
# measured in ENVIRONMENT.md.
# `start` installs it when missing, waits until it answers, creates the test
# container and writes .services/azurite.env; `stop` stops it by PID. Both
# are idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/node.sh
source scripts/services/lib/daemon.bash
root="$PWD/.services/azurite"
env_file="$PWD/.services/azurite.env"
pidfile="$root/azurite.pid"
port="${MANTLE_AZURITE_PORT:-10000}"
account=devstoreaccount1
# Azurite's fixed, public development key (documented by Microsoft; not a secret).
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
endpoint="http://127.0.0.1:$port/$account"
connection="DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=$endpoint;"
container=mantle-test

running() { pid_alive "$pidfile"; }
answers_or_died() { answers || ! running; }
# Any HTTP answer (Azurite says 400 to an unsigned GET) means it is up.
answers() { [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$endpoint?comp=list" 2>/dev/null)" != 000 ]; }

make_container() {
  MANTLE_CS="$connection" MANTLE_CONTAINER="$container" node --input-type=module -e '
    import {BlobServiceClient} from "@azure/storage-blob"
    await BlobServiceClient.fromConnectionString(process.env.MANTLE_CS).getContainerClient(process.env.MANTLE_CONTAINER).createIfNotExists()
  '
}

write_env() {
  # Quoted: scripts/test.sh sources this file with bash, and the string holds ";".
  cat >"$env_file" <<ENV
MANTLE_TEST_AZURE_CONNECTION_STRING='$connection'
MANTLE_TEST_AZURE_ACCOUNT=$account
MANTLE_TEST_AZURE_KEY='$key'
MANTLE_TEST_AZURE_ENDPOINT=$endpoint
MANTLE_TEST_AZURE_CONTAINER=$container
ENV
}

start() {
  if [ ! -x node_modules/.bin/azurite-blob ]; then
    echo "azurite.sh: installing azurite" >&2
    flock /tmp/npm.lock npm install --no-save --no-audit --no-fund azurite@3.35.0 >/dev/null
  fi
  mkdir -p "$root"
  if running && answers; then
    echo "azurite.sh: already running (pid $(cat "$pidfile")) on $endpoint" >&2
  else
    [ -f "$pidfile" ] && ! running && rm -f "$pidfile"
    # Blobs on disk, not in memory: Azurite frees overwritten extents only at its periodic
    # garbage collection, and the 1 GiB benchmark uploads grew an in-memory store past 12 GB.
    rm -rf "$root/data"
    mkdir -p "$root/data"
    (cd "$root" && exec setsid "$OLDPWD/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
      --location "$root/data" --disableTelemetry --skipApiVersionCheck >"$root/azurite.log" 2>&1 </dev/null) &
    echo $! >"$pidfile"
    # Until it answers, or gives up early if the process died.
    wait_until 30 answers_or_died || true
    if ! answers; then
      echo "azurite.sh: Azurite did not answer on $endpoint; last lines of $root/azurite.log:" >&2
      tail -n 20 "$root/azurite.log" >&2 || true
      exit 1
    fi
    echo "azurite.sh: started (pid $(cat "$pidfile")) on $endpoint" >&2
  fi
  make_container
  write_env
}

stop() {
  rm -f "$env_file"
  stop_pidfile azurite.sh "$pidfile"
  rm -rf "$root/data"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
