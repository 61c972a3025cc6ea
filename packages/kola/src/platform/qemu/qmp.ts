import {connect, type Socket} from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

import {InfraError} from '@mantle/kit'

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

/** A minimal QMP client over QEMU's unix socket: commands in, answers out, events ignored. */
export class Qmp {
  private buffer = ''
  private readonly pending: Pending[] = []

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('close', () => {
      for (const p of this.pending.splice(0)) p.reject(new InfraError('QMP connection closed'))
    })
    socket.on('error', () => undefined)
  }

  /** Connects once QEMU has created the socket, and leaves capabilities negotiation. */
  static async connect(path: string, deadline: number, gone: () => string | undefined): Promise<Qmp> {
    for (;;) {
      const why = gone()
      if (why) throw new InfraError(`QEMU ${why}`)
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path)
          s.once('connect', () => resolve(s))
          s.once('error', reject)
        })
        const qmp = new Qmp(socket)
        await qmp.greeting()
        await qmp.execute('qmp_capabilities')
        return qmp
      } catch (error) {
        if (Date.now() > deadline) throw new InfraError(`QMP socket ${path}: ${error instanceof Error ? error.message : String(error)}`)
        await sleep(50)
      }
    }
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const answer = new Promise<unknown>((resolve, reject) => this.pending.push({resolve, reject}))
    this.socket.write(JSON.stringify(args ? {execute: command, arguments: args} : {execute: command}) + '\n')
    return answer
  }

  /** `human-monitor-command`: the monitor's text answer. */
  async hmp(commandLine: string): Promise<string> {
    return String(await this.execute('human-monitor-command', {'command-line': commandLine}))
  }

  close(): void {
    this.socket.destroy()
  }

  private greetingWaiter: Pending | undefined

  private greeting(): Promise<void> {
    return new Promise((resolve, reject) => (this.greetingWaiter = {resolve: () => resolve(), reject}))
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).trim()
      this.buffer = this.buffer.slice(nl + 1)
      if (!line) continue
      let message: {QMP?: unknown; return?: unknown; error?: {desc?: string}; event?: string}
      try {
        message = JSON.parse(line)
      } catch {
        continue
      }
      if (message.QMP !== undefined) {
        this.greetingWaiter?.resolve(undefined)
        this.greetingWaiter = undefined
      } else if (message.event !== undefined) {
        continue
      } else {
        const p = this.pending.shift()
        if (!p) continue
        if (message.error) p.reject(new InfraError(`QMP: ${message.error.desc ?? 'error'}`))
        else p.resolve(message.return)
      }
    }
  }
}

/** The host port QEMU's user network forwards to the guest's port 22, from `info usernet`. */
export function parseForwardedPort(usernet: string, guestPort = 22): number | undefined {
  for (const line of usernet.split(/\r?\n/)) {
    const m = /HOST_FORWARD\]\s+\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line)
    if (m && Number(m[4]) === guestPort) return Number(m[2])
  }
  return undefined
}
