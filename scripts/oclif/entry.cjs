'use strict'
// The entry of the kit's oclif bundle (scripts/build.mjs): only what the kit takes from @oclif/core, each part
// loaded on first use. @oclif/core's own index loads every part (ux, logger, performance, module loader, ...)
// and checks the Node.js version with semver on every start (the bins check it themselves): ~9% of `--help`.
const parts = {
  Args: () => require('@oclif/core/args'),
  Command: () => require('@oclif/core/command').Command,
  Config: () => require('@oclif/core/config').Config,
  Errors: () => require('@oclif/core/errors'),
  Flags: () => require('@oclif/core/flags'),
  execute: () => require('@oclif/core/execute').execute,
}
for (const [name, load] of Object.entries(parts)) Object.defineProperty(exports, name, {enumerable: true, get: load})
