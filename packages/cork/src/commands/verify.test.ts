import {execFile} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

const git = async (dir: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args])).stdout.trim()

/** Three git checkouts laid out by a repo manifest, in real repositories. */
describe('cork verify', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const shas: Record<string, string[]> = {}

  const project = async (path: string): Promise<void> => {
    const repo = join(dir, path)
    await mkdir(repo, {recursive: true})
    await git(repo, 'init', '-q')
    shas[path] = []
    for (const n of [1, 2]) {
      await writeFile(join(repo, 'file'), `${path} ${n}\n`)
      await git(repo, 'add', 'file')
      await git(repo, 'commit', '-q', '-m', `commit ${n}`)
      shas[path].push(await git(repo, 'rev-parse', 'HEAD'))
    }
    await git(repo, 'tag', 'v1', shas[path][0]!)
  }

  const manifest = (pins: Record<string, string>): Promise<void> =>
    writeFile(
      join(dir, '.repo/manifests/default.xml'),
      `<?xml version="1.0"?>\n<manifest>\n  <remote name="origin" fetch=".."/>\n  <default remote="origin" revision="main"/>\n  <include name="extra.xml"/>\n${Object.entries(
        pins,
      )
        .filter(([p]) => p !== 'src/third')
        .map(([p, r]) => `  <project name="${p}" path="${p}" revision="${r}"/>`)
        .join('\n')}\n</manifest>\n`,
    ).then(() =>
      writeFile(
        join(dir, '.repo/manifests/extra.xml'),
        `<manifest><project name="third" path="src/third" revision="${pins['src/third']}"/></manifest>\n`,
      ),
    )

  beforeEach(async () => {
    ;({dir, cleanup} = await makeTempDir())
    await mkdir(join(dir, '.repo/manifests'), {recursive: true})
    await writeFile(join(dir, '.repo/manifests/version.txt'), 'FLATCAR_VERSION=1\nFLATCAR_SDK_VERSION=1\n')
    for (const p of ['src/scripts', 'src/overlay', 'src/third']) await project(p)
  })
  afterEach(() => cleanup())

  const cork = (...args: string[]) =>
    runCli('cork', ['verify', ...args], {cwd: join(dir, 'src/scripts'), env: isolatedEnv(join(dir, 'home'), {SHELL: '/bin/sh'})})

  it('passes when every checkout is at its pin (SHA or tag) and clean', async () => {
    await git(join(dir, 'src/third'), 'checkout', '-q', 'v1')
    await manifest({'src/scripts': shas['src/scripts']![1]!, 'src/overlay': shas['src/overlay']![1]!, 'src/third': 'v1'})
    const r = await cork('--json')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout) as {ok: boolean; projects: Array<{path: string; ok: boolean}>}
    expect(result.ok).toBe(true)
    expect(result.projects.map((p) => p.path).sort()).toEqual(['src/overlay', 'src/scripts', 'src/third'])
  })

  it('fails (exit 1) naming each checkout off its pin, dirty, or missing', async () => {
    await manifest({'src/scripts': shas['src/scripts']![0]!, 'src/overlay': shas['src/overlay']![1]!, 'src/third': shas['src/third']![1]!})
    await writeFile(join(dir, 'src/overlay/untracked'), 'x')
    await writeFile(
      join(dir, '.repo/manifests/extra.xml'),
      `<manifest><project name="gone" path="src/gone" revision="${shas['src/third']![1]}"/></manifest>\n`,
    )
    const r = await cork()
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      new RegExp(
        `^FAIL src/scripts: HEAD is ${shas['src/scripts']![1]!.slice(0, 12)}, the manifest pins ${shas['src/scripts']![0]!.slice(0, 12)}$`,
        'm',
      ),
    )
    expect(r.stdout).toMatch(/^FAIL src\/overlay: not clean: 1 changed or untracked path \(\?\? untracked\)$/m)
    expect(r.stdout).toMatch(/^FAIL src\/gone: no git checkout at src\/gone$/m)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^cork: error: 3 of 3 checkouts do not match/)
  })

  it('a manifest that is not XML is a usage error (exit 2)', async () => {
    await writeFile(join(dir, '.repo/manifests/default.xml'), '<manifest><project')
    const r = await cork()
    expect(r.code).toBe(2)
  })
})
