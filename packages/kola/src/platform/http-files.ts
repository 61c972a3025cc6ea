import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {BugError, InfraError, type Logger} from '@mantle/kit'

/**
 * Files kola serves to machines over HTTP (the remote sources of their
 * Ignition configs), by path. One server per flight, on the loopback
 * interface; each platform makes it reachable from its machines in its own
 * way (QEMU: a guestfwd of the machine's user network).
 */
export class HttpFileServer {
  private readonly files = new Map<string, Buffer>()
  /** Paths the machines asked for, in order (200 and 404 alike). */
  readonly requests: string[] = []
  private readonly server: Server
  private listening = 0

  private constructor(private readonly logger: Logger) {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://machine').pathname
      this.requests.push(path)
      const body = this.files.get(path)
      this.logger.debug(`http: ${req.method} ${path} ${body ? 200 : 404}`)
      if (!body || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, {'content-type': 'text/plain'}).end('not found\n')
        return
      }
      res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': body.length})
      res.end(req.method === 'HEAD' ? undefined : body)
    })
  }

  /** Listens on 127.0.0.1, on a port the kernel picks. */
  static async start(logger: Logger): Promise<HttpFileServer> {
    const instance = new HttpFileServer(logger)
    await new Promise<void>((resolve, reject) => {
      instance.server.once('error', (error) => reject(new InfraError(`cannot serve files to machines: ${error.message}`)))
      instance.server.listen(0, '127.0.0.1', () => resolve())
    })
    instance.listening = (instance.server.address() as AddressInfo).port
    return instance
  }

  get port(): number {
    return this.listening
  }

  /** Serves more files; a path already served with other contents is a bug of the tests that name it. */
  add(files: Readonly<Record<string, string | Uint8Array>>): void {
    for (const [path, contents] of Object.entries(files)) {
      if (!path.startsWith('/')) throw new BugError(`served file path ${JSON.stringify(path)} must start with "/"`)
      const body = Buffer.from(contents)
      const existing = this.files.get(path)
      if (existing && !existing.equals(body)) throw new BugError(`two tests serve ${path} with different contents`)
      this.files.set(path, body)
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
