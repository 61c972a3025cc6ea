import {createReadStream, createWriteStream, existsSync, type WriteStream} from 'node:fs'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import type {ClientChannel} from 'ssh2'

import type {SshConnection} from './ssh.js'

/** The original's command: the whole current boot, then follow. */
export const JOURNAL_COMMAND = 'journalctl --output=export --follow --lines=all --boot'

/**
 * Records a machine's journal over SSH, in journald's export format, into
 * `journal-raw.txt` while the machine runs; `finish` renders `journal.txt` and
 * compresses the raw stream to `journal-raw.txt.gz`.
 */
export class JournalRecorder {
  private channel: ClientChannel | undefined
  private out: WriteStream | undefined
  private ended: Promise<void> = Promise.resolve()
  private restarts = 0

  constructor(readonly rawPath: string) {}

  /**
   * Starts (or, after a reboot, restarts) following the journal; appends to
   * the raw file. If the stream ends while the machine runs (its SSH
   * connection dropped), it starts again on a fresh connection: the whole
   * boot is sent again, and rendering keeps each entry once (by cursor).
   */
  async start(connect: () => Promise<SshConnection>): Promise<void> {
    await this.stop()
    const channel = await (await connect()).open(JOURNAL_COMMAND)
    const out = createWriteStream(this.rawPath, {flags: 'a'})
    this.channel = channel
    this.out = out
    channel.stderr.resume()
    channel.pipe(out)
    this.ended = new Promise((resolve) => {
      out.once('close', resolve)
      out.once('error', () => resolve())
    })
    channel.once('close', () => {
      if (this.channel !== channel || this.restarts >= 10) return
      this.restarts++
      this.channel = undefined
      setTimeout(() => void this.start(connect).catch(() => undefined), 1000).unref()
    })
  }

  /** Stops following; what arrived so far is on disk when this resolves. */
  async stop(): Promise<void> {
    const channel = this.channel
    this.channel = undefined
    if (channel) {
      channel.close()
      // A closed connection never ends the pipe by itself.
      setTimeout(() => this.out?.end(), 2000).unref()
    }
    await this.ended
    this.out = undefined
  }

  /** Writes `journal.txt` and `journal-raw.txt.gz`; keeps nothing else. */
  async finish(textPath: string): Promise<void> {
    await this.stop()
    if (!existsSync(this.rawPath)) {
      await writeFile(textPath, '')
      return
    }
    const raw = await readFile(this.rawPath)
    await writeFile(textPath, renderExport(raw))
    await pipeline(createReadStream(this.rawPath), createGzip(), createWriteStream(`${this.rawPath}.gz`))
    await rm(this.rawPath, {force: true})
  }
}

/** One journal entry's fields. Binary values are decoded as UTF-8. */
export type JournalEntry = Record<string, string>

/**
 * Parses journald's export format: entries separated by an empty line; a
 * field is `NAME=value\n`, or `NAME\n` + a 64-bit little-endian length + the
 * bytes + `\n` when the value is binary or holds a newline.
 */
export function parseExport(data: Buffer): JournalEntry[] {
  const entries: JournalEntry[] = []
  let entry: JournalEntry = {}
  let i = 0
  while (i < data.length) {
    const nl = data.indexOf(0x0a, i)
    if (nl === -1) break // a truncated last line: the stream was cut
    if (nl === i) {
      if (Object.keys(entry).length > 0) entries.push(entry)
      entry = {}
      i = nl + 1
      continue
    }
    const line = data.subarray(i, nl)
    const eq = line.indexOf(0x3d)
    if (eq !== -1) {
      entry[line.subarray(0, eq).toString('utf8')] = line.subarray(eq + 1).toString('utf8')
      i = nl + 1
      continue
    }
    if (nl + 9 > data.length) break
    const size = Number(data.readBigUInt64LE(nl + 1))
    const start = nl + 9
    if (start + size + 1 > data.length) break
    entry[line.toString('utf8')] = data.subarray(start, start + size).toString('utf8')
    i = start + size + 1
  }
  if (Object.keys(entry).length > 0) entries.push(entry)
  // A restarted recorder sends the boot again: keep each entry once.
  const seen = new Set<string>()
  return entries.filter((e) => {
    const cursor = e.__CURSOR
    if (cursor === undefined) return true
    if (seen.has(cursor)) return false
    seen.add(cursor)
    return true
  })
}

/** Renders entries like `journalctl -o short-iso-precise`. */
export function renderExport(data: Buffer): string {
  return parseExport(data)
    .map((e) => {
      const us = Number(e.__REALTIME_TIMESTAMP ?? 0)
      const when = new Date(us / 1000).toISOString().replace('Z', `${String(us % 1000).padStart(3, '0')}Z`)
      const ident = e.SYSLOG_IDENTIFIER ?? e._COMM ?? 'unknown'
      const pid = e._PID ?? e.SYSLOG_PID
      const head = `${when} ${e._HOSTNAME ?? 'localhost'} ${ident}${pid && ident !== 'kernel' ? `[${pid}]` : ''}:`
      return (e.MESSAGE ?? '')
        .split('\n')
        .map((line) => `${head} ${line}`)
        .join('\n')
    })
    .join('\n')
    .concat('\n')
}
