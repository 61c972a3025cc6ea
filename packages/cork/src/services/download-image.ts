import {join} from 'node:path'

import {UsageError} from '@mantle/kit/errors'

import type {FetchResult, SdkFetcher} from './sdk/fetcher.js'
import type {SdkLayout} from './sdk/layout.js'

/** The files of each platform's image, after the image prefix (`flatcar_production`). */
export const PLATFORM_FILES = {
  aws: ['_ami_vmdk_image.vmdk.bz2'],
  esx: ['_vmware_ova.ova'],
  gce: ['_gce.tar.gz'],
  qemu: ['_qemu_image.img.bz2'],
  qemu_uefi: ['_qemu_uefi_efi_code.fd', '_qemu_uefi_efi_vars.fd', '_qemu_uefi_image.img.bz2'],
} as const
export type Platform = keyof typeof PLATFORM_FILES
export const PLATFORMS = Object.keys(PLATFORM_FILES) as Platform[]

/** Where the images of an OS version are published, by default. */
export function defaultImageRoot(layout: SdkLayout): string {
  return layout.versions.name === 'coreos'
    ? `https://storage.googleapis.com/builds.developer.core-os.net/boards/${layout.board}/${layout.versions.os}`
    : `https://bincache.flatcar-linux.net/images/${layout.arch}/${layout.versions.os}`
}

/** The channels --root may name, as the original's shorthands. */
export const CHANNELS = ['alpha', 'beta', 'stable', 'lts'] as const

/** A --root as given: a channel's current release, a URL, or (absent) the default for the OS version. */
export function imageRoot(root: string | undefined, layout: SdkLayout): string {
  if (root === undefined) return defaultImageRoot(layout)
  if (root.trim() === '') throw new UsageError('--root is empty', {hint: `give a storage URL, or one of ${CHANNELS.join(', ')}`})
  if ((CHANNELS as readonly string[]).includes(root)) return `https://${root}.release.flatcar-linux.net/${layout.board}/current`
  return root
}

export interface DownloadImageOptions {
  layout: SdkLayout
  platforms: readonly Platform[]
  /** Base URL of the images (any storage URL). */
  root: string
  /** Local cache; files land in `<cacheDir>/<arch>/<os version>/`. */
  cacheDir: string
  prefix: string
  keys: readonly string[]
  verify: boolean
  fetcher: SdkFetcher
  signal?: AbortSignal | undefined
}

export interface DownloadedImage extends FetchResult {
  platform: Platform
  url: string
}

/** Downloads (and verifies) the image files of each platform, in order; a platform given twice is fetched once. */
export async function downloadImages(options: DownloadImageOptions): Promise<DownloadedImage[]> {
  if (options.platforms.length === 0) throw new UsageError('no --platform given', {hint: `choose from ${PLATFORMS.join(', ')}`})
  const dir = join(options.cacheDir, options.layout.arch, options.layout.versions.os)
  const base = options.root.replace(/\/+$/, '')
  const results: DownloadedImage[] = []
  for (const platform of new Set(options.platforms)) {
    for (const suffix of PLATFORM_FILES[platform]) {
      const file = `${options.prefix}${suffix}`
      const url = `${base}/${file}`
      const fetched = await options.fetcher.fetch({
        url,
        dest: join(dir, file),
        keys: options.keys,
        verify: options.verify,
        signal: options.signal,
      })
      results.push({...fetched, platform, url})
    }
  }
  return results
}
