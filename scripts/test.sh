#!/usr/bin/env bash
# The test command of the README, and what CI runs: sets up everything a fresh
# Debian 12 machine lacks (apt packages, Node 22, npm packages), starts the
# real services the integration tests use (storage emulators, dockerd, the
# test OS image), runs the linter and every package's tests, stops the services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
source scripts/node.sh
npm run --silent lint
mkdir -p .services
services=()
stop_services() {
  for ((i=${#services[@]}-1; i>=0; i--)); do bash "${services[$i]}" stop || true; done
}
trap stop_services EXIT
for s in scripts/services/*.sh; do
  [ -e "$s" ] || continue
  services+=("$s")
  bash "$s" start
done
# Each service leaves KEY=VALUE lines in .services/<name>.env for the tests.
set -a
for f in .services/*.env; do [ -e "$f" ] && source "$f"; done
set +a
# The closing line is the plain "N passed, N failed" that CI reads.
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.services/vitest.json "$@" || status=$?
node -e '
  const r = require("./.services/vitest.json")
  const skipped = r.numPendingTests + r.numTodoTests
  const line = `vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`
  require("fs").writeFileSync(".services/vitest-summary.txt", line + "\n")
  console.log(line)
' || true
exit $status
