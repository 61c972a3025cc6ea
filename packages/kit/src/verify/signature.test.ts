import {randomBytes} from 'node:crypto'

import {beforeAll, describe, expect, it} from 'vitest'

import {ExitCode} from '../errors.js'
import {Keyring, parseKeys} from './keyring.js'
import {DetachedSignature, SignatureError, type VerifyFailureReason} from './signature.js'
import {makeExpiredKey, makeKeyWithRevokedSubkey, makeTestKey, signDetached, type TestKey} from './testing.js'

async function keyringOf(...armored: string[]): Promise<Keyring> {
  const entries = []
  for (const [i, text] of armored.entries()) for (const key of await parseKeys(text, `test-${i}`)) entries.push({key, source: `test-${i}`})
  return Keyring.of(entries)
}

/** Parses the signature and streams the data through in small chunks, as a download would. */
async function verify(data: Uint8Array, sig: Uint8Array | undefined, keyring: Keyring) {
  const signature = await DetachedSignature.parse(sig, keyring, {name: 'file.sig'})
  const verifier = await signature.verifier()
  for (let i = 0; i < data.length; i += 1000) await verifier.write(data.subarray(i, i + 1000))
  return verifier.finish()
}

async function refusal(promise: Promise<unknown>): Promise<{reason: VerifyFailureReason; message: string}> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SignatureError)
  const e = error as SignatureError
  expect(e.exitCode).toBe(ExitCode.CheckFailed)
  expect(e.message).not.toContain('\n')
  return {reason: e.reason, message: e.message}
}

