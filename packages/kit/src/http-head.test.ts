import {describe, expect, it} from 'vitest'

import {takeHttpHead} from './http-head.js'

describe('takeHttpHead', () => {
  it('waits for the blank line, then gives status, lower-case headers and the bytes after', () => {
    expect(takeHttpHead(Buffer.from('HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\n'))).toBeUndefined()
    const head = takeHttpHead(Buffer.from('HTTP/1.1 206 Partial Content\r\nContent-Length: 3\r\nX-A:  b:c \r\n\r\nabc'))
    expect(head?.status).toBe(206)
    expect([...(head?.headers ?? [])]).toEqual([
      ['content-length', '3'],
      ['x-a', 'b:c'],
    ])
    expect(head?.rest.toString()).toBe('abc')
  })

  it('refuses what is not HTTP/1.x', () => {
    expect(() => takeHttpHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/^not an HTTP response: "SSH-2.0-OpenSSH"$/)
  })

  it('refuses a head that grows past 64 KiB without ending', () => {
    expect(() => takeHttpHead(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}`))).toThrow(/over 65536 bytes/)
  })
})
