import {describe, expect, it} from 'vitest'

import {Redactor} from './redact.js'

describe('Redactor', () => {
  it('replaces every registered secret, longest first', () => {
    const r = new Redactor()
    r.add('abcdef123456')
    r.add('abcdef123456789')
    expect(r.redact('a=abcdef123456789 b=abcdef123456')).toBe('a=*** b=***')
  })

  it('covers each line of a multi-line secret and its JSON-escaped form', () => {
    const r = new Redactor()
    const pem = '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END KEY-----'
    r.add(pem)
    expect(r.redact('line: MIIEvQIBADANBgkqhkiG9w0BAQEF')).toBe('line: ***')
    expect(r.redact(JSON.stringify({k: pem}))).toBe('{"k":"***"}')
  })

  it('ignores values too short to be secrets', () => {
    const r = new Redactor()
    r.add('abc')
    r.add(undefined)
    expect(r.redact('abc')).toBe('abc')
  })

  it('redacts inside JSON values', () => {
    const r = new Redactor()
    r.add('secret-value-1')
    expect(r.redactValue({a: ['x secret-value-1 y'], b: 2})).toEqual({a: ['x *** y'], b: 2})
  })
})
