import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {EngineApi, SPARE_MAX_AGE_MS} from './api.js'

/**
 * The connection handling of the engine client, against a scripted engine on a
 * unix socket: what a real dockerd or Podman never does on demand (keep a
 * connection open after a complete answer, close an idle one). The calls
 * themselves run against both real engines in the lifecycle suite.
 */
interface Engine {
  api: EngineApi
  /** Every connection the engine accepted, in order, with what it received. */
  connections: Array<{socket: Socket; received: string; closed: Promise<void>}>
  /** Called with each connection: the engine's script. */
  onConnection: (socket: Socket, index: number) => void
}

let dir: string
let server: Server
let engine: Engine

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cork-api-'))
  const socketPath = join(dir, 'engine.sock')
  const connections: Engine['connections'] = []
  engine = {api: new EngineApi({kind: 'unix', socketPath, url: `unix://${socketPath}`}), connections, onConnection: () => undefined}
  server = createServer((socket) => {
    const entry = {socket, received: '', closed: new Promise<void>((resolve) => socket.once('close', () => resolve()))}
    socket.on('data', (chunk) => {
      entry.received += chunk.toString('latin1')
    })
    socket.on('error', () => undefined)
    connections.push(entry)
    engine.onConnection(socket, connections.length - 1)
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
})

afterEach(async () => {
  vi.useRealTimers()
  engine.api.close()
  for (const c of engine.connections) c.socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  rmSync(dir, {recursive: true, force: true})
})

const answer = (body: string, headers = `Content-Length: ${Buffer.byteLength(body)}\r\n`): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${headers}\r\n${body}`

/** Answers the first request on a connection with `text`, then closes it (Connection: close) or, with `keepOpen`, does nothing more. */
function answerOnce(socket: Socket, text: string, keepOpen = false): void {
  socket.once('data', () => (keepOpen ? socket.write(text) : socket.end(text)))
}

// A call that waits for something that never comes fails here, not at the suite's timeout.
describe('EngineApi.request', {timeout: 5000}, () => {
  it('returns once the Content-Length is in, without waiting for the engine to close the connection', async () => {
    // Given an engine that answers and then keeps the connection open
    engine.onConnection = (socket) => answerOnce(socket, answer('{"Running":false,"ExitCode":7}'), true)
    // When a JSON call is made
    const r = await engine.api.request('GET', '/exec/x/json')
    // Then the answer is there, and the client has closed the connection itself
    expect(r).toEqual({status: 200, body: {Running: false, ExitCode: 7}})
    await engine.connections[0]!.closed
  })

  it('reads an answer without Content-Length up to the engine’s close', async () => {
    engine.onConnection = (socket) =>
      socket.once('data', () => {
        socket.write(answer('', ''))
        socket.write('{"Id":')
        setTimeout(() => socket.end('"abc"}'), 20)
      })
    expect(await engine.api.request('POST', '/containers/c/exec', {Cmd: ['true']})).toEqual({status: 200, body: {Id: 'abc'}})
  })

  it('waits for the whole body when it comes in pieces', async () => {
    engine.onConnection = (socket) =>
      socket.once('data', () => {
        const whole = answer('{"Id":"abc"}')
        socket.write(whole.slice(0, -4))
        setTimeout(() => socket.write(whole.slice(-4)), 20)
      })
    expect(await engine.api.request('POST', '/containers/c/exec', {})).toEqual({status: 200, body: {Id: 'abc'}})
  })
})

describe('EngineApi.prepare', {timeout: 5000}, () => {
  it('sends the next call on the connection it opened ahead', async () => {
    engine.onConnection = (socket) => answerOnce(socket, answer('{}'))
    engine.api.prepare()
    await vi.waitFor(() => expect(engine.connections).toHaveLength(1))
    await engine.api.request('GET', '/exec/x/json')
    expect(engine.connections).toHaveLength(1)
    expect(engine.connections[0]!.received).toMatch(/^GET \/v1\.41\/exec\/x\/json /)
  })

  it('does not use a connection the engine closed while it waited', async () => {
    // Given an engine that closes the first connection unused, as an idle timeout does
    engine.onConnection = (socket, index) => (index === 0 ? socket.end() : answerOnce(socket, answer('{"ExitCode":0}')))
    engine.api.prepare()
    await vi.waitFor(() => expect(engine.connections).toHaveLength(1))
    await engine.connections[0]!.closed
    // When the next call is made, it goes on a new connection and succeeds
    expect(await engine.api.request('GET', '/exec/x/json')).toEqual({status: 200, body: {ExitCode: 0}})
    expect(engine.connections).toHaveLength(2)
    expect(engine.connections[0]!.received).toBe('')
  })

  it('does not use a connection older than SPARE_MAX_AGE_MS, and closes it', async () => {
    engine.onConnection = (socket) => answerOnce(socket, answer('{}'))
    vi.useFakeTimers({toFake: ['Date']})
    engine.api.prepare()
    await vi.waitFor(() => expect(engine.connections).toHaveLength(1))
    vi.setSystemTime(Date.now() + SPARE_MAX_AGE_MS + 1)
    await engine.api.request('GET', '/exec/x/json')
    expect(engine.connections).toHaveLength(2)
    expect(engine.connections[0]!.received).toBe('')
    await engine.connections[0]!.closed
  })
})
