import {UsageError} from '@mantle/kit/errors'

import {createSdk, finishSdk, type CreateOptions, type CreateResult} from './create.js'
import {connectDocker} from './engine/docker.js'
import {LABEL, listSdkContainers, removeContainer, removeImageIfUnused, type ContainerState} from './sdk/container.js'
import {imageRef, sdkContainerName} from './sdk/layout.js'

export interface UpdateOptions extends CreateOptions {
  /** Create the container when the checkout has none. */
  create: boolean
  /** The wanted SDK is older than the container's: keep the newer container. */
  downgradeInPlace: boolean
  /** The wanted SDK is older than the container's: replace it with the older one. */
  downgradeReplace: boolean
}

export interface UpdateResult {
  /** updated, created, current (nothing to do), kept (a downgrade declined in place) or recreated (--replace). */
  action: 'updated' | 'created' | 'current' | 'kept' | 'recreated'
  container: string
  sdkVersion: string
  osVersion: string
  previous?: {container: string; sdkVersion: string} | undefined
  removed: {containers: string[]; images: string[]}
  created?: CreateResult | undefined
  /** The repo commands run in a container that was kept. */
  repo?: string[][] | undefined
}

/**
 * Moves a checkout's SDK container to the wanted SDK and OS versions: a new
 * image and container, then the old ones removed. A wanted SDK older than the
 * container's is refused unless a downgrade policy is given.
 */
export async function updateSdk(options: UpdateOptions): Promise<UpdateResult> {
  const {layout, endpoint, logger, signal} = options
  const {sdk, os} = layout.versions
  const wanted = sdkContainerName(layout, options.chroot)
  const docker = await connectDocker(endpoint, signal)
  // With --chroot, that container alone; without, the checkout's containers named after their versions.
  const existing = (await listSdkContainers(docker, endpoint, layout.root)).filter((c) =>
    options.chroot ? c.name === options.chroot : !c.labels[LABEL.chroot],
  )
  const removed = {containers: [] as string[], images: [] as string[]}

  if (existing.length === 0) {
    if (!options.create) {
      throw new UsageError(`no SDK container ${options.chroot ? `${options.chroot} ` : ''}for ${layout.root}`, {
        hint: 'run cork create, or pass --create',
      })
    }
    const created = await createSdk(options)
    return {action: 'created', container: created.container, sdkVersion: sdk, osVersion: os, removed, created}
  }

  const current = newest(existing)
  const currentSdk = current.labels[LABEL.sdkVersion] ?? ''
  const previous = {container: current.name, sdkVersion: currentSdk}
  const same = existing.find((c) => c.name === wanted)
  // A --chroot name stays while the versions change: same name is not yet same versions.
  const upToDate = same && same.labels[LABEL.sdkVersion] === sdk && same.labels[LABEL.osVersion] === os
  if (upToDate && !options.replace) {
    const created = await createSdk(options)
    await removeOld(options, existing, wanted, removed)
    return {action: 'current', container: wanted, sdkVersion: sdk, osVersion: os, previous, removed, created}
  }
  if (!upToDate && compareVersions(sdk, currentSdk) < 0) {
    if (options.downgradeInPlace) {
      logger.notice(`keeping ${current.name}: its SDK ${currentSdk} is newer than ${sdk} (--downgrade-in-place)`)
      const {repo} = await finishSdk(current.name, options)
      const osVersion = current.labels[LABEL.osVersion] ?? os
      return {action: 'kept', container: current.name, sdkVersion: currentSdk, osVersion, previous, removed, repo}
    }
    if (!options.downgradeReplace) {
      throw new UsageError(`the SDK in ${current.name} (${currentSdk}) is newer than the wanted ${sdk}`, {
        hint: 'pass --downgrade-in-place to keep the newer SDK, or --downgrade-replace to replace it with the older one',
      })
    }
    logger.notice(`replacing SDK ${currentSdk} with the older ${sdk} (--downgrade-replace)`)
  }

  // A container of the wanted name with other versions (a --chroot name) is recreated in place.
  const created = await createSdk({...options, replace: options.replace || Boolean(same)})
  await removeOld(options, existing, wanted, removed)
  const action = upToDate ? 'recreated' : 'updated'
  return {action, container: created.container, sdkVersion: sdk, osVersion: os, previous, removed, created}
}

/** Removes the checkout's other SDK containers, then the images they used unless something still uses them. */
async function removeOld(
  options: UpdateOptions,
  existing: ContainerState[],
  keep: string,
  removed: UpdateResult['removed'],
): Promise<void> {
  const docker = await connectDocker(options.endpoint, options.signal)
  for (const c of existing) {
    if (c.name === keep) continue
    options.logger.notice(`removing the old container ${c.name}`)
    if (await removeContainer(docker, options.endpoint, c.name)) removed.containers.push(c.name)
  }
  const kept = imageRef(options.layout.versions.name, options.layout.arch, options.layout.versions.sdk).ref
  for (const ref of new Set(existing.map(refOf))) {
    if (ref && ref !== kept && (await removeImageIfUnused(docker, options.endpoint, ref))) removed.images.push(ref)
  }
}

export function refOf(c: ContainerState): string | undefined {
  const name = c.labels[LABEL.name]
  const arch = c.labels[LABEL.arch]
  const sdk = c.labels[LABEL.sdkVersion]
  return name && arch && sdk ? imageRef(name, arch, sdk).ref : undefined
}

function newest(containers: ContainerState[]): ContainerState {
  return [...containers].sort((a, b) => compareVersions(b.labels[LABEL.sdkVersion] ?? '', a.labels[LABEL.sdkVersion] ?? ''))[0]!
}

/** Dotted version order: numeric parts numerically (`9` < `10`), then the rest as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/)
  const pb = b.split(/[.+-]/)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i]
    const y = pb[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    const nx = /^\d+$/.test(x) ? Number(x) : NaN
    const ny = /^\d+$/.test(y) ? Number(y) : NaN
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx < ny ? -1 : 1
    } else if (x !== y) {
      return x < y ? -1 : 1
    }
  }
  return 0
}
