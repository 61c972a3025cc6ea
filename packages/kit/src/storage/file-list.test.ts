import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openBucket} from './open.js'
import type {Bucket, ListEntry} from './types.js'

describe('local directory listings', () => {
  let dir: string
  let bucket: Bucket
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-list-'))
    for (const k of ['a.txt', 'b/1.txt', 'b/2.txt', 'c/d/e.txt']) {
      await mkdir(join(dir, k, '..'), {recursive: true})
      await writeFile(join(dir, k), k)
    }
    await symlink(join(dir, 'a.txt'), join(dir, 'b', 'link.txt'))
    await writeFile(join(dir, 'b', '.2.txt.mantle-partial-000000000000'), 'half')
    bucket = await openBucket(dir)
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  const all = async (options: Parameters<Bucket['list']>[0]): Promise<ListEntry[]> => {
    const out: ListEntry[] = []
    for await (const e of bucket.list(options)) out.push(e)
    return out
  }
  const keys = (entries: ListEntry[]): string[] => entries.map((e) => (e.type === 'object' ? e.object.key : e.prefix).slice(dir.length))

  it('Given a tree, when listed keys-only, then the same keys in the same order, without generations (no stat per file)', async () => {
    const full = await all({prefix: dir.slice(1) + '/'})
    const bare = await all({prefix: dir.slice(1) + '/', keysOnly: true})
    expect(keys(bare)).toEqual(keys(full))
    expect(keys(full)).toEqual(['a.txt', 'b/1.txt', 'b/2.txt', 'b/link.txt', 'c/d/e.txt'])
    expect(full.every((e) => e.type === 'object' && e.object.generation !== undefined && e.object.size > 0)).toBe(true)
    // Plain files carry no generation; a symbolic link was stat'ed anyway to learn what it points at.
    expect(keys(bare.filter((e) => e.type === 'object' && e.object.generation === undefined))).toEqual([
      'a.txt',
      'b/1.txt',
      'b/2.txt',
      'c/d/e.txt',
    ])
  })

  it('Given a delimiter, when listed, then sub-prefixes roll up as object stores do', async () => {
    expect(keys(await all({prefix: dir.slice(1) + '/', delimiter: '/'}))).toEqual(['a.txt', 'b/', 'c/'])
  })
})
