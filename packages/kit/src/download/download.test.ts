import {createHash, randomBytes} from 'node:crypto'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {isStorageError} from '../storage/errors.js'
import {openBucket} from '../storage/open.js'
import {BACKENDS, backendAvailable} from '../storage/testing/backends.js'
import {Keyring, loadOpenpgp, parseKeys} from '../verify/keyring.js'
import {SignatureError} from '../verify/signature.js'
import {makeTestKey, signDetached, type TestKey} from '../verify/testing.js'
import type {Bucket} from '../storage/types.js'
import {download, type DownloadSource} from './download.js'
import {startMirrorServer, type MirrorServer} from '../storage/testing/mirror-server.js'
import {startCuttingProxy, type CuttingProxy} from './testing.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  )

describe('signed download', () => {
  const data = randomBytes(3 * 1024 * 1024 + 123)
  let key: TestKey
  let keyring: Keyring
  let root: string
  let out: string
  const servers: (MirrorServer | CuttingProxy)[] = []

  beforeAll(async () => {
    key = await makeTestKey()
    keyring = await Keyring.of((await parseKeys(key.publicArmored, 'test')).map((k) => ({key: k, source: 'test'})))
  })

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close()
  })

  /** Serves files over HTTP; with `cut`, through a proxy that cuts the first responses to GET /img.bin off after that many bytes. */
  async function serve(
    files: Record<string, Uint8Array>,
    options: {ignoreRange?: boolean; cut?: {afterBytes: number; times: number}} = {},
  ) {
    root = await mkdtemp(join(tmpdir(), 'mantle-dl-src-'))
    out = await mkdtemp(join(tmpdir(), 'mantle-dl-out-'))
    for (const [name, content] of Object.entries(files)) await writeFile(join(root, name), content)
    const server = await startMirrorServer(root, {ignoreRange: options.ignoreRange ?? false})
    servers.push(server)
    let origin = server.origin
    if (options.cut) {
      const proxy = await startCuttingProxy(server.origin, {suffix: '/img.bin', ...options.cut})
      servers.push(proxy)
      origin = proxy.origin
    }
    return {server, bucket: await openBucket(origin + '/')}
  }

  /** The Range header of each GET of `path` ('' for none). */
  const gets = (server: MirrorServer, path: string): string[] =>
    server.requests.filter((r) => r.startsWith(`GET ${path} `) || r === `GET ${path}`).map((r) => r.split(' ')[2] ?? '')

  it('downloads, verifies while downloading, and renames into place', async () => {
    // Given a signed file on an HTTP mirror
    const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    // When it is downloaded
    const result = await download({source: bucket, key: 'img.bin', destination: dest, keyring, sha256: true})
    // Then it is in place, verified, with its sha256, and no part file is left
    expect(result).toMatchObject({verified: true, bytes: data.length, sha256: sha256(data), action: 'downloaded', resumedFrom: 0})
    expect(result.signer?.fingerprint).toBe(key.fingerprint)
    expect(sha256(await readFile(dest))).toBe(sha256(data))
    expect(await exists(`${dest}.part`)).toBe(false)
    expect(await exists(`${dest}.sig`)).toBe(false)
    // And the signature was fetched before the data, which came by one plain ranged GET (after a HEAD for its size and ETag)
    expect(server.requests).toEqual(['GET /img.bin.sig', 'HEAD /img.bin', `GET /img.bin bytes=0-${data.length - 1}`])
  })

  /**
   * A keyring handed over only once the server has received the data GET (looked for every 10 ms), or after
   * `giveUpMs` without it: `sentFirst` says which. Before the data moved early, the download waited for its keys
   * before any GET.
   */
  function keysAfterDataGet(
    server: MirrorServer,
    keys: Keyring,
    giveUpMs = 15_000,
  ): {keyring: Promise<Keyring>; sentFirst: () => boolean | undefined} {
    let sent: boolean | undefined
    const keyring = new Promise<Keyring>((resolve) => {
      const since = Date.now()
      const poll = setInterval(() => {
        if (gets(server, '/img.bin').length === 0 && Date.now() - since < giveUpMs) return
        clearInterval(poll)
        sent = gets(server, '/img.bin').length > 0
        resolve(keys)
      }, 10)
    })
    return {keyring, sentFirst: () => sent}
  }

  it('starts the data GET on a fresh destination before the keys are loaded and the signature judged', async () => {
    // Given a signed file, and keys that are ready only once the data GET has reached the server
    const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    const late = keysAfterDataGet(server, keyring)
    // When it is downloaded to a destination that does not exist yet
    const result = await download({source: bucket, key: 'img.bin', destination: dest, keyring: late.keyring, sha256: true})
    // Then the data GET came before the keys (and so before openpgp judged the signature), and the file verified all the same
    expect(late.sentFirst()).toBe(true)
    expect(result).toMatchObject({verified: true, bytes: data.length, sha256: sha256(data), action: 'downloaded'})
    expect(result.signer?.fingerprint).toBe(key.fingerprint)
    expect(server.requests).toEqual(['GET /img.bin.sig', 'HEAD /img.bin', `GET /img.bin bytes=0-${data.length - 1}`])
  })

  it('verifies what it started early: text mode, a salted v6 signature, two signatures of which one by an unknown key', async () => {
    const openpgp = await loadOpenpgp()
    const v6 = await makeTestKey({type: 'v6'})
    const stranger = await makeTestKey({name: 'Stranger'})
    const text = Buffer.from('a text file\r\nwith CR LF and LF line ends\nand a last line\n')
    const textSig = await openpgp.sign({
      message: await openpgp.createMessage({text: text.toString('utf8')}),
      signingKeys: key.privateKey,
      detached: true,
      format: 'binary',
    })
    const keys = await Keyring.of(
      [...(await parseKeys(key.publicArmored, 'test')), ...(await parseKeys(v6.publicArmored, 'test'))].map((k) => ({
        key: k,
        source: 'test',
      })),
    )
    const kinds = [
      {name: 'text mode', body: text, sig: textSig, signer: key.fingerprint},
      {name: 'salted v6', body: data, sig: await signDetached(data, v6.privateKey), signer: v6.fingerprint},
      {
        name: 'two signatures',
        body: data,
        sig: Buffer.concat([await signDetached(data, stranger.privateKey), await signDetached(data, key.privateKey)]),
        signer: key.fingerprint,
      },
    ]
    for (const kind of kinds) {
      // Given a file signed that way, and keys ready only once the data GET has reached the server
      const {server, bucket} = await serve({'img.bin': kind.body, 'img.bin.sig': kind.sig})
      const late = keysAfterDataGet(server, keys)
      // When it is downloaded to a fresh destination
      const result = await download({source: bucket, key: 'img.bin', destination: join(out, 'img.bin'), keyring: late.keyring})
      // Then the data moved first, and the file verified with the right signer
      expect({kind: kind.name, sentFirst: late.sentFirst(), verified: result.verified}).toEqual({
        kind: kind.name,
        sentFirst: true,
        verified: true,
      })
      expect(result.signer?.fingerprint).toBe(kind.signer)
    }
  })

  it('refuses a text-mode signature over a line too long for GnuPG, started early, as before: no part file', async () => {
    // Given a text file with a 30,000-byte line, signed in text mode (openpgp signs it; GnuPG cannot verify it)
    const openpgp = await loadOpenpgp()
    const long = Buffer.concat([Buffer.alloc(30_000, 0x61), Buffer.from('\n')])
    const sig = await openpgp.sign({
      message: await openpgp.createMessage({text: long.toString('latin1')}),
      signingKeys: key.privateKey,
      detached: true,
      format: 'binary',
    })
    const {server, bucket} = await serve({'img.bin': long, 'img.bin.sig': sig})
    const dest = join(out, 'img.bin')
    const late = keysAfterDataGet(server, keyring)
    // When it is downloaded to a fresh destination
    const error = await download({source: bucket, key: 'img.bin', destination: dest, keyring: late.keyring}).catch((e: unknown) => e)
    // Then the data moved first, and the download is refused as unverifiable text, leaving nothing behind
    expect(late.sentFirst()).toBe(true)
    expect((error as SignatureError).reason).toBe('unverifiable-text')
    expect(await exists(dest)).toBe(false)
    expect(await exists(`${dest}.part`)).toBe(false)
  })

  it('a signature refused after the data GET started fails as before and leaves no part file', async () => {
    // Given a file signed by a key that is not in the keyring, which is ready only once the data GET has reached the server
    const stranger = await makeTestKey({name: 'Stranger'})
    const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, stranger.privateKey)})
    const dest = join(out, 'img.bin')
    const late = keysAfterDataGet(server, keyring)
    // When it is downloaded to a fresh destination
    const error = await download({source: bucket, key: 'img.bin', destination: dest, keyring: late.keyring}).catch((e: unknown) => e)
    // Then the data had started, and the download fails with the refusal itself: no file, no part file
    expect(late.sentFirst()).toBe(true)
    expect(error).toBeInstanceOf(SignatureError)
    expect((error as SignatureError).message).toMatch(/^unknown key: .*img\.bin\.sig is signed by key /)
    expect(await exists(dest)).toBe(false)
    expect(await exists(`${dest}.part`)).toBe(false)
  })

  it('judges the signature before any data GET when the destination or a part file exists', async () => {
    for (const existing of ['img.bin', 'img.bin.part']) {
      // Given a signed file, a destination (or part file) already there, and keys ready once a data GET came (or after 1 s)
      const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
      await writeFile(join(out, existing), data.subarray(0, 1000))
      const late = keysAfterDataGet(server, keyring, 1000)
      // When it is downloaded: the existing file is checked against the signature, or the part file resumed
      const result = await download({source: bucket, key: 'img.bin', destination: join(out, 'img.bin'), keyring: late.keyring})
      // Then no data GET was sent before the keys were ready, as before, and the file verified
      expect({existing, sentFirst: late.sentFirst()}).toEqual({existing, sentFirst: false})
      expect(result.verified).toBe(true)
    }
  })

  it('asks for keys given as a function only once the data flows on a fresh download, and before any data GET otherwise', async () => {
    for (const existing of [undefined, 'img.bin']) {
      // Given a signed file, and keys given as a function that notes whether the data GET had reached the server when called
      const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
      if (existing) await writeFile(join(out, existing), 'an older file')
      const calls: boolean[] = []
      const keys = (): Promise<Keyring> => {
        calls.push(gets(server, '/img.bin').length > 0)
        return Promise.resolve(keyring)
      }
      // When it is downloaded
      const result = await download({source: bucket, key: 'img.bin', destination: join(out, 'img.bin'), keyring: keys})
      // Then the keys were asked for once: after the data GET on a fresh destination (openpgp's import does not delay it),
      // before it when a file was there to check against the signature first
      expect({existing, calls}).toEqual({existing, calls: [existing === undefined]})
      expect(result).toMatchObject({verified: true, action: 'downloaded'})
    }
  })

  it('keeps the signature next to the file when asked', async () => {
    const sig = await signDetached(data, key.privateKey)
    const {bucket} = await serve({'img.bin': data, 'img.bin.sig': sig})
    const dest = join(out, 'img.bin')
    await download({source: bucket, key: 'img.bin', destination: dest, keyring, keepSignature: true})
    expect(Buffer.compare(await readFile(`${dest}.sig`), Buffer.from(sig))).toBe(0)
  })

  it('skips the download when the existing file already verifies', async () => {
    const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    await writeFile(dest, data)
    const result = await download({source: bucket, key: 'img.bin', destination: dest, keyring, sha256: true})
    expect(result).toMatchObject({action: 'up-to-date', verified: true, sha256: sha256(data)})
    expect(gets(server, '/img.bin')).toHaveLength(0)
  })

  it('replaces an existing file that does not verify', async () => {
    const {bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    await writeFile(dest, 'old content')
    const result = await download({source: bucket, key: 'img.bin', destination: dest, keyring})
    expect(result.action).toBe('downloaded')
    expect(sha256(await readFile(dest))).toBe(sha256(data))
  })

  it('never puts a tampered file in place, leaves the existing file untouched and removes the part file', async () => {
    // Given a signature over other bytes than the ones served, and a good file already in place
    const tampered = Buffer.from(data)
    tampered[1000]! ^= 1
    const {bucket} = await serve({'img.bin': tampered, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    await writeFile(dest, 'previous good file')
    // When it is downloaded
    const error = await download({source: bucket, key: 'img.bin', destination: dest, keyring}).catch((e: unknown) => e)
    // Then verification fails, and nothing changed on disk
    expect(error).toBeInstanceOf(SignatureError)
    expect((error as SignatureError).reason).toBe('bad-signature')
    expect(await readFile(dest, 'utf8')).toBe('previous good file')
    expect(await exists(`${dest}.part`)).toBe(false)
  })

  /**
   * The resuming cases, through both readers: the plain ranged GET of a
   * backend that offers one (getRange: a HEAD, then "bytes=N-LAST"), and the
   * backend's own read (a stream: "bytes=N-", or no Range from 0).
   */
  for (const via of ['getRange', 'stream'] as const) {
    const sourceOf = (bucket: Bucket): DownloadSource =>
      via === 'getRange' ? bucket : {read: bucket.read.bind(bucket), urlOf: bucket.urlOf.bind(bucket)}
    const from = (offset: number): string =>
      via === 'stream' ? (offset === 0 ? '' : `bytes=${offset}-`) : `bytes=${offset}-${data.length - 1}`

    it(`resumes a transfer cut off half-way from the right offset on the next run (${via})`, async () => {
      // Given a network that cuts the first transfer off after about 1 MiB
      const {server, bucket} = await serve(
        {'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)},
        {cut: {afterBytes: 1024 * 1024, times: 1}},
      )
      const dest = join(out, 'img.bin')
      // When a first run gives up after one attempt
      const first = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, attempts: 1}).catch(
        (e: unknown) => e,
      )
      expect(first).toBeInstanceOf(Error)
      expect(await exists(dest)).toBe(false)
      const kept = (await stat(`${dest}.part`)).size
      // (what the client had not yet taken from the socket when it died is lost: up to the cut, not exactly it)
      expect(kept).toBeGreaterThan(0)
      expect(kept).toBeLessThanOrEqual(1024 * 1024)
      // And a second run follows
      const result = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, sha256: true})
      // Then it asked for the rest only, and the whole file verifies
      expect(gets(server, '/img.bin')).toEqual([from(0), from(kept)])
      expect(result).toMatchObject({verified: true, action: 'resumed', resumedFrom: kept, sha256: sha256(data)})
      expect(sha256(await readFile(dest))).toBe(sha256(data))
    })

    it(`retries a cut-off transfer within one run, resuming where it stopped (${via})`, async () => {
      // Given a network that cuts the first two transfers off after about 512 KiB each
      const {server, bucket} = await serve(
        {'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)},
        {cut: {afterBytes: 512 * 1024, times: 2}},
      )
      const dest = join(out, 'img.bin')
      // When one run downloads it
      const result = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, sha256: true, retryDelayMs: 1})
      // Then each retry asked for the bytes after those already received, and the file verifies
      const ranges = gets(server, '/img.bin')
      expect(ranges).toHaveLength(3)
      const [first, second] = ranges.slice(1).map((r) => Number(/^bytes=(\d+)-/.exec(r)?.[1]))
      expect(ranges).toEqual([from(0), from(first!), from(second!)])
      // (bytes still in the client's buffers when the socket dies are lost, so less than the cut may have arrived)
      expect(first).toBeGreaterThan(256 * 1024)
      expect(second! - first!).toBeGreaterThan(256 * 1024)
      expect(result).toMatchObject({verified: true, sha256: sha256(data)})
    })

    it(`starts again from zero when the server ignores the range (HTTP 200) (${via})`, async () => {
      const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)}, {ignoreRange: true})
      const dest = join(out, 'img.bin')
      await writeFile(`${dest}.part`, data.subarray(0, 1000))
      const result = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, sha256: true})
      // (the plain GET refuses a 200 to a range and hands over to the backend's read, which starts again)
      expect(gets(server, '/img.bin')).toEqual(via === 'stream' ? ['bytes=1000-'] : [from(1000), 'bytes=1000-'])
      expect(result).toMatchObject({verified: true, action: 'downloaded', resumedFrom: 0, bytes: data.length})
    })

    it(`takes a complete part file as complete, and verifies it (${via})`, async () => {
      const {server, bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
      const dest = join(out, 'img.bin')
      await writeFile(`${dest}.part`, data)
      const result = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, sha256: true})
      // (the stream asks and gets 416; the plain GET knows the size from its HEAD and asks nothing)
      expect(gets(server, '/img.bin')).toEqual(via === 'stream' ? [`bytes=${data.length}-`] : [])
      expect(result).toMatchObject({verified: true, action: 'resumed', bytes: data.length})
    })

    it(`starts again when the part file is longer than the object (${via})`, async () => {
      const {bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
      const dest = join(out, 'img.bin')
      await writeFile(`${dest}.part`, Buffer.concat([data, Buffer.from('junk')]))
      const result = await download({source: sourceOf(bucket), key: 'img.bin', destination: dest, keyring, sha256: true, retryDelayMs: 1})
      expect(result).toMatchObject({verified: true, bytes: data.length, sha256: sha256(data)})
    })
  }

  it('fails before fetching the data when the signature is missing', async () => {
    const {server, bucket} = await serve({'img.bin': data})
    const dest = join(out, 'img.bin')
    const error = await download({source: bucket, key: 'img.bin', destination: dest, keyring}).catch((e: unknown) => e)
    expect((error as SignatureError).reason).toBe('missing-signature')
    expect(gets(server, '/img.bin')).toHaveLength(0)
  })

  it('downloads without verification when no keyring is given', async () => {
    const {bucket} = await serve({'img.bin': data})
    const dest = join(out, 'img.bin')
    const result = await download({source: bucket, key: 'img.bin', destination: dest, sha256: true})
    expect(result).toMatchObject({verified: false, signer: undefined, sha256: sha256(data)})
  })

  it('verifies a download longer than the hashing ring, its reads placed straight into the ring', async () => {
    // Given a signed file of 70 MiB (the ring holds 64 MiB) on an HTTP mirror, read by getRange
    const big = randomBytes(70 * 1024 * 1024 + 11)
    const {bucket} = await serve({'img.bin': big, 'img.bin.sig': await signDetached(big, key.privateKey)})
    const dest = join(out, 'img.bin')
    // When it is downloaded verified, with its SHA-256 (two digests over the same ring)
    const result = await download({source: bucket, key: 'img.bin', destination: dest, keyring, sha256: true})
    // Then it verifies, and both digests and the file are those of the data
    expect(result).toMatchObject({verified: true, bytes: big.length, sha256: sha256(big)})
    expect(sha256(await readFile(dest))).toBe(sha256(big))
  })

  it('computes no SHA-256 unless asked, verifying or not', async () => {
    // Given a signed file on an HTTP mirror
    const {bucket} = await serve({'img.bin': data, 'img.bin.sig': await signDetached(data, key.privateKey)})
    const dest = join(out, 'img.bin')
    // When it is downloaded verified, then (to another file) unverified, without sha256
    const verified = await download({source: bucket, key: 'img.bin', destination: dest, keyring})
    const plain = await download({source: bucket, key: 'img.bin', destination: join(out, 'plain.bin')})
    // Then both have the whole content and report no SHA-256
    expect(verified).toMatchObject({verified: true, bytes: data.length, sha256: undefined, action: 'downloaded'})
    expect(plain).toMatchObject({verified: false, bytes: data.length, sha256: undefined, action: 'downloaded'})
    expect(sha256(await readFile(dest))).toBe(sha256(data))
    expect(sha256(await readFile(join(out, 'plain.bin')))).toBe(sha256(data))
  })

  it('replaces an unverified file only when its bytes changed, comparing them without a digest', async () => {
    // Given a file downloaded without verification
    const {bucket} = await serve({'img.bin': data})
    const dest = join(out, 'img.bin')
    await download({source: bucket, key: 'img.bin', destination: dest})
    // When it is downloaded again unchanged
    const again = await download({source: bucket, key: 'img.bin', destination: dest})
    // Then it is left as it was and no part file remains
    expect(again.action).toBe('unchanged')
    expect(await exists(`${dest}.part`)).toBe(false)
    // And when the local copy differs in its last byte only (same size), it is replaced
    const local = Buffer.from(data)
    local[local.length - 1]! ^= 1
    await writeFile(dest, local)
    const replaced = await download({source: bucket, key: 'img.bin', destination: dest})
    expect(replaced.action).toBe('downloaded')
    expect(sha256(await readFile(dest))).toBe(sha256(data))
  })

  it('reports a missing object as a storage not-found error', async () => {
    const {bucket} = await serve({'img.bin.sig': await signDetached(data, key.privateKey)})
    const error = await download({source: bucket, key: 'img.bin', destination: join(out, 'img.bin'), keyring}).catch((e: unknown) => e)
    expect(isStorageError(error, 'not-found')).toBe(true)
  })
})

