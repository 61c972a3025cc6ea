#!/usr/bin/env bash
# kola's test OS image: `start` builds it (or reuses the cached build whose
# inputs are unchanged) and writes .services/test-image.env with its paths
# (KOLA_TEST_IMAGE, KOLA_TEST_KERNEL, KOLA_TEST_INITRD) for the tests and CI.
# `stop` does nothing: the image is a file, nothing runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  start)
    for tool in debootstrap mke2fs qemu-img cpio busybox mkfs.vfat mcopy sfdisk; do
      command -v "$tool" >/dev/null || { echo "test-image: $tool missing: run scripts/system-deps.sh" >&2; exit 1; }
    done
    mkdir -p .services
    env="$(bash scripts/test-image/build.sh)"
    printf '%s\n' "$env" >.services/test-image.env.tmp
    mv .services/test-image.env.tmp .services/test-image.env
    echo "test-image: ready ($(grep KOLA_TEST_IMAGE= .services/test-image.env | cut -d= -f2))" >&2
    ;;
  stop) ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
