import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {makeTempDir} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Keyring, loadOpenpgp, parseKeys} from './keyring.js'
import {DetachedSignature} from './signature.js'
import {peekSignature, type SignaturePeek} from './signature-peek.js'
import {makeTestKey, signDetached, type TestKey} from './testing.js'

/**
 * The raw parser against signatures made by GnuPG itself (old-format packet
 * headers, as gpg 2.2 writes them) and by openpgp (new-format headers, v4
 * and salted v6): what it reads must be what openpgp's full parse hashes
 * (DetachedSignature.hashJob), or nothing at all.
 */

let tmp: {dir: string; cleanup: () => Promise<void>}
let home: string
let dataFile: string
const data = randomBytes(4096)

function gpg(args: string[]): string {
  const r = spawnSync('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
    env: {...process.env, GNUPGHOME: home},
    encoding: 'latin1',
  })
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** A detached signature of the data file by gpg with these options. */
function gpgSign(name: string, args: string[]): Buffer {
  const out = join(tmp.dir, `${name}.sig`)
  gpg([...args, '--detach-sign', '-o', out, dataFile])
  return readFileSync(out)
}

/** What openpgp's full parse says the signature hashes, in the peek's terms. */
async function judged(sig: Uint8Array, keyring: Keyring): Promise<SignaturePeek> {
  const job = await (await DetachedSignature.parse(sig, keyring, {name: 'test.sig'})).hashJob()
  return {algorithm: job.algorithm, mode: job.text ? 'text' : 'binary', salt: new Uint8Array(job.prefix ?? [])}
}

const plain = (p: SignaturePeek | undefined): unknown => p && {...p, salt: Buffer.from(p.salt).toString('hex')}

describe('signature peek, GnuPG signatures', () => {
  let keyring: Keyring

  beforeAll(async () => {
    tmp = await makeTempDir()
    home = join(tmp.dir, 'gnupg')
    mkdirSync(home, {mode: 0o700})
    dataFile = join(tmp.dir, 'data.bin')
    writeFileSync(dataFile, data)
    gpg(['--quick-gen-key', 'Peek A <a@example.test>', 'ed25519', 'sign', 'never'])
    gpg(['--quick-gen-key', 'Peek B <b@example.test>', 'ed25519', 'sign', 'never'])
    const exported = gpg(['--armor', '--export'])
    keyring = await Keyring.of((await parseKeys(exported, 'gpg')).map((key) => ({key, source: 'gpg'})))
  })

  afterAll(() => tmp.cleanup())

  const cases: {name: string; args: string[]; expected: Omit<SignaturePeek, 'salt'>}[] = [
    {name: 'SHA-256, binary', args: ['-u', 'a@example.test', '--digest-algo', 'SHA256'], expected: {algorithm: 'sha256', mode: 'binary'}},
    {name: 'SHA-512, binary', args: ['-u', 'a@example.test', '--digest-algo', 'SHA512'], expected: {algorithm: 'sha512', mode: 'binary'}},
    {
      name: 'SHA-512, text mode',
      args: ['-u', 'a@example.test', '--digest-algo', 'SHA512', '--textmode'],
      expected: {algorithm: 'sha512', mode: 'text'},
    },
    {
      name: 'SHA-384, armored',
      args: ['-u', 'a@example.test', '--digest-algo', 'SHA384', '--armor'],
      expected: {algorithm: 'sha384', mode: 'binary'},
    },
    {
      name: 'two signatures (two keys), SHA-256',
      args: ['-u', 'a@example.test', '-u', 'b@example.test', '--digest-algo', 'SHA256'],
      expected: {algorithm: 'sha256', mode: 'binary'},
    },
    {
      name: 'two signatures, armored, text mode',
      args: ['-u', 'a@example.test', '-u', 'b@example.test', '--digest-algo', 'SHA512', '--armor', '--textmode'],
      expected: {algorithm: 'sha512', mode: 'text'},
    },
  ]
  for (const c of cases) {
    it(`reads what openpgp hashes: ${c.name}`, async () => {
      // Given a signature made by gpg
      const sig = gpgSign(c.name.replace(/\W+/g, '-'), c.args)
      // When its bytes are peeked at
      const peek = peekSignature(sig)
      // Then it names the digest, mode and (no) salt that openpgp's full parse hashes
      expect(plain(peek)).toEqual({...c.expected, salt: ''})
      expect(plain(peek)).toEqual(plain(await judged(sig, keyring)))
    })
  }

  it('reads the old-format packet headers gpg writes', () => {
    // Given a binary gpg signature: an old-format header (tag 2 in bits 5-2), as gpg 2.2 writes it
    const sig = gpgSign('old-format', ['-u', 'a@example.test', '--digest-algo', 'SHA256'])
    expect(sig[0]! & 0xc0).toBe(0x80)
    expect((sig[0]! >> 2) & 0x0f).toBe(2)
    // Then it is read
    expect(peekSignature(sig)?.algorithm).toBe('sha256')
  })

  it('says nothing when two signatures in one file disagree on the digest or the mode', () => {
    // Given gpg signatures of the data over SHA-256 and SHA-512, and binary and text, concatenated as one .sig
    const s256 = gpgSign('d256', ['-u', 'a@example.test', '--digest-algo', 'SHA256'])
    const s512 = gpgSign('d512', ['-u', 'b@example.test', '--digest-algo', 'SHA512'])
    const t256 = gpgSign('t256', ['-u', 'b@example.test', '--digest-algo', 'SHA256', '--textmode'])
    // Then the peek gives no answer: the full parse decides which one counts
    expect(peekSignature(Buffer.concat([s256, s512]))).toBeUndefined()
    expect(peekSignature(Buffer.concat([s256, t256]))).toBeUndefined()
    // While two that agree give their common digest
    expect(peekSignature(Buffer.concat([s256, gpgSign('d256b', ['-u', 'b@example.test', '--digest-algo', 'SHA256'])]))?.algorithm).toBe(
      'sha256',
    )
  })
})

