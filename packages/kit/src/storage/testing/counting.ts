import type {Bucket} from '../types.js'

/** The changing calls a CountingBucket saw, "write key", "copy src dst", "delete key". */
export interface Calls {
  changes: string[]
  reads: number
}

/**
 * A Bucket that passes every call through and records the ones that change
 * the store: the proof that a re-run writes nothing.
 */
export function countingBucket(inner: Bucket): {bucket: Bucket; calls: Calls} {
  const calls: Calls = {changes: [], reads: 0}
  const bucket: Bucket = {
    get url() {
      return inner.url
    },
    get scheme() {
      return inner.scheme
    },
    get name() {
      return inner.name
    },
    get writable() {
      return inner.writable
    },
    get metadata() {
      return inner.metadata
    },
    get directoryObjects() {
      return inner.directoryObjects
    },
    urlOf: (key) => inner.urlOf(key),
    list: (options) => {
      calls.reads++
      return inner.list(options)
    },
    stat: (key, options) => {
      calls.reads++
      return inner.stat(key, options)
    },
    read: (key, options) => {
      calls.reads++
      return inner.read(key, options)
    },
    write: (key, body, options) => {
      calls.changes.push(`write ${key}`)
      return inner.write(key, body, options)
    },
    copy: (src, dst, options) => {
      calls.changes.push(`copy ${src} ${dst}`)
      return inner.copy(src, dst, options)
    },
    delete: (key, options) => {
      calls.changes.push(`delete ${key}`)
      return inner.delete(key, options)
    },
  }
  return {bucket, calls}
}
