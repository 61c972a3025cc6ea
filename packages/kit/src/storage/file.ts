import {randomBytes} from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  type Dirent,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import {copyFile, link, mkdir, open, readdir, rename, stat, unlink} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {addAbortSignal, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {pathToFileURL} from 'node:url'

import {checkBody, HashingStream, md5Hex, toStream} from './body.js'
import {isStorageError, StorageError} from './errors.js'
import type {
  Bucket,
  DeleteOptions,
  IncompleteUpload,
  ListEntry,
  ListOptions,
  ObjectInfo,
  Precondition,
  ReadOptions,
  ReadResult,
  WriteOptions,
} from './types.js'
import {sortEntries} from './url.js'

/** Files up to this size are hashed from one read. */
const SMALL_FILE = 1024 * 1024

/** Directories read at once by `list`: enough to keep libuv's 4 threads busy. */
const LIST_CONCURRENCY = 8

/**
 * Runs `visit` over a tree of directories from `start`, at most
 * LIST_CONCURRENCY at once; `visit` pushes the sub-directories it finds into
 * the queue it is given. The first failure stops new visits and is thrown
 * once the running ones settle.
 */
async function walkPool(start: string, visit: (dir: string, queue: string[]) => Promise<void>): Promise<void> {
  const queue = [start]
  let active = 0
  let failure: {error: unknown} | undefined
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (!failure && active < LIST_CONCURRENCY && queue.length > 0) {
        active++
        visit(queue.pop()!, queue).then(
          () => {
            active--
            pump()
          },
          (error: unknown) => {
            active--
            failure ??= {error}
            pump()
          },
        )
      }
      if (active === 0 && (failure || queue.length === 0)) {
        if (failure) reject(failure.error)
        else resolve()
      }
    }
    pump()
  })
}

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
  /** Names this bucket's temporary files apart from other writers'. */
  private readonly stem = randomBytes(6).toString('hex')
  private written = 0

  urlOf(key: string): string {
    return pathToFileURL('/' + key).href
  }

  private path(key: string): string {
    const parts = key.split('/')
    if (parts.some((part, i) => part === '..' || part === '.' || (part === '' && i < parts.length - 1))) {
      // "a//b" would be the file a/b, another key's.
      throw new StorageError('invalid-url', `${this.urlOf(key)}: "." and ".." and empty segments are not allowed in keys`)
    }
    return '/' + key
  }

  private objectPath(key: string): string {
    if (key === '' || key.endsWith('/')) {
      throw new StorageError('unsupported', `${this.urlOf(key)}: a local directory cannot hold an object whose name ends in "/"`, {
        hint: 'index pages on a local directory use index.html only',
      })
    }
    if (key.split('/').pop()!.includes(PARTIAL))
      throw new StorageError('invalid-url', `${this.urlOf(key)}: names containing ${PARTIAL} are reserved`)
    return this.path(key)
  }

  /**
   * Walks the tree with up to LIST_CONCURRENCY directories read at once
   * (readdir with file types on libuv's thread pool, so a second core
   * works too), and one synchronous stat per file where sizes are wanted.
   * Directories read one after the other left one core idle: a rerun of
   * the index pages of 100,000 files took 3-5x rclone lsf's wall time.
   */
  async *list(options: ListOptions = {}): AsyncIterable<ListEntry> {
    const prefix = options.prefix ?? ''
    const delimiter = options.delimiter
    const entries: ListEntry[] = []
    const seen = new Set<string>()
    const visit = async (dirKey: string, queue: string[]): Promise<void> => {
      options.signal?.throwIfAborted()
      const names = await this.readDirAsync(dirKey)
      for (const dirent of names) {
        const name = dirent.name
        if (name.includes(PARTIAL)) continue
        const key = dirKey + name
        const kind = this.kindOf(key, dirent)
        if (kind === 'dir') {
          const sub = key + '/'
          if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue
          if (delimiter === '/' && sub.startsWith(prefix)) {
            // Object stores roll up only prefixes that hold objects.
            if (this.hasObjects(sub)) entries.push({type: 'prefix', prefix: sub})
            continue
          }
          queue.push(sub)
        } else if (kind === 'file' && key.startsWith(prefix)) {
          const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1
          if (cut >= 0) {
            const rolled = key.slice(0, cut + delimiter!.length)
            if (!seen.has(rolled)) entries.push({type: 'prefix', prefix: rolled})
            seen.add(rolled)
            continue
          }
          if (options.keysOnly && dirent.isFile()) {
            entries.push({type: 'object', object: {key, size: 0}})
            continue
          }
          let st: Stats | undefined
          try {
            st = statSync('/' + key)
          } catch {
            continue // vanished since the directory was read
          }
          if (st.isFile()) entries.push({type: 'object', object: infoOf(key, st)})
        }
      }
    }
    this.path(prefix)
    await walkPool(prefix.slice(0, prefix.lastIndexOf('/') + 1), visit)
    for (const e of sortEntries(entries)) {
      options.signal?.throwIfAborted()
      yield e
    }
  }

  /** readDir on the thread pool. */
  private async readDirAsync(dirKey: string): Promise<Dirent[]> {
    try {
      return await readdir('/' + dirKey, {withFileTypes: true})
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return []
      throw mapFsError(error, this.urlOf(dirKey))
    }
  }

  /** A directory's entries; none when it is missing, not a directory or not readable (as an empty prefix). */
  private readDir(dirKey: string): Dirent[] {
    try {
      return readdirSync('/' + dirKey, {withFileTypes: true})
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') return []
      throw mapFsError(error, this.urlOf(dirKey))
    }
  }

  /** File, directory or neither, following symbolic links (a dangling one is neither). */
  private kindOf(key: string, dirent: Dirent): 'file' | 'dir' | undefined {
    if (dirent.isFile()) return 'file'
    if (dirent.isDirectory()) return 'dir'
    // Sockets, pipes and devices are not objects; a link, or a file system that does not tell types, needs a stat.
    if (dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) return undefined
    const st = statSync('/' + key, {throwIfNoEntry: false})
    return st?.isFile() ? 'file' : st?.isDirectory() ? 'dir' : undefined
  }

  private hasObjects(dirKey: string): boolean {
    for (const dirent of this.readDir(dirKey)) {
      if (dirent.name.includes(PARTIAL)) continue
      const kind = this.kindOf(dirKey + dirent.name, dirent)
      if (kind === 'file') return true
      if (kind === 'dir' && this.hasObjects(dirKey + dirent.name + '/')) return true
    }
    return false
  }

  /**
   * The MD5 of a file, read at once when small (index pages): through `read`,
   * a stream per page, hashing 5,000 pages took longer than listing 100,000 files.
   */
  async md5(key: string): Promise<string | undefined> {
    const path = this.objectPath(key)
    const st = statSync(path, {throwIfNoEntry: false})
    if (!st?.isFile()) return undefined
    if (st.size <= SMALL_FILE) {
      try {
        return md5Hex(readFileSync(path))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw mapFsError(error, this.urlOf(key))
      }
    }
    const hashing = new HashingStream()
    await pipeline(createReadStream(path), hashing, new Writable({write: (_chunk, _encoding, done) => done()})).catch((error: unknown) => {
      throw mapFsError(error, this.urlOf(key))
    })
    return hashing.md5()
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    if (key === '' || key.endsWith('/')) return undefined
    const st = await stat(this.path(key)).catch((error: NodeJS.ErrnoException) => {
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
      const st = await handle.stat()
      if (!st.isFile()) throw new StorageError('not-found', `${url}: not found`, {url})
      const size = st.size
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
    if (typeof body !== 'string' && !('pipe' in body) && body.length <= SMALL_FILE && !options.signal?.aborted) {
      return this.writeSmall(key, path, body, options)
    }
    const began = Date.now()
    const temp = await this.tempFor(path)
    try {
      const hashing = new HashingStream(options.onProgress)
      await pipeline(toStream(body), hashing, createWriteStream(temp), options.signal ? {signal: options.signal} : {})
      checkBody(this.urlOf(key), {bytes: hashing.bytes, md5: hashing.md5()}, {size: options.size, md5: options.md5})
      const info = await this.commit(temp, key, options.precondition)
      // Large writes only: the temporary file of a killed small write is small, and index pages are many.
      if (hashing.bytes > SMALL_FILE) await this.removeStaleTemps(key, began)
      return {...info, md5: hashing.md5()}
    } catch (error) {
      await unlink(temp).catch(() => undefined)
      throw error
    }
  }

  /**
   * A small body at hand, written with synchronous calls: checked first, then a temporary file and the
   * same commit as any write (link for create-only, else rename), its directory made only when missing.
   * A download of 5,000 small objects spent most of its CPU in the thread-pool round trips of seven
   * asynchronous calls per file (mkdir, open, write, close, link, unlink, stat); these take microseconds
   * each on the main thread.
   */
  private writeSmall(key: string, path: string, data: Buffer, options: WriteOptions): ObjectInfo {
    const md5 = md5Hex(data)
    checkBody(this.urlOf(key), {bytes: data.length, md5}, {size: options.size, md5: options.md5})
    const temp = this.tempName(path)
    // Only messages need the URL: pathToFileURL per file was 2% of a 5,000-file download.
    const url = (): string => this.urlOf(key)
    try {
      try {
        writeFileSync(temp, data, {flag: 'wx'})
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        mkdirSync(dirname(path), {recursive: true})
        writeFileSync(temp, data, {flag: 'wx'})
      }
    } catch (error) {
      throw mapFsError(error, url())
    }
    try {
      const precondition = options.precondition
      if (precondition?.ifNotExists) {
        try {
          linkSync(temp, path)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST')
            throw new StorageError('precondition-failed', `${url()}: already exists`, {url: url()})
          throw mapFsError(error, url())
        }
        unlinkSync(temp)
      } else {
        if (precondition?.ifGenerationMatch !== undefined) {
          const st = statSync(path, {throwIfNoEntry: false})
          const current = st?.isFile() ? infoOf(key, st).generation : undefined
          if (current !== precondition.ifGenerationMatch) {
            throw new StorageError(
              'precondition-failed',
              `${url()}: changed by someone else (generation ${current ?? 'none'}, expected ${precondition.ifGenerationMatch})`,
              {url: url()},
            )
          }
        }
        try {
          renameSync(temp, path)
        } catch (error) {
          throw mapFsError(error, url())
        }
      }
      options.onProgress?.(data.length)
      return {...infoOf(key, statSync(path)), md5}
    } catch (error) {
      try {
        unlinkSync(temp)
      } catch {
        // Gone with a successful link already, or never there.
      }
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

  /**
   * Temporary files of writes that never finished (a process killed
   * mid-write): `.<name>.mantle-partial-<random>` beside the object they
   * were to become.
   */
  async *incompleteUploads(options: {prefix?: string; signal?: AbortSignal} = {}): AsyncIterable<IncompleteUpload> {
    const prefix = options.prefix ?? ''
    this.path(prefix)
    const found: IncompleteUpload[] = []
    const walk = (dirKey: string): void => {
      for (const dirent of this.readDir(dirKey)) {
        const at = dirent.name.indexOf(PARTIAL)
        if (at > 0 && dirent.isFile()) {
          const key = dirKey + dirent.name.slice(1, at)
          if (!key.startsWith(prefix)) continue
          const st = statSync('/' + dirKey + dirent.name, {throwIfNoEntry: false})
          found.push({key, id: dirent.name, initiated: st?.mtime})
        } else if (dirent.isDirectory()) {
          const sub = dirKey + dirent.name + '/'
          if (sub.startsWith(prefix) || prefix.startsWith(sub)) walk(sub)
        }
      }
    }
    walk(prefix.slice(0, prefix.lastIndexOf('/') + 1))
    for (const upload of found) {
      options.signal?.throwIfAborted()
      yield upload
    }
  }

  async abortUpload(upload: IncompleteUpload): Promise<void> {
    if (!upload.id.includes(PARTIAL) || upload.id.includes('/'))
      throw new StorageError('invalid-url', `${this.urlOf(upload.key)}: ${upload.id} is not a temporary file of a write`)
    await unlink(join(dirname(this.objectPath(upload.key)), upload.id)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw mapFsError(error, this.urlOf(upload.key))
    })
  }

  /** After a write of `key` succeeded: temporary files of the same name older than `before`, left by killed writers, go. */
  private async removeStaleTemps(key: string, before: number): Promise<void> {
    for await (const upload of this.incompleteUploads({prefix: key})) {
      if (upload.key === key && upload.initiated && upload.initiated.getTime() < before)
        await this.abortUpload(upload).catch(() => undefined)
    }
  }

  private async tempFor(path: string): Promise<string> {
    const dir = dirname(path)
    await mkdir(dir, {recursive: true}).catch((error: unknown) => {
      throw mapFsError(error, pathToFileURL(dir).href)
    })
    return this.tempName(path)
  }

  /** The temporary file of a write of `path`, beside it: `.<name>.mantle-partial-<stem><n>` (a random stem per bucket, then a count: randomBytes per file was 4% of a 5,000-file download). */
  private tempName(path: string): string {
    const dir = dirname(path)
    return join(dir, `.${path.slice(dir.length + 1)}${PARTIAL}${this.stem}${(this.written++).toString(36)}`)
  }

  private async checkPrecondition(key: string, precondition: Precondition | undefined): Promise<void> {
    if (precondition?.ifGenerationMatch === undefined) return
    const current = await this.stat(key)
    if (current?.generation !== precondition.ifGenerationMatch) {
      const url = this.urlOf(key)
      throw new StorageError(
        'precondition-failed',
        `${url}: changed by someone else (generation ${current?.generation ?? 'none'}, expected ${precondition.ifGenerationMatch})`,
        {url},
      )
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
    return infoOf(key, await stat(path))
  }
}

/**
 * The generation is the inode and the modification time in nanoseconds as the
 * plain stat's float gives it (to a fraction of a microsecond): the same file
 * always gives the same string, and a write (a rename into place) a new inode.
 * The BigInt stat, exact to the nanosecond, made listing 100,000 files spend
 * most of its time collecting garbage.
 */
function infoOf(key: string, st: Stats): ObjectInfo {
  return {key, size: st.size, generation: `${st.ino}.${Math.round(st.mtimeMs * 1e6)}`, updated: new Date(st.mtimeMs)}
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
