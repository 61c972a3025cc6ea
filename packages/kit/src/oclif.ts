import {createRequire} from 'node:module'

import type * as Oclif from '@oclif/core'

/**
 * oclif, loaded from one pre-bundled file (built by scripts/build.mjs from
 * @oclif/core). Resolving @oclif/core's hundreds of small CommonJS files took
 * more than half of every `<tool> --help`; one file loads in a fraction of
 * that. Every command and bin takes oclif from here, so there is one copy and
 * `instanceof` checks inside oclif hold.
 */
const oclif = createRequire(import.meta.url)('../vendor/oclif-core.cjs') as typeof Oclif

export const {Args, Command, Config, Errors, Flags, execute} = oclif
export type Command = Oclif.Command
export type Config = Oclif.Config
export type {Interfaces} from '@oclif/core'
