#!/usr/bin/env bash
# Publishes the packages to the npm registry from the tarballs of
# scripts/pack.mjs (no tests, helpers or source maps; the kit without the
# packages it bundles), libraries before the tools that need them.
#
#   npm run release:version             lerna: bump every package and its @mantle dependencies, commit, tag
#   npm run build && npm run release:publish -- --dry-run     what would be published, nothing sent
#   npm run build && npm run release:publish                  publish (needs npm login)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node.sh
dry=()
case "${1:-}" in
  --dry-run) dry=(--dry-run) ;;
  "") ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac
packs="$(mktemp -d)"
trap 'rm -rf "$packs"' EXIT
node scripts/pack.mjs "$packs" >/dev/null
version="$(node -p 'require("./lerna.json").version')"
order=(kit auth cloud gangue cork ore plume kola)
[ "$(ls "$packs" | wc -l)" -eq "${#order[@]}" ] || { echo "publish: $(ls "$packs" | tr '\n' ' ')is not the list this script publishes in order (${order[*]})" >&2; exit 4; }
for pkg in "${order[@]}"; do
  npm publish "${dry[@]}" --access public "$packs/mantle-$pkg-$version.tgz"
done
