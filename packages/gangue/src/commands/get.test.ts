import {createHash, randomBytes} from 'node:crypto'
import {lstat, mkdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startCuttingProxy} from '@mantle/kit/download/testing'
import {BACKENDS, backendAvailable} from '@mantle/kit/storage/testing/backends'
import {startMirrorServer} from '@mantle/kit/storage/testing/mirror-server'
import {makeExpiredKey, makeKeyWithRevokedSubkey, makeLapsedKey, makeTestKey, signDetached} from '@mantle/kit/verify/testing'
import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  )

interface Case {
  name: string
  /** The reason the message must name. */
  reason: RegExp
  data: Uint8Array
  /** undefined: no .sig at all. */
  sig: Uint8Array | undefined
  /** The key file passed with --verify-key. */
  key: string
}

/**
 * The tamper corpus: every way a download must be refused, made here with keys
 * generated on the fly. Each runs the real CLI as a child process.
 */
describe('gangue get: the tamper corpus', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const cases: Case[] = []
  const previous = Buffer.from('the previous release, verified when it was downloaded\n')

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    const data = randomBytes(256 * 1024 + 3)
    const signer = await makeTestKey({name: 'Release Signer'})
    const stranger = await makeTestKey({name: 'Stranger'})
    const lapsed = await makeLapsedKey()
    const revoked = await makeKeyWithRevokedSubkey()
    const good = await signDetached(data, signer.privateKey)
    const badSig = Buffer.from(good)
    badSig[badSig.length - 3]! ^= 0xff
    const flipped = Buffer.from(data)
    flipped[100_000]! ^= 0x80
    const keyFile = async (name: string, armored: string): Promise<string> => {
      const path = join(dir, `${name}.asc`)
      await writeFile(path, armored)
      return path
    }
    const signerKey = await keyFile('signer', signer.publicArmored)
    cases.push(
      {name: 'bad signature', reason: /bad signature/, data, sig: badSig, key: signerKey},
      {name: 'unknown key', reason: /unknown key/, data, sig: await signDetached(data, stranger.privateKey), key: signerKey},
      {
        name: 'signed after the key expired',
        reason: /expired key: .* which had expired on/,
        data,
        sig: await signDetached(data, lapsed.privateKey, {date: lapsed.signedAt}),
        key: await keyFile('lapsed', lapsed.publicArmored),
      },
      {
        name: 'revoked subkey',
        reason: /revoked key: .*subkey/,
        data,
        sig: await signDetached(data, revoked.privateKey, {signingKeyId: revoked.subkeyId}),
        key: await keyFile('revoked', revoked.publicArmored),
      },
      {name: 'truncated file', reason: /bad signature/, data: data.subarray(0, data.length - 1000), sig: good, key: signerKey},
      {name: 'bytes appended', reason: /bad signature/, data: Buffer.concat([data, Buffer.from('appended')]), sig: good, key: signerKey},
      {name: 'one byte flipped', reason: /bad signature/, data: flipped, sig: good, key: signerKey},
      {name: 'missing .sig', reason: /missing signature/, data, sig: undefined, key: signerKey},
      {
        name: '.sig of another file',
        reason: /bad signature: .*belongs to another file/,
        data,
        sig: await signDetached(randomBytes(1000), signer.privateKey),
        key: signerKey,
      },
      {name: 'empty .sig', reason: /empty signature/, data, sig: new Uint8Array(0), key: signerKey},
      {name: 'garbage .sig', reason: /malformed signature/, data, sig: randomBytes(512), key: signerKey},
    )
    for (const [i, c] of cases.entries()) {
      const src = join(dir, 'src', String(i))
      await mkdir(src, {recursive: true})
      await writeFile(join(src, 'image.bin'), c.data)
      if (c.sig) await writeFile(join(src, 'image.bin.sig'), c.sig)
    }
  })

  afterAll(() => cleanup())

  const names = [
    'bad signature',
    'unknown key',
    'signed after the key expired',
    'revoked subkey',
    'truncated file',
    'bytes appended',
    'one byte flipped',
    'missing .sig',
    '.sig of another file',
    'empty .sig',
    'garbage .sig',
  ]
  for (const [i, name] of names.entries()) {
    it(`${name}: exits 1 naming the reason, creates nothing, and leaves an existing file untouched`, async () => {
      const c = cases[i]!
      expect(c.name).toBe(name)
      const url = `file://${join(dir, 'src', String(i), 'image.bin')}`
      // Given an empty destination directory
      const fresh = join(dir, 'out', String(i), 'fresh')
      await mkdir(fresh, {recursive: true})
      // When gangue gets the file
      const r1 = await runCli('gangue', ['get', url, fresh + '/', '--verify-key', c.key], {env: isolatedEnv(dir)})
      // Then it exits 1 with one line naming the reason, and nothing appears
      expect(r1.code).toBe(1)
      expect(r1.stderr.trim().split('\n')).toHaveLength(1)
      expect(r1.stderr).toMatch(c.reason)
      expect(r1.stdout).toBe('')
      expect(await exists(join(fresh, 'image.bin'))).toBe(false)
      expect(await exists(join(fresh, 'image.bin.part'))).toBe(false)

      // Given a previous good file at the destination
      const held = join(dir, 'out', String(i), 'held')
      await mkdir(held, {recursive: true})
      await writeFile(join(held, 'image.bin'), previous)
      const before = await stat(join(held, 'image.bin'))
      // When gangue gets the file over it, asking for JSON
      const r2 = await runCli('gangue', ['get', url, join(held, 'image.bin'), '--verify-key', c.key, '--json'], {env: isolatedEnv(dir)})
      // Then it exits 1, the JSON error names the reason, and the file is untouched
      expect(r2.code).toBe(1)
      expect((JSON.parse(r2.stdout) as {error: {message: string; exitCode: number}}).error).toMatchObject({
        exitCode: 1,
        message: expect.stringMatching(c.reason),
      })
      expect(await readFile(join(held, 'image.bin'))).toEqual(previous)
      expect((await stat(join(held, 'image.bin'))).mtimeMs).toBe(before.mtimeMs)
      expect(await exists(join(held, 'image.bin.part'))).toBe(false)
    })
  }
})

