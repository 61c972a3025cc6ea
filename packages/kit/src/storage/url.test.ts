import {describe, expect, it} from 'vitest'

import {isStorageError} from './errors.js'
import {baseName, fixPrefix, parentPrefix, parseStorageUrl} from './url.js'

describe('parseStorageUrl', () => {
  it.each([
    ['gs://releases/a/b.bin', {scheme: 'gs', bucket: 'releases', key: 'a/b.bin'}],
    ['gs://releases', {scheme: 'gs', bucket: 'releases', key: ''}],
    ['s3://my.bucket/p/', {scheme: 's3', bucket: 'my.bucket', key: 'p/'}],
    ['az://acct/images/x/y', {scheme: 'az', account: 'acct', bucket: 'images', key: 'x/y'}],
    [
      'https://acct.blob.core.windows.net/images/x%20y',
      {scheme: 'az', account: 'acct', endpoint: 'https://acct.blob.core.windows.net', bucket: 'images', key: 'x y'},
    ],
    [
      'https://mirror.example.com:8443/stable/amd64/v.bin',
      {scheme: 'https', bucket: 'https://mirror.example.com:8443', key: 'stable/amd64/v.bin'},
    ],
    ['http://127.0.0.1:8080/', {scheme: 'http', bucket: 'http://127.0.0.1:8080', key: ''}],
    ['file:///srv/mirror/', {scheme: 'file', bucket: '', key: 'srv/mirror/'}],
    ['/srv/mirror/x.bin', {scheme: 'file', bucket: '', key: 'srv/mirror/x.bin'}],
  ])('Given %s, when parsed, then it names the backend, bucket and key', (url, want) => {
    expect(parseStorageUrl(url)).toEqual(want)
  })

  it('Given a relative path, when parsed, then it resolves against cwd', () => {
    expect(parseStorageUrl('out/dir/', '/work')).toEqual({scheme: 'file', bucket: '', key: 'work/out/dir/'})
  })

  it.each([
    ['ftp://host/x', /unknown scheme "ftp:"/],
    ['gs:/bucket/x', /expected "gs:\/\/"/],
    ['gs://', /no bucket name/],
    ['s3://UPPER/x', /not a valid bucket name/],
    ['az://acct', /not a valid container name/],
    ['https://', /not a valid URL|no host/],
    ['https://host/x?sig=1', /query strings/],
    ['', /empty/],
  ])('Given the malformed URL %s, when parsed, then a one-line invalid-url error (exit 2) says why', (url, message) => {
    let error: unknown
    try {
      parseStorageUrl(url)
    } catch (e) {
      error = e
    }
    expect(isStorageError(error, 'invalid-url')).toBe(true)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toContain('\n')
    expect((error as {exitCode: number}).exitCode).toBe(2)
  })
})

describe('prefix helpers', () => {
  it('fix, parent and base name follow the object-store conventions', () => {
    expect(fixPrefix('/a/b')).toBe('a/b/')
    expect(fixPrefix('')).toBe('')
    expect(parentPrefix('a/b/c')).toBe('a/b/')
    expect(parentPrefix('a/b/')).toBe('a/')
    expect(parentPrefix('a')).toBe('')
    expect(baseName('a/b/')).toBe('b')
  })
})
