import {InfraError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {pollUntil} from '../common/wait.js'
import {type GceComputeApi, type GceImage, type GceInstance, imagePath} from './compute.js'

/** The label that names the kola run an instance belongs to (the marker says it is ours; this, whose). */
export const RUN_LABEL = 'kola-run'

/** The image a run boots, looked up before anything is created: a missing one is exit 3, nothing left behind. */
export async function requireGceImage(compute: GceComputeApi, ref: string): Promise<GceImage & {path: string}> {
  const path = imagePath(ref, compute.project)
  const image = await compute.findImage(ref)
  if (!image) throw new InfraError(`gce: image ${path} does not exist (or the credentials may not read it)`)
  if (image.status && image.status !== 'READY') throw new InfraError(`gce: image ${path} is ${image.status}, not READY`)
  // A family resolves to its newest image: boot that one, so every machine of the run boots the same.
  const resolved = image.selfLink ? image.selfLink.replace(/^.*\/compute\/v1\//, '') : path
  return {...image, path: resolved}
}

export interface LaunchGceInstance {
  zone: string
  /** `<run id>-<test>-<n>`: also the boot disk's name. */
  name: string
  runId: string
  /** A path under compute/v1 (requireGceImage's `path`). */
  image: string
  machineType: string
  diskType: string
  network: string
  /** The Ignition config: metadata `user-data`, where Flatcar's and Fedora CoreOS's Ignition read it on GCE. */
  userData: string
  /** `user:ssh-ed25519 ...` lines for metadata `ssh-keys`. */
  sshKeys?: string[] | undefined
  /** kola --gce-gvnic: the NIC is gVNIC (the image needs the GVNIC guest OS feature) instead of virtio-net. */
  gvnic?: boolean | undefined
}

/**
 * instances.insert as flatcar/mantle platform/api/gcloud/compute.go builds it
 * (boot disk from the image, auto-deleted; a one-to-one NAT address; the
 * Ignition config as `user-data`, the NIC type VIRTIO_NET or GVNIC), labelled with our marker and the run id
 * so that `ore gcloud gc` finds it; waits for the zone operation.
 */
export async function launchGceInstance(compute: GceComputeApi, o: LaunchGceInstance, ctx: ServiceContext): Promise<void> {
  const instance: GceInstance & Record<string, unknown> = {
    name: o.name,
    machineType: `zones/${o.zone}/machineTypes/${o.machineType}`,
    labels: {[MARKER_KEY]: MARKER_VALUE, [RUN_LABEL]: o.runId},
    disks: [
      {
        boot: true,
        autoDelete: true,
        type: 'PERSISTENT',
        initializeParams: {diskName: o.name, sourceImage: o.image, diskType: `zones/${o.zone}/diskTypes/${o.diskType}`},
      },
    ],
    networkInterfaces: [
      {
        network: `global/networks/${o.network}`,
        accessConfigs: [{type: 'ONE_TO_ONE_NAT', name: 'External NAT'}],
        // compute.go: NicType "VIRTIO_NET", or "GVNIC" with --gce-gvnic.
        nicType: o.gvnic ? 'GVNIC' : 'VIRTIO_NET',
      },
    ],
    metadata: {
      items: [{key: 'user-data', value: o.userData}, ...(o.sshKeys?.length ? [{key: 'ssh-keys', value: o.sshKeys.join('\n')}] : [])],
    },
  }
  const operation = await compute.insertInstance(o.zone, instance)
  ctx.logger.debug(`gce: inserting ${o.name} in ${o.zone}: operation ${operation.name}`)
  await compute.waitOperation(operation)
}

/** Polls instances.get until RUNNING with an external address: {public, private}. */
export async function waitGceRunning(
  compute: GceComputeApi,
  zone: string,
  name: string,
  ctx: ServiceContext,
): Promise<{publicIp: string; privateIp: string}> {
  return pollUntil(
    async () => {
      const i = await compute.getInstance(zone, name)
      if (!i) throw new InfraError(`gce: instance ${name} in ${zone} vanished while starting`)
      if (i.status === 'TERMINATED' || i.status === 'STOPPED' || i.status === 'SUSPENDED')
        throw new InfraError(`gce: instance ${name} is ${i.status} instead of starting`)
      const nic = i.networkInterfaces?.[0]
      const publicIp = nic?.accessConfigs?.find((a) => a.type === 'ONE_TO_ONE_NAT')?.natIP
      if (i.status !== 'RUNNING' || !publicIp) return undefined
      return {publicIp, privateIp: nic?.networkIP ?? publicIp}
    },
    {what: `instance ${name} to be RUNNING`, intervalMs: ctx.pollIntervalMs ?? 2000, signal: ctx.signal},
  )
}

/** The serial console (port 1) as far as GCE keeps it. */
export async function gceConsoleText(compute: GceComputeApi, zone: string, name: string): Promise<string> {
  return (await compute.getSerialPortOutput(zone, name)).contents
}

/** instances.delete, waiting for the operation: when it returns, the instance (and its auto-delete disk) is gone. Gone already is fine. */
export async function deleteGceInstance(compute: GceComputeApi, zone: string, name: string): Promise<void> {
  if (!(await compute.getInstance(zone, name))) return
  await compute.waitOperation(await compute.deleteInstance(zone, name))
}
