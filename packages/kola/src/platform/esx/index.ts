import type {EsxCredentials} from '@mantle/auth'
import {esx} from '@mantle/cloud'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {InfraError, UsageError} from '@mantle/kit'

import {addFile} from '../ignition.js'

import type {CommonFlightOptions, Flight} from '../platform.js'
import type {PlatformDefinition} from '../registry.js'
import {RemoteFlight} from '../remote/flight.js'
import type {Provisioned, Provisioner, ProvisionRequest} from '../remote/machine.js'
import {generateIdentity} from '../ssh.js'
import {type EsxStaticIps, StaticIpPool, staticIpPairs, VMWARE_NETWORK_UNIT_PATH, vmwareNetworkUnit} from './static-ips.js'

/** The ESX platform's own options (flatcar/mantle cmd/kola/options.go: --esx-*). */
export interface EsxPlatformOptions {
  /** Reads the profile (--esx-config-file, --esx-profile); called once, when the flight is made. */
  credentials: () => Promise<EsxCredentials>
  /** Overrides the profile's server (vCenter). */
  server?: string | undefined
  /** The content library item (in the library `ore esx create-base` fills) machines are deployed from. */
  baseVm: string
  /** An OVA to upload for this run instead (an item named by the run id, deleted afterwards). */
  ovaPath?: string | undefined
  /** Accept the server's self-signed certificate. */
  insecure?: boolean | undefined
  /** Between two polls of a VM's guest identity. */
  pollIntervalMs?: number | undefined
  /** --esx-static-ips and the addresses it needs: each machine gets a pair instead of DHCP. */
  staticIps?: EsxStaticIps | undefined
}

export const esxPlatform: PlatformDefinition<EsxPlatformOptions> = {
  name: 'esx',
  summary: 'VMware vSphere VMs deployed from the base OVF, the Ignition config in guestinfo',
  createFlight: createEsxFlight,
}

/**
 * A vCenter session (vSphere Automation REST API): a datastore, a resource
 * pool and the base image's library item found before anything is made (or,
 * with --esx-ova-path, the OVA uploaded as the run's own item, deleted after
 * the run). A run makes nothing else but its VMs (the SSH key is in the
 * Ignition config).
 */
async function createEsxFlight(options: EsxPlatformOptions, common: CommonFlightOptions): Promise<Flight> {
  if (!options.baseVm && !options.ovaPath)
    throw new UsageError('esx: no image to deploy', {hint: 'pass --esx-base-vm (made by ore esx create-base) or --esx-ova-path'})
  const profile = await options.credentials()
  const credentials = {...profile, ...(options.server ? {server: options.server} : {})}
  // No abort signal on the client: after Ctrl-C its calls must still remove the run's VMs (the waits take the signal).
  const api = await esx.esxApi({credentials, insecure: options.insecure, logger: common.logger})
  const datastore = await api.datastore()
  const resourcePool = await api.resourcePool()
  const serial = {datacenter: await api.datacenterName(), datastoreName: await api.datastoreName(datastore)}
  const context = {logger: common.logger, pollIntervalMs: options.pollIntervalMs}
  let item: string | undefined
  let release = async (): Promise<void> => undefined
  if (options.ovaPath) {
    // Flatcar's --esx-ova-path: the image of this run only (the original imports it once per VM).
    item = await esx.uploadRunImage(api, {
      runId: common.runId,
      file: options.ovaPath,
      datastore,
      context: {...context, signal: common.signal},
    })
    const uploaded = item
    release = () =>
      api
        .deleteLibraryItem(uploaded)
        .catch((e: unknown) => common.logger.warn(`esx: cannot delete library item ${uploaded}: ${String(e)}; ore esx gc will`))
  } else {
    const library = await api.findLibrary()
    item = library ? await api.findLibraryItem(library, options.baseVm) : undefined
    if (!item)
      throw new InfraError(`esx: no base image ${JSON.stringify(options.baseVm)} in the content library "${esx.LIBRARY_NAME}"`, {
        hint: 'make it with ore esx create-base',
      })
  }
  const identity = await generateIdentity(common.distro.user)
  const provisioner = new EsxProvisioner({
    api,
    item,
    datastore,
    resourcePool,
    serial,
    context,
    staticIps: options.staticIps && new StaticIpPool(staticIpPairs(options.staticIps)),
  })
  common.logger.info(`esx: run ${common.runId}: VMs from library item ${item}`)
  return new RemoteFlight('esx', identity, () => provisioner, common, release)
}

interface EsxSettings {
  api: esx.EsxApi
  item: string
  datastore: string
  resourcePool: string
  serial: {datacenter: string; datastoreName: string}
  context: {logger: CommonFlightOptions['logger']; pollIntervalMs?: number | undefined}
  staticIps?: StaticIpPool | undefined
}

/** One VM per machine: deployed with a serial port to a datastore file, powered on, its address from VMware Tools, powered off and deleted. */
class EsxProvisioner implements Provisioner {
  constructor(private readonly settings: EsxSettings) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const {api, context, staticIps} = this.settings
    const name = esx.runVmName(request.name)
    let config = request.config
    // A pair of the pool for this machine (flatcar/mantle esx cluster.go), back in the pool once the VM is gone.
    const pair = staticIps && (await staticIps.take(request.signal))
    if (pair) {
      context.logger.info(`esx: ${request.id} gets static addresses ${pair.public} and ${pair.private}`)
      config = addFile(config, VMWARE_NETWORK_UNIT_PATH, vmwareNetworkUnit(pair))
      await writeFile(join(request.dir, 'ignition.json'), JSON.stringify(config, null, 2) + '\n')
    }
    let launched: Awaited<ReturnType<typeof esx.launchVm>>
    try {
      launched = await esx.launchVm(api, {
        item: this.settings.item,
        name,
        resourcePool: this.settings.resourcePool,
        datastore: this.settings.datastore,
        ignition: JSON.stringify(config),
        console: this.settings.serial,
        context: {...context, signal: request.signal},
      })
    } catch (error) {
      if (pair) staticIps.give(pair)
      throw error
    }
    const {vm, ip} = launched
    context.logger.info(`esx: ${name} is ${vm}`)
    return {
      instanceId: vm,
      ip,
      sshPort: 22,
      // As the original (machine.go): the address VMware Tools report, also with static addresses.
      privateIp: ip,
      // The serial port's file on the datastore: the Automation API has no console call of its own.
      console: launched.console,
      terminate: async () => {
        await esx.removeVm(api, vm)
        if (pair) staticIps.give(pair)
      },
    }
  }
}
