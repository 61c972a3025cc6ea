#!/usr/bin/env bash
# Sets up the workspace: Node 22, the npm dependencies, the build (tsc -b and
# the oclif manifests). Re-running is cheap: npm ci is skipped when the lock
# file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
stamp=node_modules/.install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --loglevel=error >/dev/null
  touch "$stamp"
fi
echo "setup: building" >&2
npm run --silent build
