# Sourced by the other scripts: puts Node 22+ first on PATH. The machine's Node
# may be older (Debian's is 20); Node 22 then installs from the npm registry
# into .tools/ (git-ignored) in about 10 s.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
export PATH="$_root/.tools/node_modules/.bin:$PATH"
if [ "$(_major)" -lt 22 ]; then
  echo "setup: installing Node 22 into .tools/" >&2
  npm install --prefix "$_root/.tools" --no-audit --no-fund --loglevel=error node@22 >/dev/null
  hash -r
fi
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
