import {mkdir} from 'node:fs/promises'
import {dirname} from 'node:path'

import {
  BugError,
  chooseKeyring,
  download,
  openLocation,
  userKeyDirectory,
  type Logger,
  type Progress,
  type StorageOptions,
} from '@mantle/kit'

import type {FetchRequest, FetchResult, SdkFetcher} from './fetcher.js'

export interface KitFetcherOptions {
  /** Credentials and endpoints for the storage backends, resolved by the command. */
  storage: StorageOptions
  /** For the user's keyring directory. */
  env: NodeJS.ProcessEnv
  home: string
  logger: Logger
  progress?: ((label: string, total?: number) => Progress) | undefined
}

/**
 * The SdkFetcher of the kit: its storage layer opens the URL, its signed
 * download fetches `<url>.sig` first, checks it against the keyring, and
 * verifies the data while it streams into `<dest>.part`, renaming it onto
 * `dest` only when it verifies.
 */
export function kitFetcher(options: KitFetcherOptions): SdkFetcher {
  return {
    async fetch(request: FetchRequest): Promise<FetchResult> {
      const verify = request.verify !== false
      // Keys given explicitly are the only ones trusted; otherwise the embedded keys and the user's keyring.
      const keyring = verify
        ? await chooseKeyring({keyFiles: request.keys, userDirectory: userKeyDirectory(options.env, options.home)})
        : undefined
      const {bucket, key} = await openLocation(request.url, {...options.storage, logger: options.logger, signal: request.signal})
      await mkdir(dirname(request.dest), {recursive: true})
      const result = await download({
        source: bucket,
        key,
        destination: request.dest,
        keyring,
        // The SDK container is labelled with its tarball's SHA-256.
        sha256: true,
        logger: options.logger,
        progress: options.progress,
        signal: request.signal,
      })
      // A keyring was given, so the kit verifies or throws; anything else is a broken invariant.
      if (verify && (!result.verified || !result.signer)) throw new BugError(`${request.url} was downloaded without a verified signature`)
      return {
        path: result.path,
        sha256: result.sha256,
        signer: result.signer?.fingerprint,
        bytes: result.bytes,
        cached: result.action === 'up-to-date',
      }
    },
  }
}
