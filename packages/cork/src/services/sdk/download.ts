import {join} from 'node:path'

import type {FetchResult, SdkFetcher} from './fetcher.js'
import {sdkCacheDir, sdkTarballName, sdkUrl, type SdkLayout} from './layout.js'

export const DEFAULT_SDK_URL = 'mirror.release.flatcar-linux.net'
export const DEFAULT_SDK_URL_PATH = 'sdk'

export interface SdkSource {
  /** Base URL (any storage URL), or a bare host name for https. */
  url: string
  /** Path under the base (`sdk`). */
  path: string
  /** Key files; empty means the embedded keys and the user's keyring. */
  keys: readonly string[]
  fetcher: SdkFetcher
}

export interface DownloadedSdk extends FetchResult {
  url: string
}

/** The SDK tarball of the layout's SDK version, verified, in `<root>/.cache/sdks/`. */
export async function downloadSdk(layout: SdkLayout, source: SdkSource, signal?: AbortSignal): Promise<DownloadedSdk> {
  const file = sdkTarballName(layout.versions.name, layout.arch, layout.versions.sdk)
  const url = sdkUrl(source.url, source.path, layout.arch, layout.versions.sdk, file)
  const result = await source.fetcher.fetch({url, dest: join(sdkCacheDir(layout.root), file), keys: source.keys, signal})
  return {...result, url}
}
