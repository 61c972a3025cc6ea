import {Agent, createServer, request, type IncomingMessage, type Server} from 'node:http'

/** One HTTP request as the store saw it: method, path, and the names of its query parameters. */
export interface SeenRequest {
  method: string
  path: string
  /** Query parameter names (their values dropped: upload ids, tokens), sorted. */
  query: string[]
  /** Who sent it: an SDK names itself here, the storage layer's own requests say mantle-ts. */
  userAgent: string
}

export interface RequestCounter {
  /** http://127.0.0.1:<port> */
  origin: string
  requests: SeenRequest[]
  /** Forgets what was seen so far. */
  reset(): void
  close(): Promise<void>
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a storage emulator that records
 * every request it forwards: the count of requests a storage operation
 * really makes, whatever the SDK does underneath (retries, HEADs, listings).
 */
export async function startRequestCounter(target: {host: string; port: number}): Promise<RequestCounter> {
  const requests: SeenRequest[] = []
  const agent = new Agent({keepAlive: true})
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: [...url.searchParams.keys()].sort(),
      userAgent: req.headers['user-agent'] ?? '',
    })
    const upstream = request(
      {host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent},
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    reset: () => void requests.splice(0),
    close: async () => {
      server.closeAllConnections()
      agent.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
