import {spawn} from 'node:child_process'
import {createWriteStream} from 'node:fs'
import {mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pipeline} from 'node:stream/promises'

import {download, InfraError, type Keyring, type Logger, type Progress} from '@mantle/kit'

import type {ReleaseSpec, SourceLocation} from '../spec.js'

export interface VerifyImagesOptions {
  release: ReleaseSpec
  source: SourceLocation
  /** File names inside the release directory. */
  files: readonly string[]
  /** Of those, the ones a cloud needs decompressed (.bz2). */
  decompress: ReadonlySet<string>
  keyring: Keyring
  /** Root of the image cache: files land in <cacheDir>/<channel>/<board>/<version>/. */
  cacheDir: string
  logger: Logger
  signal: AbortSignal
  progress?: ((label: string, total?: number) => Progress) | undefined
}

export interface VerifiedImage {
  file: string
  /** The verified file in the cache. */
  path: string
  /** The decompressed image, for the files that needed it. */
  raw?: string | undefined
  sha256: string
  signer: string | undefined
}

/**
 * The gate of every stage: each image the stage uses is downloaded into the
 * cache and its detached signature verified (kit's signed download; a file
 * already in the cache that verifies is not fetched again), before anything
 * is written anywhere. A bad signature fails here, exit 1.
 */
export async function verifyImages(options: VerifyImagesOptions): Promise<Map<string, VerifiedImage>> {
  const {release, source} = options
  const dir = join(options.cacheDir, release.channel, release.board, release.version)
  await mkdir(dir, {recursive: true})
  const out = new Map<string, VerifiedImage>()
  for (const file of new Set(options.files)) {
    options.signal.throwIfAborted()
    const result = await download({
      source: source.bucket,
      key: `${source.prefix}${file}`,
      destination: join(dir, file),
      keyring: options.keyring,
      // The image's SHA-256 names its decompressed copy and goes into the release's records.
      sha256: true,
      logger: options.logger,
      signal: options.signal,
      progress: options.progress,
    })
    options.logger.info(`${result.url}: ${result.action}, signed by ${result.signer?.fingerprint ?? 'unknown'}`)
    const image: VerifiedImage = {file, path: result.path, sha256: result.sha256, signer: result.signer?.fingerprint}
    if (options.decompress.has(file)) image.raw = await decompressed(result.path, result.sha256, options)
    out.set(file, image)
  }
  return out
}

/**
 * The decompressed copy of a verified .bz2 file, made once: a stamp beside it
 * records which compressed file (by SHA-256) it came from, so a new build of
 * the same version is decompressed again and an interrupted one is redone.
 */
async function decompressed(path: string, sha256: string, options: VerifyImagesOptions): Promise<string> {
  if (!path.endsWith('.bz2')) return path
  const raw = path.slice(0, -'.bz2'.length)
  const stamp = `${raw}.from-sha256`
  const known = await readFile(stamp, 'utf8').catch(() => undefined)
  if (known?.trim() === sha256 && (await stat(raw).catch(() => undefined))?.isFile()) return raw
  options.logger.info(`decompressing ${path}`)
  const part = `${raw}.part`
  await rm(stamp, {force: true})
  const child = spawn('bzip2', ['-dc', path], {stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve(code ?? 1))
  })
  try {
    await pipeline(child.stdout, createWriteStream(part))
    const code = await exited
    if (code !== 0) throw new InfraError(`bzip2 -d ${path} failed: ${stderr.trim().split('\n')[0] ?? `exit ${code}`}`)
  } catch (error) {
    await rm(part, {force: true})
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InfraError('bzip2 is not installed', {hint: 'apt-get install bzip2'})
    }
    throw error
  }
  await rename(part, raw)
  await writeFile(stamp, `${sha256}\n`)
  return raw
}
