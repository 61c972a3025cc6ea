import {format} from 'node:util'

import type {Redactor} from './redact.js'

export const LOG_LEVELS = ['error', 'warn', 'notice', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Writable {
  write(chunk: string): unknown
  isTTY?: boolean
}

export interface LoggerOptions {
  level: LogLevel
  stream: Writable
  redactor: Redactor
  /** Prefix for every line, usually the tool's name. */
  name?: string
}

/** Logs go to stderr, never stdout, and every line is redacted. */
export class Logger {
  readonly level: LogLevel
  private readonly rank: number
  private readonly stream: Writable
  private readonly redactor: Redactor
  private readonly name: string | undefined

  constructor(options: LoggerOptions) {
    this.level = options.level
    this.rank = LOG_LEVELS.indexOf(options.level)
    this.stream = options.stream
    this.redactor = options.redactor
    this.name = options.name
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.rank
  }

  error(...args: unknown[]): void {
    this.emit('error', args)
  }
  warn(...args: unknown[]): void {
    this.emit('warn', args)
  }
  notice(...args: unknown[]): void {
    this.emit('notice', args)
  }
  info(...args: unknown[]): void {
    this.emit('info', args)
  }
  debug(...args: unknown[]): void {
    this.emit('debug', args)
  }

  private emit(level: LogLevel, args: unknown[]): void {
    if (!this.enabled(level)) return
    const text = this.redactor.redact(format(...args))
    const prefix = this.name ? `${this.name}: ` : ''
    const tag = level === 'notice' || level === 'info' ? '' : `${level}: `
    this.stream.write(`${prefix}${tag}${text}\n`)
  }
}

/** The level that the global flags ask for: --log-level wins, then -d, then -v. */
export function levelFromFlags(flags: {'log-level'?: string | undefined; verbose?: boolean; debug?: boolean}): LogLevel {
  if (flags['log-level'] && (LOG_LEVELS as readonly string[]).includes(flags['log-level'])) return flags['log-level'] as LogLevel
  if (flags.debug) return 'debug'
  if (flags.verbose) return 'info'
  return 'notice'
}
