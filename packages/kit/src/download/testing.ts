import {connect, createServer, type AddressInfo, type Server, type Socket} from 'node:net'

/**
 * A TCP proxy for download tests that fails the way real networks do: the
 * first `times` responses to a GET of a path ending in `suffix` are cut off
 * after `afterBytes` bytes (headers included). Put it in front of the kit's
 * mirror server (storage/testing/mirror-server.ts). Not used by the tools.
 */
export interface CuttingProxyOptions {
  suffix: string
  afterBytes: number
  times: number
}

export interface CuttingProxy {
  origin: string
  /** How many responses were cut off so far. */
  cuts(): number
  close(): Promise<void>
}

export async function startCuttingProxy(target: string, options: CuttingProxyOptions): Promise<CuttingProxy> {
  const {hostname, port} = new URL(target)
  const sockets = new Set<Socket>()
  let cut = 0
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname)
    sockets.add(client).add(upstream)
    // Bytes of the current response still allowed through; undefined when this response is not to be cut.
    let budget: number | undefined
    client.on('data', (chunk: Buffer) => {
      const line = /^(GET|HEAD) (\S+) HTTP/m.exec(chunk.toString('latin1'))
      if (line?.[1] === 'GET' && line[2]!.split('?')[0]!.endsWith(options.suffix) && cut < options.times) {
        cut++
        budget = options.afterBytes
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (budget === undefined) {
        client.write(chunk)
        return
      }
      client.write(chunk.subarray(0, budget))
      budget -= Math.min(budget, chunk.length)
      if (budget === 0) {
        client.destroy()
        upstream.destroy()
      }
    })
    const close = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', close).on('error', close)
    upstream.on('close', close).on('error', close)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cuts: () => cut,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
