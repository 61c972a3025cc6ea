import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {promisify} from 'node:util'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {getRange, getWhole} from './direct-get.js'
import {isStorageError} from './errors.js'

const DATA = randomBytes(3 * 1024 * 1024 + 123)

/** Serves DATA with ranges, unless a handler says otherwise; records each request's range and authorization. */
async function serve(
  handler?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<{url: string; seen: {range?: string; authorization?: string}[]; server: Server}> {
  const seen: {range?: string; authorization?: string}[] = []
  const server = createServer((req, res) => {
    seen.push({range: req.headers.range, authorization: req.headers.authorization})
    if (handler?.(req, res)) return
    const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? []
    const start = Number(from)
    const end = Math.min(Number(to), DATA.length - 1)
    res.writeHead(206, {'content-range': `bytes ${start}-${end}/${DATA.length}`, 'content-length': String(end - start + 1)})
    res.end(DATA.subarray(start, end + 1))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`, seen, server}
}
const servers: Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** Collects what onChunk received (copied: the reader reuses its buffer). */
function collect(): {chunks: Buffer[]; onChunk: (c: Buffer) => void; bytes: () => Buffer} {
  const chunks: Buffer[] = []
  return {chunks, onChunk: (c) => chunks.push(Buffer.from(c)), bytes: () => Buffer.concat(chunks)}
}

describe('getRange: a ranged GET straight from the socket', () => {
  it('delivers exactly the bytes of the range, across many socket reads', async () => {
    const {url, seen} = await serve()
    const sink = collect()
    await getRange({url, headers: {authorization: 'Bearer t'}}, 'gs://b/obj', {start: 1000, end: DATA.length - 1, onChunk: sink.onChunk})
    expect(sink.bytes().equals(DATA.subarray(1000))).toBe(true)
    expect(seen).toEqual([{range: `bytes=1000-${DATA.length - 1}`, authorization: 'Bearer t'}])
  })

  it('asks for the path exactly as written: "." and ".." segments are part of an S3 key and of its signature', async () => {
    const paths: string[] = []
    const {url} = await serve((req) => {
      paths.push(req.url ?? '')
      return false
    })
    const sink = collect()
    await getRange({url: url.replace(/\/obj$/, '/a/./b/../obj%20x?x-id=GetObject')}, 's3://b/a/./b/../obj x', {
      start: 0,
      end: 9,
      onChunk: sink.onChunk,
    })
    expect(paths).toEqual(['/a/./b/../obj%20x?x-id=GetObject'])
    expect(sink.bytes().equals(DATA.subarray(0, 10))).toBe(true)
  })

  it.each([
    [404, 'not-found'],
    [412, 'precondition-failed'],
    [403, 'access-denied'],
    [503, 'unavailable'],
  ] as const)('turns HTTP %i into %s, one line naming the object', async (status, code) => {
    const {url} = await serve((_req, res) => Boolean(res.writeHead(status).end('<Error/>')))
    const error = await getRange({url}, 'az://acct/c/obj', {start: 0, end: 9, onChunk: () => undefined}).catch((e: unknown) => e)
    expect(isStorageError(error, code)).toBe(true)
    expect((error as Error).message).toMatch(/^az:\/\/acct\/c\/obj: /)
  })

  it('says range-not-satisfiable with the size on a 416', async () => {
    const {url} = await serve((_req, res) => Boolean(res.writeHead(416, {'content-range': 'bytes */42'}).end()))
    const error = await getRange({url}, 'u', {start: 50, end: 99, onChunk: () => undefined}).catch((e: unknown) => e)
    expect(isStorageError(error, 'range-not-satisfiable')).toBe(true)
    expect((error as {size?: number}).size).toBe(42)
  })

  it('takes a whole-object 200 from byte 0 (only the range asked for), and refuses it for a resume', async () => {
    const {url} = await serve((_req, res) => Boolean(res.writeHead(200, {'content-length': String(DATA.length)}).end(DATA)))
    const sink = collect()
    await getRange({url}, 'u', {start: 0, end: 99_999, onChunk: sink.onChunk})
    expect(sink.bytes().equals(DATA.subarray(0, 100_000))).toBe(true)
    const error = await getRange({url}, 'u', {start: 5, end: 99, onChunk: () => undefined}).catch((e: unknown) => e)
    expect(isStorageError(error, 'unsupported')).toBe(true)
  })

  it('refuses a chunked answer as unsupported (the caller then reads through the backend)', async () => {
    const {url} = await serve((_req, res) => {
      res.writeHead(206, {'content-range': `bytes 0-9/${DATA.length}`})
      res.write(DATA.subarray(0, 5))
      res.end(DATA.subarray(5, 10))
      return true
    })
    const error = await getRange({url}, 'u', {start: 0, end: 9, onChunk: () => undefined}).catch((e: unknown) => e)
    expect(isStorageError(error, 'unsupported')).toBe(true)
  })

  it('fails as a lost connection when the body stops short, after delivering what came', async () => {
    const {url} = await serve((_req, res) => {
      res.writeHead(206, {'content-range': `bytes 0-${DATA.length - 1}/${DATA.length}`, 'content-length': String(DATA.length)})
      res.write(DATA.subarray(0, 200_000), () => res.destroy())
      return true
    })
    const sink = collect()
    const error = await getRange({url}, 'u', {start: 0, end: DATA.length - 1, onChunk: sink.onChunk}).catch((e: unknown) => e)
    expect((error as {code?: string}).code).toBe('ECONNRESET')
    expect(sink.bytes().equals(DATA.subarray(0, sink.bytes().length))).toBe(true)
    expect(sink.bytes().length).toBeGreaterThan(0)
  })

  it('gives up on a server that stops sending, after the idle timeout', async () => {
    const {url} = await serve((_req, res) => {
      res.writeHead(206, {'content-range': `bytes 0-99/${DATA.length}`, 'content-length': '100'})
      res.write(DATA.subarray(0, 10))
      return true
    })
    const error = await getRange({url}, 'u', {start: 0, end: 99, idleTimeoutMs: 300, onChunk: () => undefined}).catch((e: unknown) => e)
    expect((error as {code?: string}).code).toBe('ETIMEDOUT')
  })

  it('follows a redirect, keeping the Authorization only on the same origin', async () => {
    const target = await serve()
    const sameOrigin = await serve((req, res) => {
      if (req.url !== '/old') return false
      res.writeHead(302, {location: '/obj'}).end()
      return true
    })
    const elsewhere = await serve((_req, res) => Boolean(res.writeHead(307, {location: target.url}).end()))
    const sink = collect()
    await getRange({url: sameOrigin.url.replace(/obj$/, 'old'), headers: {authorization: 'Bearer t'}}, 'u', {
      start: 0,
      end: 9,
      onChunk: sink.onChunk,
    })
    expect(sameOrigin.seen.map((s) => s.authorization)).toEqual(['Bearer t', 'Bearer t'])
    await getRange({url: elsewhere.url, headers: {authorization: 'Bearer t'}}, 'u', {start: 0, end: 9, onChunk: () => undefined})
    expect(target.seen).toEqual([{range: 'bytes=0-9', authorization: undefined}])
    expect(sink.bytes().equals(DATA.subarray(0, 10))).toBe(true)
  })

  it('stops at once when aborted', async () => {
    const {url} = await serve((_req, res) =>
      Boolean(res.writeHead(206, {'content-range': `bytes 0-99/${DATA.length}`, 'content-length': '100'})),
    )
    const controller = new AbortController()
    const pending = getRange({url}, 'u', {start: 0, end: 99, signal: controller.signal, onChunk: () => undefined}).catch((e: unknown) => e)
    setTimeout(() => controller.abort(new Error('stopped by the user')), 100)
    expect(((await pending) as Error).message).toBe('stopped by the user')
  })
})

describe('getWhole: small objects over kept connections', () => {
  /** Connections the server accepted, and requests per connection. */
  const counting = async (handler?: (req: IncomingMessage, res: ServerResponse, nth: number) => boolean) => {
    const perSocket = new Map<Socket, number>()
    const started = await serve((req, res) => {
      const nth = (perSocket.get(req.socket) ?? 0) + 1
      perSocket.set(req.socket, nth)
      return handler?.(req, res, nth) ?? false
    })
    return {...started, connections: () => perSocket.size}
  }

  it('reads each whole object over one kept connection, where range GETs of large downloads each close theirs', async () => {
    // Given a server
    const {url, connections} = await counting()
    // When three small objects are read whole, one after another
    const got = []
    for (const size of [10, 20_000, 5]) got.push(await getWhole({url}, 'gs://b/obj', size))
    // Then they arrive whole, over one connection
    expect(got.map((b, i) => b.equals(DATA.subarray(0, [10, 20_000, 5][i])))).toEqual([true, true, true])
    expect(connections()).toBe(1)
    // And three ranged GETs (no keepAlive) take three more
    for (let i = 0; i < 3; i++) await getRange({url}, 'u', {start: 0, end: 9, onChunk: () => undefined})
    expect(connections()).toBe(4)
  })

  it('goes again on a new connection when the kept one was closed by the server before answering', async () => {
    // Given a server that drops a connection at its second request without answering (its keep-alive timeout, racing us)
    const {url, connections, seen} = await counting((req, _res, nth) => {
      if (nth < 2) return false
      req.socket.destroy()
      return true
    })
    // When two objects are read
    expect((await getWhole({url}, 'u', 100)).equals(DATA.subarray(0, 100))).toBe(true)
    const second = await getWhole({url}, 'u', 200)
    // Then the second is asked for again on a new connection, and arrives
    expect(second.equals(DATA.subarray(0, 200))).toBe(true)
    expect(seen).toHaveLength(3)
    expect(connections()).toBe(2)
  })

  it('fails as corrupt when fewer bytes arrive than the listing said', async () => {
    // Given an object that is shorter than listed (a 200 of the whole, 7 bytes)
    const {url} = await serve((_req, res) => Boolean(res.writeHead(200, {'content-length': '7'}).end(DATA.subarray(0, 7))))
    // When it is read whole as 10 bytes, then corrupt, naming both sizes: never a buffer with 3 bytes of garbage
    const error = await getWhole({url}, 'gs://b/short', 10).catch((e: unknown) => e)
    expect(isStorageError(error, 'corrupt')).toBe(true)
    expect((error as Error).message).toBe('gs://b/short: 7 bytes arrived of the 10 listed')
  })

  it('does not keep a process alive with connections left open', async () => {
    // Given a server, and a script that reads an object whole from it with the built module, then does nothing more
    const {url, server} = await serve()
    server.keepAliveTimeout = 600_000
    const dir = await mkdtemp(join(tmpdir(), 'mantle-keepalive-'))
    const script = join(dir, 'read.mjs')
    const built = new URL('../../dist/storage/direct-get.js', import.meta.url).href
    await writeFile(
      script,
      `const m = await import(${JSON.stringify(built)})\nconst b = await m.getWhole({url: ${JSON.stringify(url)}}, 'u', 10)\nconsole.log('read', b.length)\n`,
    )
    try {
      // When it runs
      // Then it exits by itself: a referenced idle connection would hold it until the server's keep-alive timeout
      // (this server's is raised to 10 minutes), and the kill after 60 s would reject
      const {stdout} = await promisify(execFile)(process.execPath, [script], {encoding: 'utf8', timeout: 60_000})
      expect(stdout).toContain('read 10')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