describe('detached signatures', () => {
  const data = randomBytes(10_000)
  let signer: TestKey
  let stranger: TestKey
  let good: Uint8Array
  let keyring: Keyring

  beforeAll(async () => {
    signer = await makeTestKey({name: 'Release Signer'})
    stranger = await makeTestKey({name: 'Stranger'})
    good = await signDetached(data, signer.privateKey)
    keyring = await keyringOf(signer.publicArmored)
  })

  it('accepts a binary signature by a key in the keyring and names the signer', async () => {
    // Given data signed by a key in the keyring
    // When it is verified while streamed
    const result = await verify(data, good, keyring)
    // Then the signer's fingerprint is reported
    expect(result.fingerprint).toBe(signer.fingerprint)
    expect(result.userId).toContain('Release Signer')
  })

  it('accepts an armored signature', async () => {
    const armored = await signDetached(data, signer.privateKey, {armored: true})
    expect((await verify(data, armored, keyring)).fingerprint).toBe(signer.fingerprint)
  })

  it('accepts a signature made by a signing subkey and reports the primary fingerprint', async () => {
    const withSub = await makeTestKey({signingSubkey: true})
    const sub = withSub.privateKey.subkeys.at(-1)!
    const sig = await signDetached(data, withSub.privateKey, {signingKeyId: sub.getKeyID()})
    const result = await verify(data, sig, await keyringOf(withSub.publicArmored))
    expect(result.fingerprint).toBe(withSub.fingerprint)
    expect(result.signingKeyFingerprint).toBe(sub.getFingerprint().toUpperCase())
  })

  it('accepts an RSA signature (SHA-512, as gpg makes them)', async () => {
    const rsa = await makeTestKey({type: 'rsa'})
    const sig = await signDetached(data, rsa.privateKey)
    expect((await verify(data, sig, await keyringOf(rsa.publicArmored))).fingerprint).toBe(rsa.fingerprint)
  })

  it('accepts a salted v6 signature (RFC 9580) and refuses it over altered data', async () => {
    const v6 = await makeTestKey({type: 'v6'})
    const sig = await signDetached(data, v6.privateKey)
    const ring = await keyringOf(v6.publicArmored)
    expect((await verify(data, sig, ring)).fingerprint).toBe(v6.fingerprint)
    const flipped = Buffer.from(data.map((b, i) => (i === 17 ? b ^ 0x80 : b)))
    expect((await refusal(verify(flipped, sig, ring))).reason).toBe('bad-signature')
  })

  const tampered: [string, (d: Buffer) => Buffer][] = [
    ['truncated', (d) => d.subarray(0, d.length - 1)],
    ['with bytes appended', (d) => Buffer.concat([d, Buffer.from('extra')])],
    ['with one byte flipped', (d) => Buffer.from(d.map((b, i) => (i === 4321 ? b ^ 0x01 : b)))],
  ]
  for (const [what, tamper] of tampered) {
    it(`refuses a file ${what}: bad signature`, async () => {
      const {reason, message} = await refusal(verify(tamper(data), good, keyring))
      expect(reason).toBe('bad-signature')
      expect(message).toMatch(/bad signature/)
    })
  }

  it('refuses the .sig of another file: bad signature', async () => {
    const other = await signDetached(randomBytes(100), signer.privateKey)
    const {reason, message} = await refusal(verify(data, other, keyring))
    expect(reason).toBe('bad-signature')
    expect(message).toMatch(/signature belongs to another file/)
  })

  it('refuses a signature whose cryptographic value was altered: bad signature', async () => {
    const sig = Buffer.from(good)
    sig[sig.length - 5]! ^= 0xff
    expect((await refusal(verify(data, sig, keyring))).reason).toBe('bad-signature')
  })

  it('refuses a signature by a key not in the keyring, before reading any data: unknown key', async () => {
    const sig = await signDetached(data, stranger.privateKey)
    const {reason, message} = await refusal(DetachedSignature.parse(sig, keyring, {name: 'file.sig'}))
    expect(reason).toBe('unknown-key')
    expect(message).toContain(stranger.privateKey.getKeyID().toHex().toUpperCase())
  })

  it('accepts a signature made before its key expired, with a warning naming the expiry date', async () => {
    // Given a key that expired yesterday and a signature it made the day before
    const expired = await makeExpiredKey()
    const sig = await signDetached(data, expired.privateKey, {date: expired.signedAt})
    // When it is verified today
    const result = await verify(data, sig, await keyringOf(expired.publicArmored))
    // Then it is good, as gpg says, and the warning names the expiry date
    expect(result.fingerprint).toBe(expired.fingerprint)
    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]).toMatch(/expired on \d{4}-\d\d-\d\d, after it made this signature/)
  })

  it('refuses a signature by a revoked subkey: revoked key', async () => {
    // Given a signature made by a subkey before it was revoked
    const key = await makeKeyWithRevokedSubkey()
    const sig = await signDetached(data, key.privateKey, {signingKeyId: key.subkeyId})
    // When it is checked against the published key that carries the revocation
    const {reason, message} = await refusal(DetachedSignature.parse(sig, await keyringOf(key.publicArmored), {name: 'file.sig'}))
    // Then it is refused, naming the revocation and its reason
    expect(reason).toBe('revoked-key')
    expect(message).toMatch(/subkey .* which was revoked on .* as compromised \("test: subkey compromised"\)/)
  })

  it('refuses a missing signature', async () => {
    expect((await refusal(DetachedSignature.parse(undefined, keyring, {name: 'file.sig'}))).reason).toBe('missing-signature')
  })

  it('refuses an empty signature', async () => {
    const {reason, message} = await refusal(DetachedSignature.parse(new Uint8Array(0), keyring, {name: 'file.sig'}))
    expect(reason).toBe('empty-signature')
    expect(message).toMatch(/empty signature/)
  })

  for (const [what, garbage] of [
    ['random bytes', randomBytes(300)],
    ['text', Buffer.from('<html>404 not found</html>\n')],
    ['an armored public key', Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n')],
  ] as const) {
    it(`refuses a garbage signature (${what}): malformed signature`, async () => {
      const {reason, message} = await refusal(DetachedSignature.parse(garbage, keyring, {name: 'file.sig'}))
      expect(reason).toBe('malformed-signature')
      expect(message).toMatch(/malformed signature/)
    })
  }
})
