import {Logger, Redactor, type LogLevel} from '@mantle/kit'

/** A real Logger writing into an array, for asserting on what was logged. */
export function captureLogger(level: LogLevel = 'debug'): {logger: Logger; redactor: Redactor; lines: string[]} {
  const lines: string[] = []
  const redactor = new Redactor()
  const logger = new Logger({level, redactor, stream: {write: (s: string) => lines.push(s)}})
  return {logger, redactor, lines}
}
