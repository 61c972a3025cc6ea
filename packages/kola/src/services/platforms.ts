import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {UsageError} from '@mantle/kit'

import {builtinPlatforms, type PlatformDefinition, PlatformRegistry} from '../platform/registry.js'

/**
 * The platforms a command can boot machines on: kola's own plus those of
 * each module given (`--platform-module`), which export `platform` (one
 * definition) or `platforms` (several): how a lab's own provisioning joins
 * kola without a rebuild.
 */
export async function availablePlatforms(modules: readonly string[] = []): Promise<PlatformRegistry> {
  const registry = new PlatformRegistry(builtinPlatforms())
  for (const file of modules) {
    const path = resolve(file)
    let mod: {platform?: unknown; platforms?: unknown}
    try {
      mod = (await import(pathToFileURL(path).href)) as typeof mod
    } catch (error) {
      throw new UsageError(`cannot load platform module ${path}: ${error instanceof Error ? error.message : String(error)}`)
    }
    const defined = mod.platforms ?? (mod.platform === undefined ? undefined : [mod.platform])
    if (!Array.isArray(defined) || defined.length === 0)
      throw new UsageError(`platform module ${path} exports no platform`, {hint: 'export const platform = {name, summary, createFlight}'})
    for (const d of defined as PlatformDefinition<never>[]) {
      if (typeof d?.name !== 'string' || typeof d.createFlight !== 'function')
        throw new UsageError(`platform module ${path}: a platform needs a name and a createFlight function`)
      registry.add(d)
    }
  }
  return registry
}
