import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {basename, dirname, join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {REPO_ROOT} from './cli.js'
import {serviceEnv} from './service-env.js'
import {makeTempDir} from './temp-dir.js'

// The container image as a user runs it, built offline on the test dockerd:
// scripts/image/build.sh --offline (the base from a Debian root file system and
// Node 22 from npm, cached by input hash; then the Dockerfile at the root). One
// image for the file; the kola run is the one slow test (a VM under TCG).
const engine = serviceEnv(['CORK_TEST_DOCKER_HOST'])
const image = serviceEnv(['KOLA_TEST_IMAGE', 'KOLA_TEST_KERNEL', 'KOLA_TEST_INITRD'])

let dir: string
let cleanup: () => Promise<void>
let tag: string
const dockerEnv = (): NodeJS.ProcessEnv => ({...process.env, DOCKER_HOST: process.env.CORK_TEST_DOCKER_HOST})

/** `docker run --rm` of the image; resolves with the exit code and the output. */
function docker(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {env: dockerEnv(), stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

describe.skipIf(!engine.available)('the container image (offline build)', () => {
  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    // Readable and writable by the image's unprivileged user (uid 10001).
    chmodSync(dir, 0o777)
    tag = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'image', 'build.sh'), '--offline'], {
      env: {...dockerEnv(), MANTLE_IMAGE_TAG: 'mantle-ts:test'},
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim()
  }, 30 * 60_000)
  afterAll(() => cleanup?.())

  it('runs `kola --help` as an unprivileged user, labelled with its version and source revision', async () => {
    // When the image runs kola --help
    const help = await docker(['run', '--rm', '--network', 'none', tag, 'kola', '--help'])

    // Then kola answers, from PATH, as a user that is not root
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('$ kola [COMMAND]')
    const id = await docker(['run', '--rm', '--network', 'none', tag, 'id', '-u'])
    expect(id.stdout.trim()).toBe('10001')
    // And the labels say which release and which commit it is
    const labels = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', tag])).stdout) as Record<
      string,
      string
    >
    expect(labels['org.opencontainers.image.version']).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'lerna.json'), 'utf8')).version)
    // (The commit the image was built from: others may have committed since.)
    const revision = labels['org.opencontainers.image.revision'] ?? ''
    expect(revision).toMatch(/^[0-9a-f]{40}$/)
    expect(spawnSync('git', ['merge-base', '--is-ancestor', revision, 'HEAD'], {cwd: REPO_ROOT}).status).toBe(0)
    // And every tool is there, with what kola and plume run
    const tools = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      tag,
      'sh',
      '-c',
      'for t in gangue cork ore plume kola; do $t version; done; qemu-system-x86_64 --version; qemu-img --version; gpg --version; ssh -V; ls /usr/share/OVMF',
    ])
    expect(tools.code).toBe(0)
    for (const t of ['gangue', 'cork', 'ore', 'plume', 'kola']) expect(tools.stdout).toMatch(new RegExp(`^${t} \\d`, 'm'))
  })

  it('gangue get: downloads a signed file from an HTTP server on the host and verifies it', async () => {
    // Given a file signed with a fresh gpg key, served on 127.0.0.1
    const gnupg = join(dir, 'gnupg')
    await mkdir(gnupg, {recursive: true, mode: 0o700})
    const gpg = (...args: string[]): string =>
      execFileSync('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
    gpg('--quick-gen-key', 'Image Test <image@example.com>', 'ed25519', 'sign', '1d')
    const served = join(dir, 'served')
    await mkdir(served, {recursive: true})
    await writeFile(join(served, 'image.bin'), 'payload\n'.repeat(4096))
    gpg('--detach-sign', '--output', join(served, 'image.bin.sig'), join(served, 'image.bin'))
    await writeFile(join(dir, 'release.asc'), gpg('--armor', '--export'))
    const server: Server = createServer((req, res) => {
      const file = join(served, basename(req.url ?? '/'))
      if (!existsSync(file)) return void res.writeHead(404).end()
      res.writeHead(200).end(readFileSync(file))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as AddressInfo
    try {
      // When gangue in the container fetches it (the host's network: these engines have no bridge)
      const r = await docker([
        'run',
        '--rm',
        '--network',
        'host',
        '-v',
        `${dir}:/work`,
        tag,
        'gangue',
        'get',
        `http://127.0.0.1:${port}/image.bin`,
        '/work/',
        '--verify-key',
        '/work/release.asc',
        '--json',
      ])

      // Then the file arrives, verified, owned by the container's user
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({verified: true, bytes: 8 * 4096, path: '/work/image.bin'})
      expect(readFileSync(join(dir, 'image.bin'), 'utf8')).toBe('payload\n'.repeat(4096))
    } finally {
      server.close()
    }
  })

  it.skipIf(!image.available)(
    'kola run: coreos.basic passes on the test image mounted into the container (TCG)',
    {timeout: 45 * 60_000},
    async () => {
      // Given the test OS image's directory mounted read-only, and an output directory
      const images = dirname(process.env.KOLA_TEST_IMAGE!)
      const out = join(dir, 'kola')
      await mkdir(out, {mode: 0o777})
      chmodSync(out, 0o777)
      const kvm = existsSync('/dev/kvm')
        ? ['--device', '/dev/kvm', '--group-add', String(Number(execFileSync('stat', ['-c', '%g', '/dev/kvm'], {encoding: 'utf8'})))]
        : []
      const inImages = (v: string): string => `/images/${basename(process.env[v]!)}`

      // When kola runs coreos.basic in the container
      const r = await docker([
        'run',
        '--rm',
        '--network',
        'none',
        ...kvm,
        '-v',
        `${images}:/images:ro`,
        '-v',
        `${out}:/out`,
        '-e',
        `KOLA_TEST_IMAGE=${inImages('KOLA_TEST_IMAGE')}`,
        '-e',
        `KOLA_TEST_KERNEL=${inImages('KOLA_TEST_KERNEL')}`,
        '-e',
        `KOLA_TEST_INITRD=${inImages('KOLA_TEST_INITRD')}`,
        // A loaded machine under TCG can take longer than the default 300 s to answer SSH: generous bounds, not timings.
        tag,
        'kola',
        'run',
        'coreos.basic',
        '--ssh-timeout',
        '1200',
        // The test's own 600 s, tripled: at a load average of ~27 the machine was still booting after 600 s.
        '--extend-timeout-percentage',
        '200',
        '--output-dir',
        '/out/_kola_temp',
      ])

      // Then the test passes and its reports are written where the host sees them
      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code, r.stderr).toBe(0)
      const report = JSON.parse(readFileSync(join(out, '_kola_temp', 'reports', 'report.json'), 'utf8')) as {
        tests: Array<{name: string; result: string}>
      }
      // (report.json also records the test's subtests, coreos.basic/ssh and the like)
      expect(report.tests.find((t) => t.name === 'coreos.basic')).toMatchObject({result: 'PASS'})
      expect(report.tests.filter((t) => t.result !== 'PASS')).toEqual([])
      expect(existsSync(join(out, '_kola_temp', 'reports', 'report.html'))).toBe(true)
    },
  )
})
