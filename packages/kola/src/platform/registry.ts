import {UsageError} from '@mantle/kit'

import {type AwsPlatformOptions, awsPlatform} from './aws/index.js'
import {type AzurePlatformOptions, azurePlatform} from './azure/index.js'
import {type BrightboxPlatformOptions, brightboxPlatform} from './brightbox/index.js'
import {type OciPlatformOptions, ociPlatform} from './oci/index.js'
import {type StackitPlatformOptions, stackitPlatform} from './stackit/index.js'
import {type EsxPlatformOptions, esxPlatform} from './esx/index.js'
import {type DoPlatformOptions, doPlatform} from './do/index.js'
import {type ExternalOptions, externalPlatform} from './external/index.js'
import {type AkamaiPlatformOptions, akamaiPlatform} from './akamai/index.js'
import {type GcpPlatformOptions, gcpPlatform} from './gcp/index.js'
import {type ScalewayPlatformOptions, scalewayPlatform} from './scaleway/index.js'
import {type HetznerPlatformOptions, hetznerPlatform} from './hetzner/index.js'
import {type OpenStackPlatformOptions, openstackPlatform} from './openstack/index.js'
import type {CommonFlightOptions, Flight} from './platform.js'
import {qemuPlatform, type QemuOptions} from './qemu/index.js'

/**
 * A platform kola can boot machines on. Adding one is a folder under
 * platform/ exporting a definition, and a line in `builtinPlatforms`.
 */
export interface PlatformDefinition<O = unknown> {
  /** The name `--platform` takes. */
  readonly name: string
  /** Other names for it (`gce` for `gcp`). */
  readonly aliases?: readonly string[]
  /** One line for `kola list --platform` and help. */
  readonly summary: string
  /** Pre-flight checks, credentials and shared resources; then clusters. */
  createFlight(options: O, common: CommonFlightOptions): Promise<Flight>
}

/** Each platform's own options, under its name; a command fills in those of the chosen platform. */
export interface PlatformOptions {
  qemu?: QemuOptions | undefined
  external?: ExternalOptions | undefined
  aws?: AwsPlatformOptions | undefined
  azure?: AzurePlatformOptions | undefined
  gcp?: GcpPlatformOptions | undefined
  do?: DoPlatformOptions | undefined
  oci?: OciPlatformOptions | undefined
  stackit?: StackitPlatformOptions | undefined
  brightbox?: BrightboxPlatformOptions | undefined
  openstack?: OpenStackPlatformOptions | undefined
  esx?: EsxPlatformOptions | undefined
  hetzner?: HetznerPlatformOptions | undefined
  scaleway?: ScalewayPlatformOptions | undefined
  akamai?: AkamaiPlatformOptions | undefined
  [platform: string]: unknown
}

/** The platforms built into kola. */
export function builtinPlatforms(): PlatformDefinition<never>[] {
  return [
    qemuPlatform,
    externalPlatform,
    awsPlatform,
    azurePlatform,
    gcpPlatform,
    doPlatform,
    hetznerPlatform,
    ociPlatform,
    brightboxPlatform,
    stackitPlatform,
    openstackPlatform,
    esxPlatform,
    scalewayPlatform,
    akamaiPlatform,
  ]
}

/** Platform names (and aliases) to their definitions. */
export class PlatformRegistry {
  private readonly byName = new Map<string, PlatformDefinition<never>>()
  private readonly canonical: PlatformDefinition<never>[] = []

  constructor(definitions: Iterable<PlatformDefinition<never>> = builtinPlatforms()) {
    for (const d of definitions) this.add(d)
  }

  add(definition: PlatformDefinition<never>): void {
    if (!/^[a-z][a-z0-9-]*$/.test(definition.name))
      throw new UsageError(`invalid platform name ${JSON.stringify(definition.name)}`, {
        hint: 'platform names use lowercase letters, digits and "-"',
      })
    for (const n of [definition.name, ...(definition.aliases ?? [])]) {
      if (this.byName.has(n)) throw new UsageError(`platform ${n} is defined twice`)
      this.byName.set(n, definition)
    }
    this.canonical.push(definition)
  }

  /** Every platform, by name. */
  list(): PlatformDefinition<never>[] {
    return [...this.canonical].sort((a, b) => a.name.localeCompare(b.name))
  }

  names(): string[] {
    return this.list().map((d) => d.name)
  }

  /** The definition of a name or alias; a usage error listing the names otherwise. */
  get(name: string): PlatformDefinition<never> {
    const definition = this.byName.get(name)
    if (!definition)
      throw new UsageError(`unknown platform "${name}"`, {hint: `--platform takes ${[...this.byName.keys()].sort().join(', ')}`})
    return definition
  }

  /** The flight of the named platform, with that platform's own options. */
  async flightFor(name: string, options: PlatformOptions, common: CommonFlightOptions): Promise<Flight> {
    const definition = this.get(name)
    // Platforms loaded from modules have no flags of their own: they get an empty object.
    return definition.createFlight((options[definition.name] ?? {}) as never, common)
  }
}

/** The flight of a platform: the one place that maps a name to a flight. */
export function flightFor(
  name: string,
  options: PlatformOptions,
  common: CommonFlightOptions,
  registry = new PlatformRegistry(),
): Promise<Flight> {
  return registry.flightFor(name, options, common)
}
