'use strict'
// What the kit's oclif bundle gets for `require('wsl-utils')` (scripts/build.mjs). oclif asks it one thing on
// every start, isWsl (for config.platform), and powerShellPath() only on Windows. The real wsl-utils also loads
// node:child_process (with net and dgram) and promisifies execFile when it loads: ~5 ms of CPU of every
// `<tool> --help`. isWsl comes from the same is-wsl package wsl-utils re-exports; the rest loads when used.
module.exports = {
  get isWsl() {
    return require('is-wsl').default
  },
  powerShellPath: (...args) => require('wsl-utils/real').powerShellPath(...args),
}
