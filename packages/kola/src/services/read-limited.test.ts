import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadDenylist} from './denylist.js'
import {readLimited} from './read-limited.js'
import {checkConsole} from './signatures.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kola-limit-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('readLimited', () => {
  it('reads a file up to and at the limit', async () => {
    // Given a file of exactly 10 bytes
    const file = join(dir, 'ten')
    await writeFile(file, '0123456789')

    // Then a limit of 10 reads it whole
    expect(await readLimited(file, 10, 'console log')).toBe('0123456789')
  })

  it('refuses a file over the limit with a usage error naming the file and the limit', async () => {
    const file = join(dir, 'eleven')
    await writeFile(file, '0123456789a')
    await expect(readLimited(file, 10, 'console log')).rejects.toMatchObject({
      exitCode: 2,
      message: `the console log ${file} is larger than 10 bytes, the most kola reads`,
    })
  })

  it('stops reading an endless device at the limit', async () => {
    await expect(readLimited('/dev/zero', 1024 * 1024, 'denylist')).rejects.toMatchObject({
      exitCode: 2,
      message: 'the denylist /dev/zero is larger than 1 MiB, the most kola reads',
    })
  })

  it('says a directory or a missing file cannot be read, as a usage error', async () => {
    await expect(readLimited(dir, 10, 'denylist')).rejects.toMatchObject({
      exitCode: 2,
      message: `cannot read the denylist ${dir}: it is a directory`,
    })
    await expect(readLimited(join(dir, 'nope'), 10, 'denylist')).rejects.toMatchObject({
      exitCode: 2,
      message: `cannot read the denylist ${join(dir, 'nope')}: no such file`,
    })
  })
})

describe('files the user names are read with a limit', () => {
  it('check-console refuses /dev/zero as a usage error instead of reading it forever', async () => {
    await expect(checkConsole({paths: ['/dev/zero']})).rejects.toMatchObject({
      exitCode: 2,
      message: 'the console log /dev/zero is larger than 64 MiB, the most kola reads',
    })
  })

  it('a denylist from /dev/zero is a usage error', async () => {
    await expect(loadDenylist('/dev/zero')).rejects.toMatchObject({
      exitCode: 2,
      message: 'the denylist /dev/zero is larger than 1 MiB, the most kola reads',
    })
  })
})
