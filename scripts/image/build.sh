#!/usr/bin/env bash
# Builds the container image of the five tools from the Dockerfile at the root:
# packs the workspaces (scripts/pack.mjs; run after a build) into a build context, then
# `docker build` against the engine at DOCKER_HOST. Prints the image's name.
#
#   bash scripts/image/build.sh              base: the Dockerfile's default, node:22-bookworm-slim
#   bash scripts/image/build.sh --offline    base: scripts/image/base.sh (Debian rootfs + Node 22 from npm); pulls nothing
#   BASE=my/node:22 bash scripts/image/build.sh
#
# The image is named mantle-ts:<version> (MANTLE_IMAGE_TAG overrides), labelled
# with the version (lerna.json) and the source revision (git HEAD). Its
# dependencies from the npm registry are fetched in the build, on the host's
# network (the engines here have no bridge).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/node.sh
base="${BASE:-}"
if [ "${1:-}" = --offline ]; then
  base="$(bash scripts/image/base.sh)"
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--offline]" >&2
  exit 2
fi
version="$(node -p 'require("./lerna.json").version')"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
tag="${MANTLE_IMAGE_TAG:-mantle-ts:$version}"

# The build context: the Dockerfile's .packs/ in a directory of its own (the work tree's .packs/ is left alone).
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
node scripts/pack.mjs "$context/.packs" >/dev/null
# The CA this machine's npm trusts (a TLS-inspecting proxy's, on these machines), for the install stage only.
cafile="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then cp "$cafile" "$context/.packs/npm-ca.pem"; fi
cp Dockerfile .dockerignore "$context/"
args=(--network host --tag "$tag" --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
[ -z "$base" ] || args+=(--build-arg "BASE=$base")
# Without the buildx plugin, the docker CLI builds with the engine's classic builder.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
echo "image: building $tag${base:+ on $base}" >&2
docker build --quiet "${args[@]}" "$context" >/dev/null
echo "$tag"
