import type {Logger} from '../log.js'
import {md5Hex} from './body.js'
import {isStorageError} from './errors.js'
import {forEachLimit} from './limit.js'
import {allPrefixes, fetchListing, indexNames, md5Of, naturalCompare, type Listing} from './listing.js'
import type {Bucket, ObjectInfo} from './types.js'
import {baseName, fixPrefix, parentPrefix} from './url.js'

/** How many requests run at once, as in the original. */
export const MAX_CONCURRENT_REQUESTS = 12

export const INDEX_CONTENT_TYPE = 'text/html'
export const INDEX_CACHE_CONTROL = 'public, max-age=60'

export interface IndexOptions {
  bucket: Bucket
  /** The prefix to index ('' for the whole bucket). */
  prefix: string
  /** Page titles are `<title>/<prefix>`; default: the bucket's name. */
  title?: string | undefined
  /** A local directory's pages are titled from this prefix down (the published root); default: the indexed prefix. */
  titleRoot?: string | undefined
  /** Write `p` (a redirect to `p/`) and `p/` (the listing) for each directory. */
  directoryHtml: boolean
  /** Write `p/index.html` for each directory. */
  indexHtml: boolean
  /** Remove the pages of directories that are empty, or whose kind of page is off, where the listing showed them. */
  delete: boolean
  /** Every directory below `prefix`, not only `prefix` itself. */
  recursive: boolean
  /** Log what would change; change nothing. */
  dryRun: boolean
  /** Write pages even when the stored ones are the same. */
  force: boolean
  /** A listing fetched already (sync passes the destination's, as it will be). */
  listing?: Listing | undefined
  concurrency?: number | undefined
  logger?: Logger | undefined
  signal?: AbortSignal | undefined
}

export interface IndexResult {
  /** Keys written (or that would be, with dryRun). */
  written: string[]
  deleted: string[]
  /** Pages already up to date. */
  unchanged: number
}

interface Directory {
  prefix: string
  empty: boolean
  subdirs: string[]
  objects: ObjectInfo[]
}

/**
 * The directory tree of a listing, without the index pages themselves. With
 * `includeEmpty` (non-recursive runs), sub-prefixes the store rolled up count
 * as non-empty, since their contents were not fetched.
 */
export function buildTree(listing: Listing, includeEmpty: boolean): Map<string, Directory> {
  const dirs = new Map<string, Directory>()
  const dir = (prefix: string): Directory => {
    let d = dirs.get(prefix)
    if (!d) dirs.set(prefix, (d = {prefix, empty: true, subdirs: [], objects: []}))
    return d
  }
  const markNonEmpty = (start: string): void => {
    for (let p = start; dir(p).empty; p = parentPrefix(p)) {
      dir(p).empty = false
      if (p === '') return
      dir(parentPrefix(p)).subdirs.push(p)
    }
  }
  for (const p of allPrefixes(listing)) {
    dir(p)
    if (includeEmpty) markNonEmpty(p)
  }
  const pages = indexNames(listing)
  for (const [key, info] of listing.objects) {
    if (pages.has(key)) continue
    dir(parentPrefix(key)).objects.push(info)
    markNonEmpty(parentPrefix(key))
  }
  for (const d of dirs.values()) {
    d.subdirs.sort(naturalCompare)
    d.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }
  return dirs
}

const escapeHtml = (s: string): string =>
  /[&<>"']/.test(s)
    ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
    : s
const escapePath = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/').replace(/'/g, '%27')

/** The listing page of a directory (also its index.html). */
export function renderIndexPage(title: string, d: Pick<Directory, 'subdirs' | 'objects'>): string {
  const t = escapeHtml(title)
  const lines = [
    '<html>',
    '    <head>',
    `\t<title>${t}</title>`,
    '\t<meta http-equiv="X-Clacks-Overhead" content="GNU Terry Pratchett" />',
    '    </head>',
    '    <body>',
    `    <h1>${t}</h1>`,
    ...d.subdirs.map((p) => `\t[dir] <a href="${escapePath(baseName(p))}/">${escapeHtml(baseName(p))}/</a> <br/>`),
    ...d.objects.map((o) => `\t[file] <a href="${escapePath(baseName(o.key))}">${escapeHtml(baseName(o.key))}</a> <br/>`),
    '    </body>',
    '</html>',
    '',
  ]
  return lines.join('\n')
}

/** The object `p` that sends a browser on to `p/`. */
export function renderRedirect(prefix: string): string {
  return `<html><head>\n<meta http-equiv="refresh" content="0;url=${escapePath(baseName(prefix))}/">\n</head></html>\n`
}

/**
 * Writes the index pages of spec/storage.md: for each directory, the
 * redirect `p` and listing page `p/` (directoryHtml) and `p/index.html`
 * (indexHtml); removes stale ones (delete) but only where the listing showed
 * them. A page whose stored copy has the same size and MD5 is not written
 * again. Every write and delete carries a precondition: create-only for a new
 * page, the listed generation for an existing one.
 */
