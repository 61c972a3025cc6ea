import type {Logger} from '@mantle/kit'
import {BugError, CheckFailedError} from '@mantle/kit/errors'

import {connectDocker} from './engine/docker.js'
import type {Endpoint} from './engine/endpoint.js'
import {ensureContainer, importImage, inspectImage, LABEL, type EnsureOutcome} from './sdk/container.js'
import {downloadSdk, type SdkSource} from './sdk/download.js'
import {imageRef, sdkContainerName, type SdkLayout} from './sdk/layout.js'
import {sdkMounts, type MountOptions} from './sdk/mounts.js'
import {syncCheckout, type RepoOptions} from './sdk/repo.js'
import {verifyCheckouts, type VerifyResult} from './verify.js'

export interface CreateOptions {
  layout: SdkLayout
  endpoint: Endpoint
  source: SdkSource
  /** Everything of the mounts but the checkout, which comes from the layout. */
  mounts: Omit<MountOptions, 'root'>
  /** Recreate the container even if one exists. */
  replace: boolean
  /** The container's name (--chroot), instead of the one derived from the versions. */
  chroot?: string | undefined
  /** Afterwards, repo init and/or repo sync in the container (--manifest-url, update --force-sync). */
  repo?: RepoOptions | undefined
  /** Afterwards, check the checkouts this manifest names (as `cork verify`). */
  verifyManifest?: string | undefined
  logger: Logger
  signal?: AbortSignal | undefined
}

export interface CreateResult {
  container: string
  image: string
  sdkVersion: string
  osVersion: string
  /** created, reused or replaced. */
  containerOutcome: EnsureOutcome
  /** imported, or reused when the image already existed. */
  imageOutcome: 'imported' | 'reused'
  tarball?: {url: string; path: string; sha256: string; signer: string} | undefined
  /** The repo commands run in the container, in order. */
  repo?: string[][] | undefined
  verify?: VerifyResult | undefined
}

/**
 * The SDK container of a checkout: the image of its SDK version (downloaded,
 * verified and imported when missing), and the container for its SDK and OS
 * versions, reused when it exists.
 */
export async function createSdk(options: CreateOptions): Promise<CreateResult> {
  const {layout, endpoint, logger, signal} = options
  const {name, sdk, os} = layout.versions
  const image = imageRef(name, layout.arch, sdk)
  const container = sdkContainerName(layout, options.chroot)
  // The engine first: no point downloading gigabytes for an engine that is not there.
  const docker = await connectDocker(endpoint, signal)

  let tarball: CreateResult['tarball']
  let imageOutcome: CreateResult['imageOutcome'] = 'reused'
  if (await inspectImage(docker, endpoint, image.ref)) {
    logger.info(`image ${image.ref} exists`)
  } else {
    logger.notice(`downloading the ${name} SDK ${sdk} for ${layout.arch}`)
    const fetched = await downloadSdk(layout, options.source, signal)
    if (!fetched.signer) throw new BugError(`${fetched.url} came without a verified signature`)
    tarball = {url: fetched.url, path: fetched.path, sha256: fetched.sha256, signer: fetched.signer}
    logger.notice(`importing ${fetched.path} as ${image.ref} (signed by ${fetched.signer})`)
    await importImage(docker, endpoint, {
      tarball: fetched.path,
      ref: image.ref,
      labels: {
        [LABEL.managed]: '1',
        [LABEL.name]: name,
        [LABEL.arch]: layout.arch,
        [LABEL.sdkVersion]: sdk,
        [LABEL.tarballSha256]: fetched.sha256,
      },
      signal,
    })
    imageOutcome = 'imported'
  }

  const {mounts, env} = await sdkMounts({...options.mounts, root: layout.root})
  const {outcome} = await ensureContainer(
    docker,
    endpoint,
    {
      name: container,
      image: image.ref,
      root: layout.root,
      mounts,
      env,
      uid: options.mounts.uid,
      gid: options.mounts.gid,
      labels: {
        [LABEL.name]: name,
        [LABEL.arch]: layout.arch,
        [LABEL.sdkVersion]: sdk,
        [LABEL.osVersion]: os,
        ...(options.chroot ? {[LABEL.chroot]: options.chroot} : {}),
      },
    },
    {replace: options.replace, logger, signal},
  )
  logger.notice(`${outcome === 'reused' ? 'reusing' : outcome} container ${container}`)
  const {repo, verify} = await finishSdk(container, options)
  return {container, image: image.ref, sdkVersion: sdk, osVersion: os, containerOutcome: outcome, imageOutcome, tarball, repo, verify}
}

/** What follows a ready container: the repo steps, then the check of the checkouts. */
export async function finishSdk(container: string, options: CreateOptions): Promise<Pick<CreateResult, 'repo' | 'verify'>> {
  const {layout, logger, signal} = options
  const repo = options.repo ? await syncRepo(options.endpoint, container, options.repo, options) : undefined
  if (!options.verifyManifest) return {repo}
  const verify = await verifyCheckouts({root: layout.root, manifest: options.verifyManifest, signal})
  const failed = verify.projects.filter((p) => !p.ok)
  for (const p of failed) logger.error(`${p.path}: ${p.problems.join('; ')}`)
  if (failed.length > 0) {
    throw new CheckFailedError(
      `container ${container} is ready, but ${failed.length} of ${verify.projects.length} checkouts do not match ${options.verifyManifest}`,
      {
        hint: 'see cork verify',
      },
    )
  }
  return {repo, verify}
}

/** The repo steps in the container, as the user the container was set up for. */
export async function syncRepo(
  endpoint: Endpoint,
  container: string,
  repo: RepoOptions,
  options: Pick<CreateOptions, 'mounts' | 'logger' | 'signal'>,
): Promise<string[][]> {
  const user = `${options.mounts.uid}:${options.mounts.gid}`
  const steps = await syncCheckout(endpoint, container, {...repo, user, logger: options.logger, signal: options.signal})
  return steps.map((s) => s.command)
}
