import {describe, expect, it} from 'vitest'

import {levelFromFlags, Logger} from './log.js'
import {Redactor} from './redact.js'

describe('Logger', () => {
  it('writes only lines at or above its level, redacted', () => {
    const lines: string[] = []
    const redactor = new Redactor()
    redactor.add('top-secret-value')
    const log = new Logger({level: 'info', stream: {write: (s: string) => lines.push(s)}, redactor, name: 'ore'})
    log.debug('hidden')
    log.info('token=%s', 'top-secret-value')
    log.warn('careful')
    expect(lines).toEqual(['ore: token=***\n', 'ore: warn: careful\n'])
  })

  it('takes its level from --log-level, then -d, then -v', () => {
    expect(levelFromFlags({})).toBe('notice')
    expect(levelFromFlags({verbose: true})).toBe('info')
    expect(levelFromFlags({debug: true, verbose: true})).toBe('debug')
    expect(levelFromFlags({'log-level': 'error', debug: true})).toBe('error')
  })
})