describe('gangue get', () => {
  let dir: string
  let cleanup: () => Promise<void>
  const data = randomBytes(8 * 1024 * 1024 + 11)
  let sig: Uint8Array
  let keyPath: string
  let fingerprint: string

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    const key = await makeTestKey()
    fingerprint = key.fingerprint
    sig = await signDetached(data, key.privateKey)
    keyPath = join(dir, 'key.asc')
    await writeFile(keyPath, key.publicArmored)
    await mkdir(join(dir, 'srv'))
    await writeFile(join(dir, 'srv', 'image.bin'), data)
    await writeFile(join(dir, 'srv', 'image.bin.sig'), sig)
  })

  afterAll(() => cleanup())

  it('prints {url, path, bytes, sha256, signerFingerprint, verified} with --json (sha256 with --sha256)', async () => {
    const out = join(dir, 'json')
    await mkdir(out)
    const r = await runCli('gangue', ['get', join(dir, 'srv', 'image.bin'), '--verify-key', keyPath, '--json', '--sha256'], {
      env: isolatedEnv(dir),
      cwd: out,
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      url: `file://${join(dir, 'srv', 'image.bin')}`,
      path: join(out, 'image.bin'),
      bytes: data.length,
      sha256: sha256(data),
      signerFingerprint: fingerprint,
      verified: true,
    })
  })

  it('verifies with keys imported into the user keyring, and keeps the .sig on request', async () => {
    const env = isolatedEnv(join(dir, 'home-import'))
    const imp = await runCli('gangue', ['keys', 'import', keyPath, '--fingerprint', fingerprint], {env})
    expect(imp.code).toBe(0)
    expect(imp.stdout).toMatch(/^added /)
    const out = join(dir, 'imported')
    const r = await runCli('gangue', ['get', join(dir, 'srv', 'image.bin'), out + '/', '--keep-sig'], {env})
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/verified, signed by/)
    expect(await readFile(join(out, 'image.bin.sig'))).toEqual(Buffer.from(sig))
  })

  it('resumes a download that was cut off half-way: the second run asks for the rest with Range', async () => {
    // Given a mirror behind a network that cuts each of the first 5 transfers off after 512 KiB
    const server = await startMirrorServer(join(dir, 'srv'))
    const proxy = await startCuttingProxy(server.origin, {suffix: '/image.bin', afterBytes: 512 * 1024, times: 5})
    const out = join(dir, 'resume')
    await mkdir(out)
    try {
      // When a first run exhausts its attempts
      const first = await runCli('gangue', ['get', `${proxy.origin}/image.bin`, out, '--verify-key', keyPath], {env: isolatedEnv(dir)})
      // Then it fails as an infrastructure error, keeping the part file and creating nothing at the destination
      expect(first.code).toBe(3)
      expect(first.stderr).toMatch(/run again to resume/)
      expect(await exists(join(out, 'image.bin'))).toBe(false)
      const kept = (await stat(join(out, 'image.bin.part'))).size
      expect(kept).toBeGreaterThan(0)
      expect(kept).toBeLessThan(data.length)
      // When it is run again
      const before = server.requests.length
      const second = await runCli('gangue', ['get', `${proxy.origin}/image.bin`, out, '--verify-key', keyPath, '--json', '--sha256'], {
        env: isolatedEnv(dir),
      })
      // Then it resumed at the part file's length, and the whole file verifies
      expect(second.code).toBe(0)
      expect(server.requests.slice(before)).toEqual([
        'GET /image.bin.sig',
        'HEAD /image.bin',
        `GET /image.bin bytes=${kept}-${data.length - 1}`,
      ])
      expect(JSON.parse(second.stdout)).toMatchObject({verified: true, action: 'resumed', resumedFrom: kept, sha256: sha256(data)})
      expect(sha256(await readFile(join(out, 'image.bin')))).toBe(sha256(data))
    } finally {
      await proxy.close()
      await server.close()
    }
  })

  it('accepts a signature made before its key expired, warning with the expiry date (as gpg does)', async () => {
    // Given a file signed yesterday by a key that expired since
    const expired = await makeExpiredKey()
    const src = join(dir, 'expired-src')
    await mkdir(src)
    await writeFile(join(src, 'image.bin'), data)
    await writeFile(join(src, 'image.bin.sig'), await signDetached(data, expired.privateKey, {date: expired.signedAt}))
    await writeFile(join(dir, 'expired.asc'), expired.publicArmored)
    const out = join(dir, 'expired-out')
    await mkdir(out)
    // When gangue gets it
    const r = await runCli('gangue', ['get', join(src, 'image.bin'), out, '--verify-key', join(dir, 'expired.asc'), '--json'], {
      env: isolatedEnv(dir),
    })
    // Then it is verified, and the warning (stderr and JSON) names the expiry date
    expect(r.code, r.stderr).toBe(0)
    const expiry = new Date(expired.signedAt.getTime() - 3_600_000 + 86_400_000).toISOString().slice(0, 10)
    expect(r.stderr).toMatch(new RegExp(`warn.*expired on ${expiry}, after it made this signature`))
    expect(JSON.parse(r.stdout)).toMatchObject({
      verified: true,
      signerFingerprint: expired.fingerprint,
      warnings: [expect.stringContaining(`expired on ${expiry}`)],
    })
  })

  it('downloads without verification with --no-verify, and says so', async () => {
    const out = join(dir, 'noverify')
    await mkdir(out)
    const r = await runCli('gangue', ['get', join(dir, 'srv', 'image.bin'), out, '--no-verify', '--json', '--sha256'], {
      env: isolatedEnv(dir),
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({verified: false, signerFingerprint: null, sha256: sha256(data)})
    expect(r.stderr).toMatch(/WITHOUT signature verification/)
  })

  it('computes the SHA-256 only with --sha256, and prints it on the result line', async () => {
    // Given a signed file; when it is downloaded without --sha256, then with it
    const plain = await runCli(
      'gangue',
      ['get', join(dir, 'srv', 'image.bin'), join(dir, 'nosha') + '/', '--verify-key', keyPath, '--json'],
      {
        env: isolatedEnv(dir),
      },
    )
    const withSha = await runCli(
      'gangue',
      ['get', join(dir, 'srv', 'image.bin'), join(dir, 'sha') + '/', '--verify-key', keyPath, '--sha256'],
      {
        env: isolatedEnv(dir),
      },
    )
    // Then the first verified with sha256 null, and the second printed the file's SHA-256
    expect(plain.code, plain.stderr).toBe(0)
    expect(JSON.parse(plain.stdout)).toMatchObject({verified: true, sha256: null})
    expect(withSha.code, withSha.stderr).toBe(0)
    expect(withSha.stdout).toContain(`verified, signed by`)
    expect(withSha.stdout).toContain(`, sha256 ${sha256(data)}`)
  })

  for (const [what, args, message] of [
    ['a bad URL', ['get', 'gs://Not_A_Bucket/x'], /not a valid bucket name/],
    ['a URL of a prefix', ['get', 'file:///tmp/'], /names a directory or prefix/],
    ['an unreadable key file', ['get', '/tmp/x', '--verify-key', '/nonexistent.asc'], /key file \/nonexistent.asc: not found/],
    ['a file that is not a key', ['get', '/tmp/x', '--verify-key', '/etc/hostname'], /key file \/etc\/hostname: /],
    ['--no-verify with --verify-key', ['get', '/tmp/x', '--no-verify', '--verify-key', '/etc/hostname'], /contradict/],
  ] as const) {
    it(`exits 2 on ${what}`, async () => {
      const r = await runCli('gangue', [...args], {env: isolatedEnv(dir)})
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
    })
  }

  it('exits 3 when the server cannot be reached', async () => {
    const r = await runCli('gangue', ['get', 'http://127.0.0.1:9/image.bin', '--verify-key', keyPath], {env: isolatedEnv(dir)})
    expect(r.code).toBe(3)
  })
})

