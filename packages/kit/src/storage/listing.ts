import {createHash} from 'node:crypto'

import {isStorageError} from './errors.js'
import type {Bucket, ObjectInfo} from './types.js'
import {fixPrefix, parentPrefix} from './url.js'

/** What a listing of a prefix showed: the objects by key, and the sub-prefixes rolled up. */
export interface Listing {
  objects: Map<string, ObjectInfo>
  /** Prefixes the store rolled up (non-recursive listings). */
  prefixes: Set<string>
}

/**
 * Lists `prefix` (every object below it when recursive, else one level with
 * its sub-prefixes) and, as the original did, the redirect object named by
 * the prefix without its slash, which a listing of "p/" cannot show.
 */
export async function fetchListing(
  bucket: Bucket,
  prefix: string,
  recursive: boolean,
  signal?: AbortSignal,
  keysOnly = false,
): Promise<Listing> {
  const fixed = fixPrefix(prefix)
  const listing: Listing = {objects: new Map(), prefixes: new Set()}
  // Asked for beside the listing, not after it: one round trip less before a re-sync can compare.
  const redirectKey = fixed.slice(0, -1)
  const redirect = fixed !== '' && bucket.directoryObjects ? bucket.stat(redirectKey, signal ? {signal} : {}) : undefined
  redirect?.catch(() => undefined)
  for await (const entry of bucket.list({
    prefix: fixed,
    ...(recursive ? {} : {delimiter: '/'}),
    ...(signal ? {signal} : {}),
    ...(keysOnly ? {keysOnly} : {}),
  })) {
    if (entry.type === 'object') listing.objects.set(entry.object.key, entry.object)
    else listing.prefixes.add(entry.prefix)
  }
  const info = await redirect
  if (info) listing.objects.set(redirectKey, info)
  return listing
}

/** Every directory prefix a listing implies, with all their ancestors up to the root "". */
export function allPrefixes(listing: Listing): Set<string> {
  const seen = new Set<string>()
  const add = (start: string): void => {
    for (let p = start; !seen.has(p); p = parentPrefix(p)) {
      seen.add(p)
      if (p === '') return
    }
  }
  for (const p of listing.prefixes) add(p)
  for (const key of listing.objects.keys()) add(parentPrefix(key))
  return seen
}

/** The names index pages take for each prefix of a listing: "p/", "p" and "p/index.html". */
export function indexNames(listing: Listing): Set<string> {
  const names = new Set<string>()
  for (const p of allPrefixes(listing)) {
    names.add(p)
    names.add(p.replace(/\/$/, ''))
    names.add(p + 'index.html')
  }
  names.delete('')
  return names
}

/**
 * Natural order: runs of digits compare as numbers, so "9" sorts before
 * "10" and "v2.9" before "v2.10"; everything else compares as text.
 */
export function naturalCompare(a: string, b: string): number {
  const chunk = /(\d+|\D+)/g
  const as = a.match(chunk) ?? []
  const bs = b.match(chunk) ?? []
  // Equal numbers written differently ("10", "010") tie-break on leading zeros, last.
  let zeros = 0
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!
    const y = bs[i]!
    if (x === y) continue
    const xd = /^\d/.test(x)
    const yd = /^\d/.test(y)
    if (xd && yd) {
      const xn = x.replace(/^0+(?=\d)/, '')
      const yn = y.replace(/^0+(?=\d)/, '')
      if (xn.length !== yn.length) return xn.length - yn.length
      if (xn !== yn) return xn < yn ? -1 : 1
      zeros ||= x.length - y.length
      continue
    }
    return x < y ? -1 : 1
  }
  return as.length - bs.length || zeros
}

/**
 * The MD5 of an object, however the backend knows it: the listing, a stat
 * (S3 keeps ours in metadata for multipart objects), or reading it.
 */
export async function md5Of(bucket: Bucket, info: ObjectInfo, signal?: AbortSignal): Promise<string | undefined> {
  if (info.md5) return info.md5
  if (bucket.md5) return bucket.md5(info.key)
  const fresh = await bucket.stat(info.key, signal ? {signal} : {})
  if (fresh?.md5) return fresh.md5
  if (!fresh) return undefined
  try {
    const {body} = await bucket.read(info.key, signal ? {signal} : {})
    const hash = createHash('md5')
    for await (const chunk of body) hash.update(chunk as Buffer)
    return hash.digest('hex')
  } catch (error) {
    if (isStorageError(error, 'not-found')) return undefined
    throw error
  }
}
