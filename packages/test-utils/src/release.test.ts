import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {REPO_ROOT} from './cli.js'
import {makeTempDir} from './temp-dir.js'

// The release path of the README: `npm run release:version` (lerna) and a dry
// run of `npm run release:publish` (scripts/publish.sh). lerna runs in a clone,
// so the work tree and its history are never touched.

let dir: string
let cleanup: () => Promise<void>
const PACKAGES = ['kit', 'auth', 'cloud', 'test-utils', 'gangue', 'cork', 'ore', 'plume', 'kola']
const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GIT_AUTHOR_NAME: 'Release Test',
  GIT_AUTHOR_EMAIL: 'release@example.com',
  GIT_COMMITTER_NAME: 'Release Test',
  GIT_COMMITTER_EMAIL: 'release@example.com',
})

beforeAll(async () => {
  ;({dir, cleanup} = await makeTempDir())
})
afterAll(() => cleanup?.())

describe('releasing', () => {
  it(
    'lerna version (npm run release:version) bumps every package and the @mantle versions they depend on, commits and tags',
    {timeout: 10 * 60_000},
    () => {
      // Given a clone of the repository at HEAD, and the script the README names
      const clone = join(dir, 'clone')
      execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone], {env: env()})
      const script = (JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as {scripts: Record<string, string>}).scripts[
        'release:version'
      ]
      expect(script).toMatch(/lerna@\d+ version --no-push$/)

      // When it runs for version 9.8.7, unattended
      const r = spawnSync('npm', ['run', 'release:version', '--', '9.8.7', '--yes'], {cwd: clone, env: env(), encoding: 'utf8'})

      // Then every package, and every @mantle dependency, says 9.8.7, and the release is one commit with its tag
      expect(r.stderr).not.toMatch(/lerna ERR!/)
      expect(r.status).toBe(0)
      expect(JSON.parse(readFileSync(join(clone, 'lerna.json'), 'utf8')).version).toBe('9.8.7')
      for (const p of PACKAGES) {
        const manifest = JSON.parse(readFileSync(join(clone, 'packages', p, 'package.json'), 'utf8')) as {
          version: string
          dependencies?: Record<string, string>
          devDependencies?: Record<string, string>
        }
        expect(manifest.version, p).toBe('9.8.7')
        // lerna keeps each range's form (exact or caret) and moves it to the new version.
        for (const [dep, range] of Object.entries({...manifest.dependencies, ...manifest.devDependencies}))
          if (dep.startsWith('@mantle/')) expect(range, `${p} -> ${dep}`).toMatch(/^\^?9\.8\.7$/)
      }
      expect(execFileSync('git', ['tag', '--points-at', 'HEAD'], {cwd: clone, encoding: 'utf8'}).trim()).toBe('v9.8.7')
      expect(execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {cwd: clone, encoding: 'utf8'})).toBe('')
    },
  )

  it(
    'a publish dry run (npm run release:publish -- --dry-run) would publish each package from its clean tarball',
    {timeout: 10 * 60_000},
    () => {
      // When the dry run runs on the built tree
      const r = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'publish.sh'), '--dry-run'], {cwd: REPO_ROOT, env: env(), encoding: 'utf8'})

      // Then npm would publish all eight public packages, libraries first, and sends nothing
      expect(r.status).toBe(0)
      const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'lerna.json'), 'utf8')) as {version: string}).version
      const published = [...r.stdout.matchAll(/^\+ (@mantle\/[\w-]+)@(.+)$/gm)].map((m) => `${m[1]}@${m[2]}`)
      expect(published).toEqual(['kit', 'auth', 'cloud', 'gangue', 'cork', 'ore', 'plume', 'kola'].map((p) => `@mantle/${p}@${version}`))
      expect(r.stderr).toMatch(/\(dry-run\)/)
    },
  )
})
