import type {KeyID, PrivateKey, SecretKeyPacket} from 'openpgp'

import {loadOpenpgp} from './keyring.js'

/**
 * Keys and signatures made on the fly for tests (of the kit, gangue, cork,
 * plume): nothing here is used by the tools themselves. Ed25519 keys are used
 * because they generate in milliseconds.
 */

export interface TestKey {
  privateKey: PrivateKey
  /** Armored public key, as a publisher would ship it. */
  publicArmored: string
  fingerprint: string
}

export interface TestKeyOptions {
  name?: string
  /** Creation time (backdate it to make a key that has expired by now). */
  date?: Date
  /** Seconds after creation at which the key expires. */
  keyExpirationTime?: number
  /** Add a signing subkey (the primary then still certifies). */
  signingSubkey?: boolean
  /** 'rsa' makes a 2048-bit RSA key (slower), as many publishers use; 'v6' an RFC 9580 Ed25519 key, whose signatures are salted. */
  type?: 'ecc' | 'rsa' | 'v6'
}

const DAY = 86_400

export async function makeTestKey(options: TestKeyOptions = {}): Promise<TestKey> {
  const openpgp = await loadOpenpgp()
  const common = {
    userIDs: [{name: options.name ?? 'Test Buildbot', email: 'buildbot@example.test'}],
    format: 'object' as const,
    ...(options.date ? {date: options.date} : {}),
    ...(options.keyExpirationTime ? {keyExpirationTime: options.keyExpirationTime} : {}),
    subkeys: options.signingSubkey ? [{}, {sign: true}] : [{}],
  }
  const {privateKey} =
    options.type === 'rsa'
      ? await openpgp.generateKey({...common, type: 'rsa', rsaBits: 2048})
      : options.type === 'v6'
        ? await openpgp.generateKey({...common, type: 'curve25519', config: {v6Keys: true}})
        : await openpgp.generateKey({...common, type: 'ecc', curve: 'ed25519Legacy'})
  return {privateKey, publicArmored: privateKey.toPublic().armor(), fingerprint: privateKey.getFingerprint().toUpperCase()}
}

/** A key whose signing subkey (made with it) is revoked; signatures by that subkey must be refused. */
export async function makeKeyWithRevokedSubkey(): Promise<TestKey & {subkeyId: KeyID}> {
  const openpgp = await loadOpenpgp()
  const key = await makeTestKey({signingSubkey: true})
  const signing = key.privateKey.subkeys.at(-1)!
  const unrevoked = key.privateKey
  const revokedSubkey = await signing.revoke(key.privateKey.keyPacket as SecretKeyPacket, {
    flag: openpgp.enums.reasonForRevocation.keyCompromised,
    string: 'test: subkey compromised',
  })
  // openpgp has no public "replace subkey": a copy of the key carries the revoked one.
  const copy = await openpgp.readPrivateKey({binaryKey: unrevoked.write()})
  copy.subkeys[copy.subkeys.length - 1] = revokedSubkey
  return {privateKey: unrevoked, publicArmored: copy.toPublic().armor(), fingerprint: key.fingerprint, subkeyId: signing.getKeyID()}
}

/** A key created two days ago that expired a day later: valid when it signed (at `signedAt`), expired now. */
export async function makeExpiredKey(): Promise<TestKey & {signedAt: Date}> {
  const created = new Date(Date.now() - 2 * DAY * 1000)
  const key = await makeTestKey({date: created, keyExpirationTime: DAY})
  return {...key, signedAt: new Date(created.getTime() + 3600 * 1000)}
}

export interface SignOptions {
  armored?: boolean
  date?: Date
  /** Sign with this (sub)key instead of the default signing key. */
  signingKeyId?: KeyID
}

/** A detached signature over `data`, binary (as gpg --detach-sign) or armored. */
export async function signDetached(data: Uint8Array, key: PrivateKey, options: SignOptions = {}): Promise<Uint8Array> {
  const openpgp = await loadOpenpgp()
  const message = await openpgp.createMessage({binary: data})
  const common = {
    message,
    signingKeys: key,
    detached: true,
    ...(options.date ? {date: options.date} : {}),
    ...(options.signingKeyId ? {signingKeyIDs: [options.signingKeyId]} : {}),
  }
  if (options.armored) return Buffer.from(await openpgp.sign({...common, format: 'armored'}), 'utf8')
  return openpgp.sign({...common, format: 'binary'})
}

/**
 * A key whose published copy says it expired two days ago, and whose
 * `privateKey` (the copy from before the expiry was set) still signs: a
 * signature made with it now was made after the key expired.
 */
export async function makeLapsedKey(): Promise<TestKey & {signedAt: Date}> {
  const openpgp = await loadOpenpgp()
  const created = new Date(Date.now() - 3 * DAY * 1000)
  const key = await makeTestKey({date: created})
  const {privateKey: lapsed} = await openpgp.reformatKey({
    privateKey: key.privateKey,
    userIDs: [{name: 'Lapsed Buildbot', email: 'buildbot@example.test'}],
    keyExpirationTime: DAY,
    date: created,
    format: 'object',
  })
  return {...key, publicArmored: lapsed.toPublic().armor(), signedAt: new Date(Date.now() - 3600 * 1000)}
}
