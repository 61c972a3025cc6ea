import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {checkPackage, checkWorkspaces} from './check-deps.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('check-deps', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-deps-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  async function fixture(pkg: object, files: Record<string, string>): Promise<void> {
    await writeFile(join(dir, 'package.json'), JSON.stringify({name: '@fixture/pkg', version: '0.0.0', ...pkg}))
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), {recursive: true})
      await writeFile(join(dir, path), text)
    }
  }

  it('Given the repository, when checked, then every package declares exactly what it imports', () => {
    expect(checkWorkspaces(root)).toEqual([])
  })

  it('Given a package whose shipped code imports a package it does not declare, when checked, then that import is reported', async () => {
    await fixture(
      {dependencies: {yaml: '^2'}},
      {
        'src/index.ts':
          "import {parse} from 'yaml'\nimport {Command} from '@oclif/core/lib/command.js'\nexport const x = [parse, Command]\n",
      },
    )
    expect(checkPackage(dir)).toEqual([
      '@fixture/pkg: src/index.ts imports @oclif/core, which the package does not declare (add it to dependencies)',
    ])
  })

  it('Given dynamic imports, require() and type imports of undeclared packages, when checked, then each is reported', async () => {
    await fixture(
      {},
      {
        'src/a.ts': "export const a = await import('ssh2')\nexport type T = import('dockerode').ContainerInfo\n",
        'bin/run.cjs': "require('tar')\n",
      },
    )
    expect(checkPackage(dir).map((p) => p.replace(/, which.*/, ''))).toEqual([
      '@fixture/pkg: src/a.ts imports ssh2',
      '@fixture/pkg: src/a.ts imports dockerode',
      '@fixture/pkg: bin/run.cjs imports tar',
    ])
  })

  it('Given a dependency nothing imports and one only tests import, when checked, then both are reported', async () => {
    await fixture(
      {dependencies: {got: '^16', nock: '^15'}},
      {
        'src/index.ts': "import {join} from 'node:path'\nimport fs from 'fs'\nexport const x = [join, fs]\n",
        'src/index.test.ts': "import nock from 'nock'\nexport const n = nock\n",
      },
    )
    expect(checkPackage(dir)).toEqual([
      '@fixture/pkg: dependency got is declared but never imported (remove it)',
      '@fixture/pkg: dependency nock is imported only by test code (move it to devDependencies)',
    ])
  })

  it('Given test code importing the root tooling or its devDependencies, when checked, then nothing is reported; shipped code may not', async () => {
    await fixture(
      {devDependencies: {nock: '^15'}},
      {
        'src/a.test.ts': "import {it} from 'vitest'\nimport nock from 'nock'\nit('x', () => nock)\n",
        'src/testing/h.ts': "import nock from 'nock'\nexport const n = nock\n",
        'src/b.ts': "import nock from 'nock'\nexport const n = nock\n",
      },
    )
    expect(checkPackage(dir, {vitest: '^5'})).toEqual([
      '@fixture/pkg: src/b.ts imports nock, which the package does not declare (shipped code needs it in dependencies, not devDependencies)',
    ])
  })
})