describe('signed download from every storage backend', () => {
  for (const fixture of BACKENDS) {
    const available = backendAvailable(fixture)
    it.skipIf(!available)(`downloads and verifies from ${fixture.name}`, async () => {
      // Given a signed object written to the backend
      const key = await makeTestKey()
      const keyring = await Keyring.of((await parseKeys(key.publicArmored, 'test')).map((k) => ({key: k, source: 'test'})))
      const data = randomBytes(2 * 1024 * 1024 + 7)
      const backend = await fixture.open(process.env)
      const out = await mkdtemp(join(tmpdir(), 'mantle-dl-out-'))
      try {
        await backend.writer.write(`${backend.writerPrefix}rel/img.bin`, data)
        await backend.writer.write(`${backend.writerPrefix}rel/img.bin.sig`, Buffer.from(await signDetached(data, key.privateKey)))
        const dest = join(out, 'img.bin')
        // When it is downloaded through the backend's reader, with a part file already there
        await writeFile(`${dest}.part`, data.subarray(0, 100_000))
        const result = await download({
          source: backend.reader,
          key: `${backend.readerPrefix}rel/img.bin`,
          destination: dest,
          keyring,
          sha256: true,
        })
        // Then the range read resumed it and it verifies
        expect(result).toMatchObject({verified: true, action: 'resumed', resumedFrom: 100_000, sha256: sha256(data)})
        // And a tampered copy is refused
        const bad = Buffer.from(data)
        bad[5]! ^= 1
        await backend.writer.write(`${backend.writerPrefix}rel/img.bin`, bad)
        await rm(dest)
        const error = await download({source: backend.reader, key: `${backend.readerPrefix}rel/img.bin`, destination: dest, keyring}).catch(
          (e: unknown) => e,
        )
        expect((error as SignatureError).reason).toBe('bad-signature')
        expect(await exists(dest)).toBe(false)
      } finally {
        await backend.cleanup()
        await rm(out, {recursive: true, force: true})
      }
    })
  }
})
