import {randomBytes} from 'node:crypto'
import {createWriteStream, type BigIntStats} from 'node:fs'
import {copyFile, link, mkdir, open, readdir, rename, stat, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {addAbortSignal} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {pathToFileURL} from 'node:url'

import {checkBody, HashingStream, toStream} from './body.js'
import {isStorageError, StorageError} from './errors.js'
import type {Bucket, DeleteOptions, ListEntry, ListOptions, ObjectInfo, Precondition, ReadOptions, ReadResult, WriteOptions} from './types.js'

/** Temporary files of unfinished writes: never listed, never mistaken for objects. */
const PARTIAL = '.mantle-partial-'

/**
 * A local directory tree as a bucket: keys are absolute paths without the
 * leading slash. Writes go to a temporary file beside the target and are
 * renamed into place, so a reader never sees a half-written object.
 * Generations are inode + modification time in nanoseconds; a
 * generation precondition is checked just before the rename (a small window
 * remains, unlike the atomic checks of the cloud stores). Create-only writes
 * use link(2), which is atomic.
 */
export class FileBucket implements Bucket {
  readonly url = 'file:///'
  readonly scheme = 'file' as const
  readonly name = ''
  readonly writable = true
  readonly metadata = false
  readonly directoryObjects = false

  urlOf(key: string): string {
    return pathToFileURL('/' + key).href
  }

  private path(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '.')) {
      throw new StorageError('invalid-url', `${this.urlOf(key)}: "." and ".." are not allowed in keys`)
    }
    return '/' + key
  }

  private objectPath(key: string): string {
    if (key === '' || key.endsWith('/')) {
      throw new StorageError('unsupported', `${this.urlOf(key)}: a local directory cannot hold an object whose name ends in "/"`, {
        hint: 'index pages on a local directory use index.html only',
      })
    }
    if (key.split('/').pop()!.includes(PARTIAL)) throw new StorageError('invalid-url', `${this.urlOf(key)}: names containing ${PARTIAL} are reserved`)
    return this.path(key)
  }

  async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
    const prefix = options.prefix ?? ''
    const delimiter = options.delimiter
    const entries: ListEntry[] = []
    const seen = new Set<string>()
    const walk = async (dirKey: string): Promise<void> => {
      let names: string[]
      try {
        names = await readdir(this.path(dirKey) || '/')
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return
        throw mapFsError(error, this.urlOf(dirKey))
      }
      for (const name of names) {
        if (name.includes(PARTIAL)) continue
        const key = dirKey + name
        let st: BigIntStats
        try {
          st = await stat(this.path(key), {bigint: true})
        } catch {
          continue // vanished or a dangling link
        }
        if (st.isDirectory()) {
          const sub = key + '/'
          if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue
          if (delimiter === '/' && sub.startsWith(prefix)) {
            // Object stores roll up only prefixes that hold objects.
            if (await this.hasObjects(sub)) entries.push({type: 'prefix', prefix: sub})
            continue
          }
          await walk(sub)
        } else if (st.isFile() && key.startsWith(prefix)) {
          const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1
          if (cut >= 0) {
            const rolled = key.slice(0, cut + delimiter!.length)
            if (!seen.has(rolled)) entries.push({type: 'prefix', prefix: rolled})
            seen.add(rolled)
          } else {
            entries.push({type: 'object', object: infoOf(key, st)})
          }
        }
      }
    }
    await walk(prefix.slice(0, prefix.lastIndexOf('/') + 1))
    // Object stores list in byte order of the UTF-8 names.
    const sortKey = (e: ListEntry): string => (e.type === 'object' ? e.object.key : e.prefix)
    entries.sort((a, b) => Buffer.compare(Buffer.from(sortKey(a)), Buffer.from(sortKey(b))))
    for (const e of entries) {
      options.signal?.throwIfAborted()
      yield e
    }
  }

  private async hasObjects(dirKey: string): Promise<boolean> {
    let names: string[]
    try {
      names = await readdir(this.path(dirKey))
    } catch {
      return false
    }
    for (const name of names) {
      if (name.includes(PARTIAL)) continue
      const st = await stat(this.path(dirKey + name)).catch(() => undefined)
      if (st?.isFile()) return true
      if (st?.isDirectory() && (await this.hasObjects(dirKey + name + '/'))) return true
    }
    return false
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    if (key === '' || key.endsWith('/')) return undefined
    const st = await stat(this.path(key), {bigint: true}).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
      throw mapFsError(error, this.urlOf(key))
    })
    return st?.isFile() ? infoOf(key, st) : undefined
  }

  async read(key: string, options: ReadOptions = {}): Promise<ReadResult> {
    const url = this.urlOf(key)
    const handle = await open(this.objectPath(key), 'r').catch((error: unknown) => {
      throw mapFsError(error, url)
    })
    try {
      const st = await handle.stat({bigint: true})
      if (!st.isFile()) throw new StorageError('not-found', `${url}: not found`, {url})
      const size = Number(st.size)
      const start = options.start ?? 0
      if (start > 0 && start >= size) {
        throw new StorageError('range-not-satisfiable', `${url}: range starts at ${start}, the object has ${size} bytes`, {url, size})
      }
      const end = options.end === undefined ? undefined : Math.min(options.end, size - 1)
      const stream = handle.createReadStream({start, ...(end === undefined ? {} : {end})})
      const body = options.signal ? addAbortSignal(options.signal, stream) : stream
      return {body, offset: start, size, info: infoOf(key, st)}
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  async write(key: string, body: Parameters<Bucket['write']>[1], options: WriteOptions = {}): Promise<ObjectInfo> {
    const path = this.objectPath(key)
    const temp = await this.tempFor(path)
    try {
      const hashing = new HashingStream(options.onProgress)
      await pipeline(toStream(body), hashing, createWriteStream(temp), options.signal ? {signal: options.signal} : {})
      checkBody(this.urlOf(key), {bytes: hashing.bytes, md5: hashing.md5()}, {size: options.size, md5: options.md5})
      const info = await this.commit(temp, key, options.precondition)
      return {...info, md5: hashing.md5()}
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }

  async copy(sourceKey: string, destKey: string, options: {precondition?: Precondition; signal?: AbortSignal} = {}): Promise<ObjectInfo> {
    const from = this.objectPath(sourceKey)
    const temp = await this.tempFor(this.objectPath(destKey))
    try {
      await copyFile(from, temp).catch((error: unknown) => {
        throw mapFsError(error, this.urlOf(sourceKey))
      })
      return await this.commit(temp, destKey, options.precondition)
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    const path = this.objectPath(key)
    await this.checkPrecondition(key, options.precondition)
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return
      throw mapFsError(error, this.urlOf(key))
    })
  }

  private async tempFor(path: string): Promise<string> {
    const dir = dirname(path)
    await mkdir(dir, {recursive: true}).catch((error: unknown) => {
      throw mapFsError(error, pathToFileURL(dir).href)
    })
    return join(dir, `.${path.slice(dir.length + 1)}${PARTIAL}${randomBytes(6).toString('hex')}`)
  }

  private async checkPrecondition(key: string, precondition: Precondition | undefined): Promise<void> {
    if (precondition?.ifGenerationMatch === undefined) return
    const current = await this.stat(key)
    if (current?.generation !== precondition.ifGenerationMatch) {
      const url = this.urlOf(key)
      throw new StorageError('precondition-failed', `${url}: changed by someone else (generation ${current?.generation ?? 'none'}, expected ${precondition.ifGenerationMatch})`, {url})
    }
  }

  /** Moves a finished temporary file into place under the precondition. */
  private async commit(temp: string, key: string, precondition: Precondition | undefined): Promise<ObjectInfo> {
    const path = this.objectPath(key)
    const url = this.urlOf(key)
    if (precondition?.ifNotExists) {
      await link(temp, path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') throw new StorageError('precondition-failed', `${url}: already exists`, {url})
        throw mapFsError(error, url)
      })
      await unlink(temp)
    } else {
      await this.checkPrecondition(key, precondition)
      await rename(temp, path).catch((error: unknown) => {
        throw mapFsError(error, url)
      })
    }
    return infoOf(key, await stat(path, {bigint: true}))
  }
}

function infoOf(key: string, st: BigIntStats): ObjectInfo {
  return {key, size: Number(st.size), generation: `${st.ino}.${st.mtimeNs}`, updated: new Date(Number(st.mtimeMs))}
}

function mapFsError(error: unknown, url: string): Error {
  if (isStorageError(error)) return error
  const e = error as NodeJS.ErrnoException
  switch (e.code) {
    case 'ENOENT':
      return new StorageError('not-found', `${url}: not found`, {url, cause: error})
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StorageError('access-denied', `${url}: permission denied (${e.code})`, {url, cause: error})
    case 'EISDIR':
    case 'ENOTDIR':
    case 'EEXIST':
      return new StorageError('unsupported', `${url}: a file and a directory of the same name (${e.code})`, {url, cause: error})
    default:
      return new StorageError('unavailable', `${url}: ${e.code ?? e.message}`, {url, cause: error})
  }
}
