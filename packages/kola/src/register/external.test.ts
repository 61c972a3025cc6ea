import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {useTempDir} from '../testing/vm.js'
import {parseMeta} from './external-meta.js'
import {loadExternalTests} from './external.js'

const tempDir = useTempDir()
const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo')

async function script(path: string, body: string): Promise<void> {
  await mkdir(join(path, '..'), {recursive: true})
  await writeFile(path, body)
  await chmod(path, 0o755)
}

describe('loadExternalTests (coreos-assembler layout)', () => {
  it('names tests after the tree, with test.sh alone naming its directory, and reads kola.json, inline JSON and inline YAML', async () => {
    // Given the example tree of the repository
    // When it is loaded
    const tests = await loadExternalTests({dir: DEMO})
    const byName = new Map(tests.map((t) => [t.name, t]))

    // Then names follow the tree
    expect([...byName.keys()].sort()).toEqual([
      'ext.demo.config',
      'ext.demo.conflict.first',
      'ext.demo.conflict.second',
      'ext.demo.elsewhere',
      'ext.demo.machine',
      'ext.demo.reboot',
      ...[1, 2, 3, 4, 5, 6].map((i) => `ext.demo.shared.check-${i}`),
      'ext.demo.tagged',
    ])
    // And kola.json applies to every executable of its directory
    expect(byName.get('ext.demo.shared.check-3')).toMatchObject({
      exclusive: false,
      tags: ['shared', 'smoke'],
      architectures: ['x86_64', 'aarch64'],
      excludeDistros: ['fcos'],
      timeoutMs: 300_000,
    })
    // And inline JSON and YAML stanzas are read, comments in YAML included
    expect(byName.get('ext.demo.conflict.first')).toMatchObject({
      exclusive: false,
      description: 'Holds a lock file that its conflicting partner must never see',
    })
    expect(byName.get('ext.demo.conflict.second')).toMatchObject({exclusive: false, conflicts: ['ext.demo.conflict.first']})
    expect(byName.get('ext.demo.machine')?.machine).toEqual({
      minMemoryMiB: 1536,
      minDiskGiB: 3,
      additionalDisksMiB: [1024, 512],
      additionalNics: 1,
      appendKernelArgs: 'kola.demo=yes',
    })
    expect(byName.get('ext.demo.elsewhere')?.platforms).toEqual(['aws', 'gcp'])
    expect(byName.get('ext.demo.tagged')?.requiredTag).toBe('special')
    expect(byName.get('ext.demo.reboot')).toMatchObject({exclusive: true, timeoutMs: 900_000})
    // And config.ign is the test's userData
    expect(byName.get('ext.demo.config')?.userData).toMatchObject({ignition: {version: '3.3.0'}})
    expect(byName.get('ext.demo.config')?.allowConfigWarnings).toBe(true)
  })

  it('takes a bare tests/kola tree too, and lets inline metadata override kola.json', async () => {
    // Given a tree whose kola.json says exclusive and a script that says otherwise
    const root = join(tempDir(), 'proj', 'tests', 'kola')
    await writeFile(join(await mkdirp(join(root, 'a')), 'kola.json'), '{"exclusive": true, "tags": "x"}')
    await script(join(root, 'a', 'one'), '#!/bin/sh\n# kola: {"exclusive": false}\ntrue\n')
    await script(join(root, 'a', 'two'), '#!/bin/sh\ntrue\n')
    await writeFile(join(root, 'a', 'notes.txt'), 'not a test')

    // When the tests/kola directory itself is loaded
    const tests = await loadExternalTests({dir: root})

    // Then the project name is the directory above tests/, and inline keys win over kola.json's
    expect(tests.map((t) => [t.name, t.exclusive, t.tags])).toEqual([
      ['ext.proj.a.one', false, ['x']],
      ['ext.proj.a.two', true, ['x']],
    ])
  })

  it('rejects unknown keys, unsupported keys and contradictions as usage errors', async () => {
    expect(() => parseMeta({exclusiv: false}, 'kola.json')).toThrow(/kola.json: unknown key exclusiv/)
    expect(() => parseMeta({injectContainer: true}, 'kola.json')).toThrow(/not supported/)
    expect(() => parseMeta({conflicts: ['x']}, 'kola.json')).toThrow(/conflicts only make sense with "exclusive": false/)
    expect(() => parseMeta({additionalDisks: ['five']}, 'kola.json')).toThrow(/not a size/)
    expect(() => parseMeta({platforms: 'qemu !aws'}, 'kola.json')).toThrow(/only the first word/)
    expect(parseMeta({platforms: '!qemu aws'}, 'x')).toEqual({platforms: {only: [], exclude: ['qemu', 'aws']}})
    // And a bad stanza in a script names the script
    const root = join(tempDir(), 'p', 'tests', 'kola')
    await script(join(root, 'bad'), '#!/bin/sh\n# kola: {not json}\n')
    await expect(loadExternalTests({dir: join(tempDir(), 'p')})).rejects.toThrow(/bad: the "# kola:" line is not one line of JSON/)
  })
})

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, {recursive: true})
  return dir
}
