import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface Reply {
  status: number
  json?: unknown
}

/**
 * A real HTTP server on 127.0.0.1 that records requests and answers from a
 * route table. Streamed upload bodies go here rather than through nock,
 * which lets some of them through to DNS instead of intercepting them.
 */
export async function recordingServer(
  route: (req: RecordedRequest) => Reply,
): Promise<{url: string; requests: RecordedRequest[]; close: () => Promise<void>}> {
  const requests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const recorded = {method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks)}
      requests.push(recorded)
      const reply = route(recorded)
      res
        .writeHead(reply.status, reply.json === undefined ? {} : {'content-type': 'application/json'})
        .end(reply.json === undefined ? undefined : JSON.stringify(reply.json))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
