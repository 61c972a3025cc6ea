import {lstat, mkdir, stat} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import {
  baseName,
  chooseKeyring,
  download,
  openLocation,
  parseStorageUrl,
  UsageError,
  type Logger,
  type Progress,
  type StorageOptions,
} from '@mantle/kit'

export interface GetOptions {
  url: string
  /** A file, or a directory (existing, or ending in "/") to put the object's base name in; default: `cwd`. */
  path?: string | undefined
  cwd: string
  /** How to verify; undefined downloads without verification. */
  verify?: {keyFiles: readonly string[]; userDirectory: string} | undefined
  keepSignature: boolean
  /** Also compute the file's SHA-256 (a second digest over every byte, beside the signature's). */
  sha256: boolean
  storage: StorageOptions
  logger: Logger
  progress?: ((label: string, total?: number) => Progress) | undefined
  signal?: AbortSignal | undefined
}

/** What `gangue get --json` prints. */
export interface GetResult {
  url: string
  path: string
  bytes: number
  /** Hex SHA-256 of the file with --sha256; null otherwise. */
  sha256: string | null
  verified: boolean
  /** Fingerprint of the signer's primary key; null when not verified. */
  signerFingerprint: string | null
  /** Fingerprint of the (sub)key that made the signature. */
  signingKeyFingerprint: string | null
  signerUserId: string | null
  /** downloaded, resumed (a previous part file was continued), up-to-date (the existing file verified), unchanged. */
  action: string
  resumedFrom: number
  /** What to know about a good signature (its key expired since, or expires soon); also logged as warnings. */
  warnings: string[]
}

/** Downloads one object of any storage backend to a file, verifying its detached signature on the way. */
export async function get(options: GetOptions): Promise<GetResult> {
  const {url, logger} = options
  const parsed = parseStorageUrl(url, options.cwd)
  if (parsed.key === '' || parsed.key.endsWith('/')) {
    throw new UsageError(`${url} names a directory or prefix, not an object`, {
      hint: 'give the URL of one file, e.g. gs://bucket/path/file.bin',
    })
  }
  const destination = await destinationFor(options.path, options.cwd, baseName(parsed.key))
  // The keys (openpgp, key files) load when download asks: on a fresh download, once the data flows (see download).
  const verify = options.verify
  const keyring = verify ? () => chooseKeyring(verify) : undefined
  if (!options.verify) logger.warn(`${url}: downloading WITHOUT signature verification (--no-verify)`)
  const {bucket, key} = await openLocation(url, {...options.storage, cwd: options.cwd, logger, signal: options.signal})
  const result = await download({
    source: bucket,
    key,
    destination,
    keyring,
    keepSignature: options.keepSignature,
    sha256: options.sha256,
    logger,
    progress: options.progress,
    signal: options.signal,
  })
  const signer = result.signer
  return {
    url: result.url,
    path: result.path,
    bytes: result.bytes,
    sha256: result.sha256 ?? null,
    verified: result.verified,
    signerFingerprint: signer?.fingerprint ?? null,
    signingKeyFingerprint: signer?.signingKeyFingerprint ?? null,
    signerUserId: signer?.userId ?? null,
    action: result.action,
    resumedFrom: result.resumedFrom,
    warnings: signer?.warnings ?? [],
  }
}

async function destinationFor(path: string | undefined, cwd: string, name: string): Promise<string> {
  const destination = await chooseDestination(path, cwd, name)
  // A device, a pipe or a socket is never replaced by the downloaded file, nor written through as a part file.
  for (const p of [destination, `${destination}.part`]) {
    const st = await lstat(p).catch(() => undefined)
    if (st && !st.isFile()) {
      throw new UsageError(`${p} exists and is not a regular file`, {
        hint: 'give the path of a regular file or a directory to download into',
      })
    }
  }
  return destination
}

async function chooseDestination(path: string | undefined, cwd: string, name: string): Promise<string> {
  if (path === undefined) return join(cwd, name)
  const target = resolve(cwd, path)
  const st = await stat(target).catch(() => undefined)
  if (st?.isDirectory()) return join(target, name)
  if (path.endsWith('/')) {
    await mkdir(target, {recursive: true})
    return join(target, name)
  }
  const parent = await stat(dirname(target)).catch(() => undefined)
  if (!parent?.isDirectory())
    throw new UsageError(`${path}: directory ${dirname(target)} does not exist`, {
      hint: 'create it first, or end the path with "/" to have it created',
    })
  return target
}