describe('signature peek, openpgp signatures', () => {
  let v4: TestKey
  let v6: TestKey

  beforeAll(async () => {
    v4 = await makeTestKey()
    v6 = await makeTestKey({type: 'v6'})
  })

  const keyringOf = async (key: TestKey): Promise<Keyring> =>
    Keyring.of((await parseKeys(key.publicArmored, 'test')).map((k) => ({key: k, source: 'test'})))

  it('reads a v4 signature with new-format packet headers, binary and armored', async () => {
    // Given openpgp's v4 signatures (new-format header 0xC2), binary and armored
    const binary = await signDetached(data, v4.privateKey)
    const armored = await signDetached(data, v4.privateKey, {armored: true})
    expect(binary[0]).toBe(0xc2)
    // Then both are read as openpgp's full parse hashes them
    const keyring = await keyringOf(v4)
    expect(plain(peekSignature(binary))).toEqual(plain(await judged(binary, keyring)))
    expect(plain(peekSignature(armored))).toEqual(plain(await judged(armored, keyring)))
    expect(peekSignature(binary)?.mode).toBe('binary')
  })

  it('reads a salted v6 signature (RFC 9580): its salt is hashed first', async () => {
    // Given a v6 signature, whose random salt is hashed before the data
    const sig = await signDetached(data, v6.privateKey)
    // Then the peek gives that salt, as openpgp's full parse does
    const peek = peekSignature(sig)
    expect(peek?.salt.length).toBeGreaterThan(0)
    expect(plain(peek)).toEqual(plain(await judged(sig, await keyringOf(v6))))
  })

  it('reads a text-mode signature made by openpgp', async () => {
    // Given a text-mode signature made by openpgp
    const openpgp = await loadOpenpgp()
    const message = await openpgp.createMessage({text: 'line one\nline two\n'})
    const sig = await openpgp.sign({message, signingKeys: v4.privateKey, detached: true, format: 'binary'})
    // Then it is read as text mode, as openpgp's full parse hashes it
    expect(peekSignature(sig)?.mode).toBe('text')
    expect(plain(peekSignature(sig))).toEqual(plain(await judged(sig, await keyringOf(v4))))
  })

  it('says nothing about bytes it cannot read plainly', async () => {
    const sig = Buffer.from(await signDetached(data, v4.privateKey))
    const partial = Buffer.from(sig)
    // A new-format partial body length (0xE0-0xFE), which no signature packet uses
    partial[1] = 0xe5
    const v3 = Buffer.from(sig)
    v3[2] = 3
    const sha1 = Buffer.from(sig)
    sha1[5] = 2
    const notArmor = Buffer.from('-----BEGIN PGP MESSAGE-----\n\nowEB\n=abcd\n-----END PGP MESSAGE-----\n')
    for (const bytes of [
      undefined,
      new Uint8Array(0),
      sig.subarray(0, sig.length - 1),
      partial,
      v3,
      sha1,
      randomBytes(300),
      notArmor,
      Buffer.from('not a signature'),
    ])
      expect(peekSignature(bytes)).toBeUndefined()
  })

  it('skips a marker packet and signatures that are not over data', async () => {
    // Given a marker packet (tag 10, "PGP"), a v4 signature of another type (0x10, a certification), then a data signature
    const sig = Buffer.from(await signDetached(data, v4.privateKey))
    const marker = Buffer.from([0xca, 0x03, 0x50, 0x47, 0x50])
    const certification = Buffer.from(sig)
    certification[3] = 0x10
    certification[5] = 2
    // Then the data signature's digest is read
    expect(peekSignature(Buffer.concat([marker, certification, sig]))?.algorithm).toBe(peekSignature(sig)?.algorithm)
  })
})
