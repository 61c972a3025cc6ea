#!/bin/sh
# kola's external platform test: powers the machine off and removes its disk.
set -eu
dir="$EXTERNAL_STATE/$IPADDR"
pid=$(cat "$dir/qemu.pid")
kill "$pid" 2>/dev/null || true
# A daemonized QEMU is reparented; where nobody reaps it, it stays a zombie: gone all the same.
while kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]; do sleep 0.2; done
rm -f "$dir/disk.qcow2"
echo "$IPADDR" >>"$EXTERNAL_STATE/deprovisioned"
