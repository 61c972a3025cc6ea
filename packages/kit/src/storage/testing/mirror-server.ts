import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join, normalize} from 'node:path'

export interface MirrorServerOptions {
  /** Answer Range requests with the whole object (HTTP 200), as some servers do. */
  ignoreRange?: boolean
  /** Extra headers on every answer. */
  headers?: Record<string, string>
}

export interface MirrorServer {
  /** http://127.0.0.1:<port> */
  origin: string
  /** Requests seen, "METHOD path range". */
  requests: string[]
  close(): Promise<void>
}

/**
 * Bytes per read of a served file: with Node's default 64 KiB, serving 1 GiB took 1.1-1.6 s of CPU here, as
 * much as the client's SHA-512 of it; a release mirror (nginx's sendfile) costs next to nothing.
 */
const READ_BYTES = 1024 * 1024

/**
 * A static file server over a directory, with HEAD, Range (206/416), ETag
 * and If-Match, on 127.0.0.1: a stand-in for an HTTPS release mirror in tests.
 */
export async function startMirrorServer(root: string, options: MirrorServerOptions = {}): Promise<MirrorServer> {
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
      requests.push(`${req.method} ${path} ${req.headers.range ?? ''}`.trim())
      for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, v)
      const file = join(root, normalize(path))
      const st = await stat(file).catch(() => undefined)
      if (!st?.isFile()) {
        res.writeHead(404).end('not found')
        return
      }
      const etag = `"${st.ino}-${st.mtimeMs}"`
      res.setHeader('etag', etag)
      // As nginx and Apache do for static files.
      const ifMatch = req.headers['if-match']
      if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').some((t) => t.trim() === etag)) {
        res.writeHead(412).end()
        return
      }
      res.setHeader('last-modified', st.mtime.toUTCString())
      res.setHeader('accept-ranges', 'bytes')
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
      if (range && !options.ignoreRange) {
        const start = Number(range[1])
        const end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1
        if (start >= st.size) {
          res.writeHead(416, {'content-range': `bytes */${st.size}`}).end()
          return
        }
        res.writeHead(206, {'content-range': `bytes ${start}-${end}/${st.size}`, 'content-length': String(end - start + 1)})
        if (req.method === 'HEAD') res.end()
        else createReadStream(file, {start, end, highWaterMark: READ_BYTES}).pipe(res)
        return
      }
      res.writeHead(200, {'content-length': String(st.size)})
      if (req.method === 'HEAD') res.end()
      else createReadStream(file, {highWaterMark: READ_BYTES}).pipe(res)
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
