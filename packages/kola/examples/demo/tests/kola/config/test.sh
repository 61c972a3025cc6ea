#!/bin/bash
set -xeuo pipefail
test "$(cat /etc/kola-demo.conf)" = "written by config.ign"
test "$(cat "$KOLA_EXT_DATA/greeting.txt")" = "hello from data/"
