import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {REPO_ROOT, TOOLS} from './cli.js'
import {makeTempDir} from './temp-dir.js'

// The tools as users install them: `npm install -g` of the tarballs that
// scripts/pack.mjs makes (what the registry would get), into empty prefixes,
// with the rest of their dependencies from the npm registry. One prefix holds
// all five tools, another kola alone (to see what kola's install pulls in).

interface Packed {
  name: string
  file: string
  files: string[]
}

/** Packages the kit ships as one-file bundles (vendor/): installed as well, they would be dead weight. */
const BUNDLED_IN_KIT = ['@oclif/core', '@google-cloud/storage']
const TEST_TOOLING = ['@mantle/test-utils', 'vitest', 'nock', 'aws-sdk-client-mock', 'aws-sdk-client-mock-vitest', 'playwright-core', 'msw']

let dir: string
let cleanup: () => Promise<void>
let packed: Packed[]
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  // Node 22 (the one running the tests) and the prefix's bin first; nothing of the checkout.
  PATH: `${join(dir, 'all', 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: join(dir, 'home'),
  XDG_CONFIG_HOME: join(dir, 'home', '.config'),
  XDG_CACHE_HOME: join(dir, 'home', '.cache'),
  npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm'),
  // How this machine's npm reaches the registry (through a TLS-inspecting proxy here).
  ...Object.fromEntries(
    ['NODE_EXTRA_CA_CERTS', 'npm_config_cafile', 'npm_config_registry', 'HTTPS_PROXY', 'https_proxy'].flatMap((k) =>
      process.env[k] ? [[k, process.env[k]]] : [],
    ),
  ),
  ...extra,
})

function npmInstall(prefix: string, tarballs: string[]): void {
  execFileSync(
    'npm',
    ['install', '--global', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs],
    {env: env(), stdio: ['ignore', 'ignore', 'pipe']},
  )
}

/** Runs an installed tool the way a shell would: by name, from PATH. */
function tool(
  name: string,
  args: string[],
  options: {cwd?: string; env?: NodeJS.ProcessEnv} = {},
): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync(name, args, {cwd: options.cwd ?? dir, env: env(options.env), encoding: 'utf8', timeout: 120_000})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** Signs `file` (detached, `<file>.sig`) with a gpg key made for the test file; its public key is `<dir>/release.asc`. */
function sign(file: string): void {
  const gnupg = join(dir, 'gnupg')
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  if (!existsSync(gnupg)) {
    mkdirSync(gnupg, {mode: 0o700})
    gpg('--quick-gen-key', 'Release Test <release@example.com>', 'ed25519', 'sign', '1d')
    writeFileSync(join(dir, 'release.asc'), gpg('--armor', '--export'))
  }
  gpg('--detach-sign', '--output', `${file}.sig`, file)
}

/** The @mantle packages a package needs, itself included. */
function closure(name: string): string[] {
  const manifestOf = (n: string): {dependencies?: Record<string, string>} =>
    JSON.parse(readFileSync(join(REPO_ROOT, 'packages', n.replace('@mantle/', ''), 'package.json'), 'utf8'))
  const seen = new Set<string>()
  const visit = (n: string): void => {
    if (seen.has(n)) return
    seen.add(n)
    for (const dep of Object.keys(manifestOf(n).dependencies ?? {})) if (dep.startsWith('@mantle/')) visit(dep)
  }
  visit(name)
  return [...seen]
}

/** Every package directory installed under a prefix, by name. */
function installedPackages(prefix: string): Set<string> {
  const names = new Set<string>()
  const walk = (modules: string): void => {
    if (!existsSync(modules)) return
    for (const e of readdirSync(modules, {withFileTypes: true})) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue
      const scoped = e.name.startsWith('@') ? readdirSync(join(modules, e.name)).map((n) => `${e.name}/${n}`) : [e.name]
      for (const n of scoped) {
        names.add(n)
        walk(join(modules, n, 'node_modules'))
      }
    }
  }
  walk(join(prefix, 'lib', 'node_modules'))
  return names
}

beforeAll(async () => {
  ;({dir, cleanup} = await makeTempDir())
  await mkdir(join(dir, 'home'), {recursive: true})
  packed = JSON.parse(
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'pack.mjs'), join(dir, 'packs')], {encoding: 'utf8', env: env()}),
  ) as Packed[]
  npmInstall(
    join(dir, 'all'),
    packed.map((p) => p.file),
  )
  npmInstall(
    join(dir, 'kola'),
    closure('@mantle/kola').map((n) => packed.find((p) => p.name === n)!.file),
  )
}, 15 * 60_000)
afterAll(() => cleanup?.())

describe('npm packages, installed from their tarballs', () => {
  it('hold what runs and nothing else: no tests, test helpers, sources or source maps', () => {
    // Given the tarballs of every published package
    expect(packed.map((p) => p.name).sort()).toEqual([
      '@mantle/auth',
      '@mantle/cloud',
      '@mantle/cork',
      '@mantle/gangue',
      '@mantle/kit',
      '@mantle/kola',
      '@mantle/ore',
      '@mantle/plume',
    ])

    // Then none holds a test, a test helper, a TypeScript source, a source map or a code cache of this machine; the tools ship their oclif manifest
    for (const p of packed) {
      // (The kit's src/verify/keys/ is data: the embedded OpenPGP keys.)
      const code = p.files.filter((f) => !f.startsWith('src/verify/keys/'))
      expect(
        code.filter((f) => /\.test\.|(^|\/)testing(\/|\.)|(^|\/)testdata\/|\.map$|\.v8cache$|^src\/|(?<!\.d)\.ts$/.test(f)),
        p.name,
      ).toEqual([])
    }
    for (const t of TOOLS) expect(packed.find((p) => p.name === `@mantle/${t}`)!.files).toContain('oclif.manifest.json')
    // And the kit ships its one-file bundles instead of depending on what they were made from
    const kit = packed.find((p) => p.name === '@mantle/kit')!
    expect(kit.files).toEqual(
      expect.arrayContaining(['vendor/oclif-core.cjs', 'vendor/azure-storage-blob.cjs', 'vendor/google-cloud-storage.cjs']),
    )
    const kitManifest = JSON.parse(execFileSync('tar', ['-xOzf', kit.file, 'package/package.json'], {encoding: 'utf8'})) as {
      dependencies: Record<string, string>
    }
    expect(Object.keys(kitManifest.dependencies)).not.toContain('@oclif/core')
  })

  it.each(TOOLS)('%s runs from PATH: --help, version', (name) => {
    // Given the five tools installed with npm install -g into an empty prefix

    // When each is run by name
    const help = tool(name, ['--help'])
    const version = tool(name, ['version'])

    // Then its help and its version come out, on stdout, exit 0
    expect(help.stderr).toBe('')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain(`$ ${name} [COMMAND]`)
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+ \\(node v22\\.`))
  })

  it('gangue get: downloads a local file and verifies its gpg signature', async () => {
    // Given a file signed with a fresh gpg key
    await mkdir(join(dir, 'src'), {recursive: true})
    await writeFile(join(dir, 'src', 'image.bin'), 'an image\n'.repeat(1000))
    sign(join(dir, 'src', 'image.bin'))
    await mkdir(join(dir, 'dl'), {recursive: true})

    // When the installed gangue fetches it
    const r = tool('gangue', [
      'get',
      `file://${join(dir, 'src', 'image.bin')}`,
      join(dir, 'dl'),
      '--verify-key',
      join(dir, 'release.asc'),
      '--json',
    ])

    // Then it is downloaded and verified
    expect(r.stderr).not.toMatch(/error/)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({verified: true, bytes: 9000, path: join(dir, 'dl', 'image.bin')})
    expect(readFileSync(join(dir, 'dl', 'image.bin'), 'utf8')).toBe('an image\n'.repeat(1000))
  })

  it('ore storage index: writes the index pages of a directory', async () => {
    // Given a directory tree
    const site = join(dir, 'site')
    await mkdir(join(site, 'sub'), {recursive: true})
    await writeFile(join(site, 'a.txt'), 'a\n')
    await writeFile(join(site, 'sub', 'b.txt'), 'b\n')

    // When the installed ore indexes it
    const r = tool('ore', ['storage', 'index', '-r', '-T', 'site', `${site}/`])

    // Then it writes a page per directory
    expect(r.stderr).not.toMatch(/error|warn/)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/2 written, 0 deleted/)
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toContain('a.txt')
  })

  it('plume plan: reads its shipped local channels and lists what a release still needs', async () => {
    // Given a signed build of version 1.0.0 where the local channels (the default without ./plume.yaml) look for it
    const work = join(dir, 'plume')
    const build = join(work, 'build', 'boards', 'amd64-usr', '1.0.0')
    await mkdir(build, {recursive: true})
    await writeFile(join(build, 'version.txt'), 'FLATCAR_VERSION=1.0.0\n')
    await writeFile(join(build, 'flatcar_production_image.bin.bz2'), 'not really bzip2\n')
    sign(join(build, 'flatcar_production_image.bin.bz2'))

    // When the installed plume plans the release
    const r = tool('plume', ['plan', '-B', 'amd64-usr', '-V', '1.0.0', '--verify-key', join(dir, 'release.asc')], {cwd: work})

    // Then it lists the local channel's steps still to do: the copies into ./release/
    expect(r.stderr).not.toMatch(/error/)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(
      `todo  storage/1/amd64-usr/1.0.0: copy file://${work}/release/amd64-usr/1.0.0/flatcar_production_image.bin.bz2`,
    )
    expect(r.stdout).toMatch(/release user\/amd64-usr\/1\.0\.0: \d+ of \d+ steps still to do/)
  })

  it('kola list: lists the built-in tests', () => {
    // When the installed kola lists its tests
    const r = tool('kola', ['list'])

    // Then the built-in suite is there
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/coreos\.basic/)
  })

  it('cork: says in one line that the container engine does not answer, exit 3', () => {
    // Given no container engine at DOCKER_HOST
    const r = tool('cork', ['delete'], {env: {DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}`}})

    // Then the installed cork fails as an infrastructure error, in one line
    expect(r.code).toBe(3)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^cork: error: no container engine answers at unix:/)
  })

  it("kola's own install pulls in nothing it does not run: no test tooling, no second copy of what the kit bundles, no cloud SDK", () => {
    // Given kola installed alone, with only the @mantle packages it depends on
    const installed = installedPackages(join(dir, 'kola'))
    expect(installed.has('@mantle/kola')).toBe(true)

    // Then none of the packages the kit ships bundled (oclif, the Azure and GCS storage SDKs) nor any test tooling came with it
    expect([...BUNDLED_IN_KIT, ...TEST_TOOLING].filter((p) => installed.has(p))).toEqual([])
    // And none of the cloud SDKs that @mantle/cloud and @mantle/auth load for a cloud (but the kit's own S3 client)
    const sdks = cloudSdks()
    expect(sdks).toEqual(expect.arrayContaining(['@aws-sdk/client-ec2', '@azure/identity', 'google-auth-library']))
    expect(sdks.filter((p) => installed.has(p))).toEqual([])
    // While ore, installed the same way, has them all
    const ore = installedPackages(join(dir, 'all'))
    expect(sdks.filter((p) => !ore.has(p))).toEqual([])
    // And it runs
    const r = spawnSync(join(dir, 'kola', 'bin', 'kola'), ['list'], {env: env(), encoding: 'utf8'})
    expect(r.status).toBe(0)
  })

  // Last: it installs an SDK into kola's prefix.
  it('kola on a cloud whose SDK its install left out says in one line what to install, exit 2; installed beside it, the SDK is used', () => {
    // Given kola installed alone, and AWS credentials
    const kola = (): {code: number | null; stderr: string} => {
      const r = spawnSync(
        join(dir, 'kola', 'bin', 'kola'),
        ['run', '-p', 'aws', 'coreos.basic', '--aws-ami', 'ami-12345678', '--output-dir', join(dir, 'kola-aws', '_kola_temp')],
        {
          env: env({AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-secret', AWS_REGION: 'us-east-1'}),
          encoding: 'utf8',
          timeout: 120_000,
        },
      )
      return {code: r.status, stderr: r.stderr}
    }

    // When it runs a test on AWS
    const missing = kola()

    // Then it names the SDK package it needs and the command that installs AWS's SDKs beside it, in one line, exit 2
    expect(missing.code).toBe(2)
    const errors = missing.stderr.split('\n').filter((l) => l.includes('error'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^kola: error: this needs (@aws-sdk\/[a-z-]+), which kola's install leaves out .* npm install -g '@aws-sdk\//)
    const needed = /this needs (\S+),/.exec(errors[0]!)![1]!

    // When that package is installed beside kola as the hint says (npm install -g, the same prefix)
    const range = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', 'cloud', 'package.json'), 'utf8')).dependencies[needed] ?? ''
    npmInstall(join(dir, 'kola'), [`${needed}@${range}`])

    // Then kola gets past it: whatever fails next (no AWS here), it is not that package
    expect(kola().stderr).not.toContain(`this needs ${needed},`)
  }, 300_000)
})

/** The cloud SDKs @mantle/cloud and @mantle/auth depend on (scripts/pack.mjs makes them optional peers), but those the kit needs itself. */
function cloudSdks(): string[] {
  const deps = (pkg: string): string[] =>
    Object.keys(
      (JSON.parse(readFileSync(join(REPO_ROOT, 'packages', pkg, 'package.json'), 'utf8')) as {dependencies?: object}).dependencies ?? {},
    )
  const kit = new Set(deps('kit'))
  // What the lint's and scripts/pack.mjs's CLOUD_SDKS name.
  const sdk = /^(@aws-sdk|@smithy|@google-cloud|@googleapis|@azure)\/|^(aws-sdk|googleapis|google-auth-library)$/
  return [...new Set([...deps('cloud'), ...deps('auth')])].filter((d) => sdk.test(d) && !kit.has(d))
}