/** Inputs that never end, are not files, or are garbage: each ends as a one-line error, never a hang or an internal error. */
describe('gangue on hostile inputs', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let keyPath: string
  let endless: Server

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    const key = await makeTestKey()
    keyPath = join(dir, 'key.asc')
    await writeFile(keyPath, key.publicArmored)
    await mkdir(join(dir, 'srv'))
    const data = randomBytes(4096)
    await writeFile(join(dir, 'srv', 'image.bin'), data)
    await writeFile(join(dir, 'srv', 'image.bin.sig'), await signDetached(data, key.privateKey))
    // A server whose .sig never ends (a file bucket reads only regular files), and a .sig of 2 MiB of garbage
    endless = createServer((req, res) => {
      if (req.url !== '/image.bin.sig') return void res.writeHead(404).end()
      res.writeHead(200)
      const chunk = Buffer.alloc(64 * 1024)
      const more = (): void => {
        while (res.write(chunk));
        res.once('drain', more)
      }
      res.on('close', () => res.removeAllListeners('drain'))
      more()
    })
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve))
    await mkdir(join(dir, 'huge'))
    await writeFile(join(dir, 'huge', 'image.bin'), data)
    await writeFile(join(dir, 'huge', 'image.bin.sig'), randomBytes(2 * 1024 * 1024))
  })

  afterAll(async () => {
    endless.closeAllConnections()
    endless.close()
    await cleanup()
  })

  for (const [what, args, code, message] of [
    [
      'keys import /dev/zero',
      () => ['keys', 'import', '/dev/zero'],
      2,
      /^gangue: error: key file \/dev\/zero: larger than 8 MiB, too large for a key file/,
    ],
    ['keys import /dev/urandom', () => ['keys', 'import', '/dev/urandom'], 2, /key file \/dev\/urandom: larger than 8 MiB/],
    ['keys import of a directory', () => ['keys', 'import', dir], 2, /is a directory/],
    [
      'get --verify-key /dev/zero',
      () => ['get', join(dir, 'srv', 'image.bin'), join(dir, 'out') + '/', '--verify-key', '/dev/zero'],
      2,
      /key file \/dev\/zero: larger than 8 MiB/,
    ],
    [
      'get with /dev/null as the destination',
      () => ['get', join(dir, 'srv', 'image.bin'), '/dev/null', '--verify-key', keyPath],
      2,
      /\/dev\/null exists and is not a regular file/,
    ],
    [
      'get --no-verify with /dev/zero as the destination',
      () => ['get', join(dir, 'srv', 'image.bin'), '/dev/zero', '--no-verify'],
      2,
      /\/dev\/zero exists and is not a regular file/,
    ],
    ['get of /dev/zero', () => ['get', '/dev/zero', join(dir, 'out') + '/', '--no-verify'], 2, /not found/],
    [
      'get whose .sig never ends',
      () => [
        'get',
        `http://127.0.0.1:${(endless.address() as AddressInfo).port}/image.bin`,
        join(dir, 'out') + '/',
        '--verify-key',
        keyPath,
      ],
      1,
      /malformed signature: .* larger than 1048576 bytes/,
    ],
    [
      'get whose .sig is 2 MiB of garbage',
      () => ['get', join(dir, 'huge', 'image.bin'), join(dir, 'out') + '/', '--verify-key', keyPath],
      1,
      /malformed signature: .* larger than 1048576 bytes/,
    ],
    [
      'get to a file name too long for the file system',
      () => ['get', join(dir, 'srv', 'image.bin'), join(dir, 'x'.repeat(300)), '--no-verify'],
      2,
      /cannot be written \(ENAMETOOLONG\)/,
    ],
  ] as const) {
    it(`${what}: exit ${code}, one line`, async () => {
      // When gangue is given the hostile input
      const r = await runCli('gangue', [...args()], {env: isolatedEnv(dir)})
      // Then it ends with the exit code and one line naming the problem (a hang fails by the test's timeout)
      expect(r.code, r.stderr).toBe(code)
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => !/WITHOUT signature verification/.test(l)),
      ).toHaveLength(1)
      expect(r.stderr).toMatch(message)
    })
  }

  it('leaves the devices it was pointed at untouched', async () => {
    expect((await lstat('/dev/null')).isCharacterDevice()).toBe(true)
    expect((await lstat('/dev/zero')).isCharacterDevice()).toBe(true)
    expect(await exists(join(dir, 'out', 'image.bin'))).toBe(false)
  })
})

