#!/usr/bin/env bash
# The README's main job: sets everything up on a fresh Debian 12 machine, then
# runs the release engineer's day on local defaults (scripts/day.mjs): build
# and sign the test OS image, test it with kola under QEMU, publish it with
# plume to .day/release/, fetch it back over HTTP with gangue and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
source scripts/node.sh
exec node scripts/day.mjs
