#!/usr/bin/env bash
# Sets up the workspace: Node 22, the npm dependencies, the build (tsc -b and
# the oclif manifests). Re-running is cheap: npm ci is skipped when the lock
# file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
stamp=node_modules/.install-stamp
# No package needs its install script here (native extras like re2 and
# cpu-features are optional and would compile for minutes).
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm dependencies" >&2
  if ! npm ci --ignore-scripts --loglevel=error >/dev/null 2>.setup-npm.log; then
    # A lock file that drifted from a package.json must not stop a fresh machine.
    echo "setup: npm ci refused the lock file ($(grep -m1 -o 'Missing: .*' .setup-npm.log || echo 'see npm log')); running npm install" >&2
    npm install --ignore-scripts --loglevel=error >/dev/null
  fi
  rm -f .setup-npm.log
  touch "$stamp"
fi
echo "setup: building" >&2
npm run --silent build