/** What the CLI child needs to reach each emulator: the variables the SDKs (and @mantle/auth) read. */
const cliEnv: Record<string, (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv> = {
  's3 (radosgw)': (env) => ({
    AWS_ENDPOINT_URL_S3: env.MANTLE_TEST_S3_ENDPOINT,
    AWS_ACCESS_KEY_ID: env.MANTLE_TEST_S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: env.MANTLE_TEST_S3_SECRET_KEY,
    AWS_REGION: env.MANTLE_TEST_S3_REGION ?? 'us-east-1',
  }),
  'gcs (firebase emulator)': (env) => ({STORAGE_EMULATOR_HOST: env.MANTLE_TEST_GCS_ENDPOINT}),
  'azure (azurite)': (env) => ({AZURE_STORAGE_CONNECTION_STRING: env.MANTLE_TEST_AZURE_CONNECTION_STRING}),
}

/** The same command against the storage emulators (their env comes from .services/*.env) and a local directory. */
describe('gangue get from every storage backend', () => {
  for (const fixture of BACKENDS) {
    it.skipIf(!backendAvailable(fixture))(`downloads, verifies and refuses a tampered copy: ${fixture.name}`, async () => {
      const {dir, cleanup} = await makeTempDir()
      const backend = await fixture.open(process.env)
      try {
        // Given a signed object on the backend
        const key = await makeTestKey()
        await writeFile(join(dir, 'key.asc'), key.publicArmored)
        const data = randomBytes(1024 * 1024 + 5)
        await backend.writer.write(`${backend.writerPrefix}img/image.bin`, data)
        await backend.writer.write(`${backend.writerPrefix}img/image.bin.sig`, Buffer.from(await signDetached(data, key.privateKey)))
        const url = `${backend.url}img/image.bin`
        const env = isolatedEnv(dir, cliEnv[fixture.name]?.(process.env) ?? {})
        // When gangue gets it
        const ok = await runCli('gangue', ['get', url, dir, '--verify-key', join(dir, 'key.asc'), '--json', '--sha256'], {env})
        // Then it verifies
        // (stderr is not asserted empty: the GCS SDK's teeny-request warns about listeners against the emulator)
        expect(ok.code, ok.stderr).toBe(0)
        expect(JSON.parse(ok.stdout)).toMatchObject({verified: true, signerFingerprint: key.fingerprint, sha256: sha256(data)})
        // And a tampered copy is refused, creating nothing
        const bad = Buffer.from(data)
        bad[12345]! ^= 1
        await backend.writer.write(`${backend.writerPrefix}img/image.bin`, bad)
        const elsewhere = join(dir, 'second')
        await mkdir(elsewhere)
        const refused = await runCli('gangue', ['get', url, elsewhere, '--verify-key', join(dir, 'key.asc')], {env})
        expect(refused.code).toBe(1)
        expect(refused.stderr).toMatch(/bad signature/)
        expect(await exists(join(elsewhere, 'image.bin'))).toBe(false)
      } finally {
        await backend.cleanup()
        await cleanup()
      }
    })
  }
})

describe('gangue keys', () => {
  it('imports, lists with fingerprints and sources, refreshes and removes keys', async () => {
    const {dir, cleanup} = await makeTempDir()
    try {
      const env = isolatedEnv(dir)
      const key = await makeTestKey({name: 'Publisher'})
      await writeFile(join(dir, 'k.asc'), key.publicArmored)
      // Importing a key with the wrong expected fingerprint imports nothing
      const wrong = await runCli(
        'gangue',
        ['keys', 'import', join(dir, 'k.asc'), '--fingerprint', 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A'],
        {env},
      )
      expect(wrong.code).toBe(2)
      expect((await runCli('gangue', ['keys', 'list', '--json'], {env})).stdout).not.toContain(key.fingerprint)
      // Import, then list
      expect((await runCli('gangue', ['keys', 'import', join(dir, 'k.asc')], {env})).code).toBe(0)
      const stored = join(dir, '.config', 'mantle', 'keyring', `${key.fingerprint}.asc`)
      expect(await exists(stored)).toBe(true)
      const listed = JSON.parse((await runCli('gangue', ['keys', 'list', '--json'], {env})).stdout) as {
        keys: {fingerprint: string; source: string; status: string}[]
      }
      expect(listed.keys).toContainEqual(
        expect.objectContaining({fingerprint: key.fingerprint, source: `user:${key.fingerprint}.asc`, status: 'valid'}),
      )
      // Importing it again refreshes it in place
      expect((await runCli('gangue', ['keys', 'import', join(dir, 'k.asc')], {env})).stdout).toMatch(/^updated /)
      // Remove by key ID
      const removed = await runCli('gangue', ['keys', 'remove', key.privateKey.getKeyID().toHex()], {env})
      expect(removed.code).toBe(0)
      expect(await exists(stored)).toBe(false)
      expect((await runCli('gangue', ['keys', 'remove', key.fingerprint], {env})).code).toBe(2)
    } finally {
      await cleanup()
    }
  })
})

describe('gangue prune', () => {
  it('deletes old objects except under the whitelist, and only lists them with --dry-run', async () => {
    const {dir, cleanup} = await makeTempDir()
    try {
      const root = join(dir, 'bucket')
      const old = new Date(Date.now() - 40 * 86_400_000)
      const files = ['builds/a.bin', 'builds/developer/b.bin', 'builds/new.bin', 'other/c.bin']
      for (const f of files) {
        await mkdir(join(root, f, '..'), {recursive: true})
        await writeFile(join(root, f), f)
      }
      const {utimes} = await import('node:fs/promises')
      for (const f of ['builds/a.bin', 'builds/developer/b.bin', 'other/c.bin']) await utimes(join(root, f), old, old)
      const env = isolatedEnv(dir)
      const dry = await runCli('gangue', ['prune', `file://${root}/`, 'builds/', '--dry-run', '--json'], {env})
      expect(dry.code).toBe(0)
      expect((JSON.parse(dry.stdout) as {deleted: {key: string}[]}).deleted.map((d) => d.key)).toEqual([`${root.slice(1)}/builds/a.bin`])
      expect(await exists(join(root, 'builds/a.bin'))).toBe(true)
      const real = await runCli('gangue', ['prune', `file://${root}/`, 'builds/'], {env})
      expect(real.code).toBe(0)
      expect(real.stdout).toMatch(/deleted file:.*builds\/a\.bin/)
      expect(await exists(join(root, 'builds/a.bin'))).toBe(false)
      for (const f of ['builds/developer/b.bin', 'builds/new.bin', 'other/c.bin']) expect(await exists(join(root, f))).toBe(true)
    } finally {
      await rm(dir, {recursive: true, force: true})
      await cleanup()
    }
  })
})

describe('gangue prune on every writable backend', () => {
  for (const fixture of BACKENDS.filter((f) => !f.readOnly)) {
    it.skipIf(!backendAvailable(fixture))(`deletes what is older than --days except the whitelist: ${fixture.name}`, async () => {
      const {dir, cleanup} = await makeTempDir()
      const backend = await fixture.open(process.env)
      try {
        // Given objects under a prefix, one of them whitelisted
        for (const k of ['nightly/a.bin', 'nightly/b/c.bin', 'nightly/developer/d.bin'])
          await backend.writer.write(`${backend.writerPrefix}${k}`, k)
        const env = isolatedEnv(dir, cliEnv[fixture.name]?.(process.env) ?? {})
        // When everything older than now (--days 0) is pruned
        const r = await runCli('gangue', ['prune', backend.url, 'nightly/', '--days', '0', '--json'], {env})
        // Then all but the whitelisted object are gone
        expect(r.code, r.stderr).toBe(0)
        expect((JSON.parse(r.stdout) as {deleted: {key: string}[]}).deleted.map((d) => d.key.slice(backend.writerPrefix.length))).toEqual([
          'nightly/a.bin',
          'nightly/b/c.bin',
        ])
        const left: string[] = []
        for await (const e of backend.writer.list({prefix: backend.writerPrefix}))
          if (e.type === 'object') left.push(e.object.key.slice(backend.writerPrefix.length))
        expect(left).toEqual(['nightly/developer/d.bin'])
      } finally {
        await backend.cleanup()
        await cleanup()
      }
    })
  }
})
