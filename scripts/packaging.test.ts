import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** A test helper, a test, or the private fixture package, by its path in a tarball. */
const TEST_CODE = /(^|\/)testing(\/|\.)|\.test\.|test-utils/

/**
 * What each published package really ships: `npm pack` of the built package,
 * then the tarball's listing (tar -tzf). Test helpers are excluded from every
 * tsconfig build, so none may be in dist/ or the tarball. Needs a build
 * (npm run build): without dist/ the tarball would prove nothing, so that
 * fails too.
 */
describe('npm pack', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-pack-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it.each(['gangue', 'cork', 'ore', 'plume', 'kola', 'kit', 'auth', 'cloud'])(
    'Given the built %s, when packed, then the tarball lists its code and no test helper',
    async (name) => {
      const pkg = join(root, 'packages', name)
      expect(
        existsSync(join(pkg, 'dist', 'index.js')) || existsSync(join(pkg, 'dist', 'commands')),
        `packages/${name}/dist is missing: build first`,
      ).toBe(true)

      const {stdout} = await run('npm', ['pack', '--json', '--pack-destination', dir], {cwd: pkg})
      const [{filename}] = JSON.parse(stdout) as [{filename: string}]
      const listing = (await run('tar', ['-tzf', join(dir, filename)])).stdout.split('\n').filter(Boolean)

      expect(listing).toContain('package/package.json')
      expect(listing.some((p) => p.startsWith('package/dist/') && p.endsWith('.js'))).toBe(true)
      expect(listing.filter((p) => TEST_CODE.test(p))).toEqual([])
    },
  )
})