export async function updateIndexes(options: IndexOptions): Promise<IndexResult> {
  const {bucket, logger} = options
  const root = fixPrefix(options.prefix)
  // Keys alone: a local directory then stats only the pages compared below, not every file of the tree.
  const listing = withoutUnindexable(
    options.listing ?? (await fetchListing(bucket, root, options.recursive, options.signal, true)),
    bucket,
    logger,
  )
  // A local directory's keys are machine paths: its pages are titled from the indexed directory down.
  const local = bucket.scheme === 'file'
  const titleRoot = options.titleRoot !== undefined && root.startsWith(fixPrefix(options.titleRoot)) ? fixPrefix(options.titleRoot) : root
  const title = options.title ?? (local ? baseName(titleRoot) : bucket.name)
  const titleOf = (prefix: string): string => `${title}/${local ? prefix.slice(titleRoot.length) : prefix}`
  const tree = buildTree(listing, !options.recursive)
  const result: IndexResult = {written: [], deleted: [], unchanged: 0}
  type Job = {kind: 'write'; key: string; body: string} | {kind: 'delete'; key: string}
  const jobs: Job[] = []
  const canHoldDirectories = bucket.directoryObjects
  if (options.directoryHtml && !canHoldDirectories) {
    logger?.notice(`${bucket.urlOf(root)}: a local directory cannot hold the directory objects "p" and "p/"; writing index.html only`)
  }

  const dirs = options.recursive
    ? [...tree.values()].filter((d) => d.prefix.startsWith(root))
    : [tree.get(root) ?? {prefix: root, empty: true, subdirs: [], objects: []}]
  for (const d of dirs.sort((a, b) => (a.prefix < b.prefix ? -1 : 1))) {
    const page = (): string => renderIndexPage(titleOf(d.prefix), d)
    const deleteIfListed = (key: string): void => {
      if (key !== '' && listing.objects.has(key)) jobs.push({kind: 'delete', key})
    }
    if (options.directoryHtml && !d.empty && canHoldDirectories) {
      if (d.prefix !== '') {
        jobs.push({kind: 'write', key: d.prefix.slice(0, -1), body: renderRedirect(d.prefix)})
        jobs.push({kind: 'write', key: d.prefix, body: page()})
      }
    } else if (options.delete && canHoldDirectories) {
      deleteIfListed(d.prefix.replace(/\/$/, ''))
      deleteIfListed(d.prefix)
    }
    if (options.indexHtml && !d.empty) jobs.push({kind: 'write', key: d.prefix + 'index.html', body: page()})
    else if (options.delete) deleteIfListed(d.prefix + 'index.html')
  }

  await forEachLimit(
    jobs,
    options.concurrency ?? MAX_CONCURRENT_REQUESTS,
    async (job) => {
      const listed = listing.objects.get(job.key)
      // Listed by key alone (no generation): its size and generation come from a stat now.
      const old =
        listed && listed.generation === undefined ? await bucket.stat(job.key, options.signal ? {signal: options.signal} : {}) : listed
      if (job.kind === 'delete') {
        const url = bucket.urlOf(job.key)
        if (options.dryRun) logger?.notice(`Would delete ${url}`)
        else {
          logger?.notice(`Deleting ${url}`)
          await bucket.delete(job.key, {
            precondition: old?.generation ? {ifGenerationMatch: old.generation} : {},
            ...(options.signal ? {signal: options.signal} : {}),
          })
        }
        result.deleted.push(job.key)
        return
      }
      const body = Buffer.from(job.body)
      if (old && !options.force && (await sameBytes(bucket, old, body, options.signal))) {
        result.unchanged++
        return
      }
      const url = bucket.urlOf(job.key)
      if (options.dryRun) logger?.notice(`Would write ${url}`)
      else {
        logger?.notice(`Writing ${url}`)
        await bucket.write(job.key, body, {
          contentType: INDEX_CONTENT_TYPE,
          cacheControl: INDEX_CACHE_CONTROL,
          precondition: old?.generation ? {ifGenerationMatch: old.generation} : {ifNotExists: true},
          ...(options.signal ? {signal: options.signal} : {}),
        })
      }
      result.written.push(job.key)
    },
    options.signal,
  )
  result.written.sort()
  result.deleted.sort()
  return result
}

/**
 * True for a key no index page can stand for: one with an empty segment
 * ("a//b", "/a"), whose directory's redirect object would be its parent's
 * listing page, or a "." or ".." segment, which a browser resolves away
 * before it asks. A trailing "/" (a directory object) is not an empty segment.
 */
export function unindexableKey(key: string): boolean {
  // Most keys have no "//", no leading "/" and no segment starting with ".": decided without splitting.
  if (!key.includes('//') && key[0] !== '/' && key[0] !== '.' && !key.includes('/.')) return false
  const segments = key.split('/')
  const last = segments.length - 1
  return segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < last))
}

/** How many keys a warning names; the rest are counted. */
const NAMED_KEYS = 20

/** Keys for a one-line warning: the first few quoted, then how many more. */
export function nameKeys(keys: readonly string[]): string {
  const more = keys.length > NAMED_KEYS ? ` and ${keys.length - NAMED_KEYS} more` : ''
  return (
    keys
      .slice(0, NAMED_KEYS)
      .map((k) => JSON.stringify(k))
      .join(', ') + more
  )
}

/** The listing without the keys of `unindexableKey`, with one warning naming them. */
function withoutUnindexable(listing: Listing, bucket: Bucket, logger: Logger | undefined): Listing {
  const skipped = [...listing.objects.keys(), ...listing.prefixes].filter(unindexableKey)
  if (skipped.length === 0) return listing
  logger?.warn(
    `${bucket.url}: ${skipped.length} key(s) with an empty, "." or ".." path segment are left out of the index pages, which cannot link to them: ${nameKeys(skipped)}`,
  )
  const drop = new Set(skipped)
  return {
    objects: new Map([...listing.objects].filter(([k]) => !drop.has(k))),
    prefixes: new Set([...listing.prefixes].filter((p) => !drop.has(p))),
  }
}

async function sameBytes(bucket: Bucket, old: ObjectInfo, body: Buffer, signal: AbortSignal | undefined): Promise<boolean> {
  if (old.size !== body.length) return false
  try {
    return (await md5Of(bucket, old, signal)) === md5Hex(body)
  } catch (error) {
    if (isStorageError(error, 'not-found')) return false
    throw error
  }
}
