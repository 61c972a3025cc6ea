#!/usr/bin/env bash
# The release engineer's day on local defaults (the README's main job).
# Grows with the tools: today it sets up the workspace and shows the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/node.sh
for tool in gangue cork ore plume kola; do node "packages/$tool/bin/run.js" version; done
