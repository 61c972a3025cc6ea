#!/bin/sh
# A test script from --tests-dir: kola runs it on a machine as core.
set -e
. /etc/os-release
echo "hello from $ID on $(uname -r)"
test "$(id -un)" = core
