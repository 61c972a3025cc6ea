import type {Logger} from '@mantle/kit'

import {connectDocker} from './engine/docker.js'
import type {Endpoint} from './engine/endpoint.js'
import {listSdkContainers, removeContainer, removeImageIfUnused} from './sdk/container.js'
import {refOf} from './update.js'

export interface DeleteOptions {
  root: string
  endpoint: Endpoint
  /** Keep the SDK images (a later create skips the download and import). */
  keepImages: boolean
  /** Only the container of this name (--chroot); else every SDK container of the checkout. */
  chroot?: string | undefined
  logger: Logger
  signal?: AbortSignal | undefined
}

export interface DeleteResult {
  containers: string[]
  images: string[]
}

/** Removes every SDK container of a checkout, and the images they used unless another container still does. */
export async function deleteSdk(options: DeleteOptions): Promise<DeleteResult> {
  const {endpoint, logger} = options
  const docker = await connectDocker(endpoint, options.signal)
  const result: DeleteResult = {containers: [], images: []}
  const containers = (await listSdkContainers(docker, endpoint, options.root)).filter((c) => !options.chroot || c.name === options.chroot)
  if (containers.length === 0) logger.notice(`no SDK container ${options.chroot ? `${options.chroot} ` : ''}for ${options.root}`)
  for (const c of containers) {
    logger.info(`removing container ${c.name}`)
    if (await removeContainer(docker, endpoint, c.name)) result.containers.push(c.name)
  }
  if (!options.keepImages) {
    const refs = new Set(containers.map(refOf).filter((r): r is string => r !== undefined))
    for (const ref of refs) {
      logger.info(`removing image ${ref}`)
      if (await removeImageIfUnused(docker, endpoint, ref)) result.images.push(ref)
    }
  }
  return result
}
