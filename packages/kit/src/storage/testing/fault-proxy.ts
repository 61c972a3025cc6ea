import {createServer, connect, type Server, type Socket} from 'node:net'

/** What to do to one connection once `afterBytes` have gone the given way. */
export interface Fault {
  kind: 'reset' | 'stall'
  /** upload: client to server bytes; download: server to client bytes. */
  direction: 'upload' | 'download'
  afterBytes: number
}

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  origin: string
  port: number
  /** Connections accepted so far. */
  connections: number
  /** Faults actually injected. */
  injected: number
  close(): Promise<void>
}

/**
 * A TCP proxy to `target` on 127.0.0.1 that injects faults: for each new
 * connection, `plan(n)` (n from 0) says whether and when to reset it (RST)
 * or to stall it (stop forwarding, keep it open) mid-transfer.
 */
export async function startFaultProxy(
  target: {host: string; port: number},
  plan: (connection: number) => Fault | undefined,
): Promise<FaultProxy> {
  const sockets = new Set<Socket>()
  const state = {connections: 0, injected: 0}
  const server: Server = createServer((client) => {
    const fault = plan(state.connections++)
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    let up = 0
    let down = 0
    let stalled = false
    const trip = (): void => {
      state.injected++
      if (fault!.kind === 'reset') {
        client.resetAndDestroy()
        upstream.destroy()
      } else {
        stalled = true
      }
    }
    const forward = (from: Socket, to: Socket, direction: 'upload' | 'download') => (chunk: Buffer) => {
      if (stalled) return
      const before = direction === 'upload' ? up : down
      if (direction === 'upload') up += chunk.length
      else down += chunk.length
      if (fault && fault.direction === direction && before < fault.afterBytes && before + chunk.length >= fault.afterBytes) {
        // Let the bytes up to the fault through, then break.
        to.write(chunk.subarray(0, fault.afterBytes - before))
        trip()
        return
      }
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    }
    client.on('data', forward(client, upstream, 'upload'))
    upstream.on('data', forward(upstream, client, 'download'))
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return state.connections
    },
    get injected() {
      return state.injected
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
