import {readFile} from 'node:fs/promises'
import {arch} from 'node:os'
import {join} from 'node:path'
import {text} from 'node:stream/consumers'

import {fixPrefix, isStorageError, openLocation, UsageError, type Bucket, type StorageOptions} from '@mantle/kit'

import {channelOf} from './config/load.js'
import type {ChannelsConfig, ChannelSpec} from './config/types.js'

/** What a release is about: a channel, one of its boards, a version. */
export interface ReleaseSpec {
  channel: string
  board: string
  version: string
  spec: ChannelSpec
  /** The configuration file, for messages. */
  configFile: string
}

/** The source of a release: `<source>/<board>/<version>/`. */
export interface SourceLocation {
  bucket: Bucket
  /** Key prefix of the release directory, ending in "/". */
  prefix: string
  /** Its URL, for messages. */
  url: string
}

export interface SpecInput {
  config: ChannelsConfig
  channel: string
  board?: string | undefined
  version?: string | undefined
  /** Where the SDK's src/scripts/.default_board and .repo/manifests/version.txt are looked for. */
  sdkRoot: string
  storage: StorageOptions
}

/**
 * Resolves the spec flags with the defaults of the original: the board from
 * src/scripts/.default_board (else <arch>-usr), the version from
 * .repo/manifests/version.txt, else the newest version in the source that
 * has a version.txt.
 */
export async function resolveSpec(input: SpecInput): Promise<ReleaseSpec> {
  const spec = channelOf(input.config, input.channel)
  const board = input.board ?? (await defaultBoard(input.sdkRoot))
  if (!spec.boards.includes(board)) {
    throw new UsageError(`board "${board}" is not published by channel "${input.channel}" (boards: ${spec.boards.join(', ')})`, {
      hint: 'choose one with -B/--board',
    })
  }
  const version = input.version ?? (await sdkVersion(input.sdkRoot)) ?? (await newestSourceVersion(spec, board, input.storage))
  if (!/^[0-9A-Za-z][0-9A-Za-z._+-]*$/.test(version)) throw new UsageError(`version "${version}" is not a version (expected e.g. 3815.2.0)`)
  return {channel: input.channel, board, version, spec, configFile: input.config.file}
}

async function defaultBoard(sdkRoot: string): Promise<string> {
  const file = join(sdkRoot, 'src', 'scripts', '.default_board')
  const content = await readFile(file, 'utf8').catch(() => undefined)
  const board = content?.trim()
  if (board) return board
  return `${arch() === 'arm64' ? 'arm64' : 'amd64'}-usr`
}

async function sdkVersion(sdkRoot: string): Promise<string | undefined> {
  const content = await readFile(join(sdkRoot, '.repo', 'manifests', 'version.txt'), 'utf8').catch(() => undefined)
  return content === undefined ? undefined : parseVersionTxt(content).versionId
}

/** The fields of a version.txt (`FLATCAR_VERSION=...`, `COREOS_VERSION_ID=...`). */
export function parseVersionTxt(content: string): {version?: string; versionId?: string} {
  const out: {version?: string; versionId?: string} = {}
  for (const line of content.split('\n')) {
    const m = /^\s*(?:[A-Z]+_)?(VERSION|VERSION_ID)\s*=\s*"?([^"\s]*)"?\s*$/.exec(line)
    if (!m) continue
    if (m[1] === 'VERSION') out.version = m[2]!
    else out.versionId = m[2]!
  }
  return out
}

export async function openSource(release: ReleaseSpec, storage: StorageOptions): Promise<SourceLocation> {
  const base = await openLocation(release.spec.source, storage)
  const prefix = `${fixPrefix(base.key)}${release.board}/${release.version}/`
  return {bucket: base.bucket, prefix, url: base.bucket.urlOf(prefix)}
}

/**
 * The first check of every stage: the source must hold version.txt, and it
 * must name the version asked for.
 */
export async function checkSource(release: ReleaseSpec, source: SourceLocation, signal?: AbortSignal): Promise<void> {
  const key = `${source.prefix}version.txt`
  let content: string
  try {
    content = await text((await source.bucket.read(key, signal ? {signal} : {})).body)
  } catch (error) {
    if (isStorageError(error, 'not-found') || isStorageError(error, 'bucket-not-found')) {
      throw new UsageError(`source ${source.url} has no version.txt: not a build of ${release.board} ${release.version}`, {
        hint: "check -V/--version, -B/--board and the channel's source in the config",
      })
    }
    throw error
  }
  const fields = parseVersionTxt(content)
  if (fields.version !== release.version && fields.versionId !== release.version) {
    throw new UsageError(
      `source ${source.bucket.urlOf(key)} is version ${fields.version ?? fields.versionId ?? '(none)'}, not ${release.version}`,
    )
  }
}

async function newestSourceVersion(spec: ChannelSpec, board: string, storage: StorageOptions): Promise<string> {
  const base = await openLocation(spec.source, storage)
  const prefix = `${fixPrefix(base.key)}${board}/`
  const versions: string[] = []
  for await (const entry of base.bucket.list({prefix, delimiter: '/'})) {
    if (entry.type === 'prefix') versions.push(entry.prefix.slice(prefix.length, -1))
  }
  versions.sort(naturalCompare).reverse()
  for (const v of versions) {
    if (await base.bucket.stat(`${prefix}${v}/version.txt`)) return v
  }
  throw new UsageError(`no version given and none found in ${base.bucket.urlOf(prefix)}`, {hint: 'pass -V/--version'})
}

/** Orders "9" before "10" in every run of digits. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', {numeric: true})
}
