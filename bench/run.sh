#!/usr/bin/env bash
# Runs every benchmark in one go (`npm run bench`), or the ones named:
#   bash bench/run.sh startup storage
# Each prints its own table; methods are described in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
want=("$@")
selected() { [ ${#want[@]} -eq 0 ] && return 0; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
if selected startup; then
  # The checkout, then the layout of an npm install of the tarballs; a miss in either fails, after both ran.
  missed=0
  node bench/startup.mjs || missed=1
  node bench/startup.mjs --installed || missed=1
  [ "$missed" = 0 ]
fi
if selected cork-enter; then node bench/cork-enter.mjs; fi
if selected gangue; then node bench/gangue.mjs; fi
if selected gangue-first-byte; then node bench/gangue-first-byte.mjs; fi
if selected kola-boot; then node bench/kola-boot.mjs; fi
if selected kola-shared; then node bench/kola-shared.mjs; fi
if selected kola-cloud; then node bench/kola-cloud.mjs; fi
if selected kube; then node bench/kube.mjs; fi
if selected kube-jobs; then node bench/kube-jobs.mjs; fi
if selected storage; then node bench/storage.mjs; fi
if selected index; then node bench/index-pages.mjs; fi
if selected small-objects; then node bench/small-objects.mjs; fi
if selected emulator-request-forms; then node bench/emulator-request-forms.mjs gcs && node bench/emulator-request-forms.mjs azure; fi
