import {createHash} from 'node:crypto'
import {mkdtemp, readdir, readFile, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode, UsageError} from '../errors.js'
import {embeddedKeyDirectory, loadDefaultKeyring, userKeyDirectory} from './default-keys.js'
import {describeKey, formatFingerprint, loadKeyring, parseKeys, readKeyFile} from './keyring.js'
import {makeExpiredKey, makeKeyWithRevokedSubkey, makeTestKey} from './testing.js'

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'mantle-keyring-'))

describe('keyring', () => {
  it('reads several armored blocks from one file and a binary keyring', async () => {
    // Given two keys, concatenated as armored text and as a binary export
    const [a, b] = [await makeTestKey({name: 'A'}), await makeTestKey({name: 'B'})]
    const binary = Buffer.concat([a.privateKey.toPublic().write(), b.privateKey.toPublic().write()])
    // When each form is parsed
    const fromText = await parseKeys(`${a.publicArmored}\n${b.publicArmored}`, 'both.asc')
    const fromBinary = await parseKeys(binary, 'both.gpg')
    // Then both keys come out of each
    for (const keys of [fromText, fromBinary])
      expect(keys.map((k) => k.getFingerprint().toUpperCase())).toEqual([a.fingerprint, b.fingerprint])
  })

  it('keeps only the public part of a private key', async () => {
    const a = await makeTestKey()
    const [key] = await parseKeys(a.privateKey.armor(), 'secret.asc')
    expect(key!.isPrivate()).toBe(false)
  })

  for (const [what, content, why] of [
    ['an empty file', '', /is empty/],
    ['text', 'hello\n', /not a readable OpenPGP key/],
    ['a signature', '-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n', /has no PGP PUBLIC KEY BLOCK/],
  ] as const) {
    it(`refuses ${what} as a key file with a usage error naming the file`, async () => {
      const error = await parseKeys(content, 'bad.asc').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UsageError)
      expect((error as UsageError).exitCode).toBe(ExitCode.Usage)
      expect((error as UsageError).message).toMatch(/^key file bad\.asc: /)
      expect((error as UsageError).message).toMatch(why)
    })
  }

  it('refuses a missing key file with a usage error', async () => {
    await expect(readKeyFile('/nonexistent/key.asc')).rejects.toThrow(/key file \/nonexistent\/key.asc: not found/)
  })

  it('merges copies of one key from several sources, keeping the newer revocation', async () => {
    // Given the embedded copy of a key and a refreshed copy that revokes its signing subkey
    const key = await makeKeyWithRevokedSubkey()
    const dir = await tempDir()
    await writeFile(join(dir, 'old.asc'), key.privateKey.toPublic().armor())
    await writeFile(join(dir, 'new.asc'), key.publicArmored)
    // When both are loaded
    const keyring = await loadKeyring({directories: [{dir, label: 'embedded'}]})
    // Then there is one key, and its subkey is revoked
    expect(keyring.size).toBe(1)
    const info = await describeKey(keyring.entries[0]!)
    expect(info.subkeys.find((s) => s.canSign === false && s.status === 'revoked')).toBeDefined()
    expect(info.source).toBe('embedded:new.asc, embedded:old.asc')
  })

  it('describes expired keys as expired', async () => {
    const expired = await makeExpiredKey()
    const [key] = await parseKeys(expired.publicArmored, 'x')
    const info = await describeKey({key: key!, source: 'x'})
    expect(info.status).toBe('expired')
    expect(info.expires).toBeInstanceOf(Date)
  })

  it('finds the user keyring under XDG_CONFIG_HOME, else ~/.config', () => {
    expect(userKeyDirectory({XDG_CONFIG_HOME: '/x/cfg'}, '/home/u')).toBe('/x/cfg/mantle/keyring')
    expect(userKeyDirectory({}, '/home/u')).toBe('/home/u/.config/mantle/keyring')
    // A relative XDG_CONFIG_HOME is invalid by the XDG spec and ignored.
    expect(userKeyDirectory({XDG_CONFIG_HOME: 'rel'}, '/home/u')).toBe('/home/u/.config/mantle/keyring')
  })

  it('loads the embedded keys directory, which ships a README explaining which keys belong there', async () => {
    const names = await readdir(embeddedKeyDirectory())
    expect(names).toContain('README.md')
    const keyring = await loadDefaultKeyring({userDirectory: join(await tempDir(), 'none')})
    expect(keyring.size).toBe(names.filter((n) => /\.(asc|gpg|pgp|key)$/.test(n)).length)
  })

  it("ships Flatcar's real image-signing key, with its published fingerprint", async () => {
    // Given the embedded keys directory (../shared/keys/README.md: the flatcar.org file of 2025-03-07)
    const file = join(embeddedKeyDirectory(), 'flatcar-buildbot.asc')
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    ).toBe('74a1ecbc274577853f4e50596289eb7bcbb70737941df0135dc91ac79ae2c331')
    // When the default keyring is loaded
    const keyring = await loadDefaultKeyring({userDirectory: join(await tempDir(), 'none')})
    const entry = keyring.entries.find((e) => e.key.getFingerprint().toUpperCase() === 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A')
    // Then it holds Flatcar's key, whose nine signing subkeys are as Flatcar publishes them on 2026-12-06
    expect(entry?.source).toBe('embedded:flatcar-buildbot.asc')
    const info = await describeKey(entry!, new Date('2026-12-06T00:00:00Z'))
    expect(info.userIds).toEqual(['Flatcar Buildbot (Official Builds) <buildbot@flatcar-linux.org>'])
    expect(info.expires).toBeNull()
    expect(info.subkeys.map((k) => k.status)).toEqual([
      'revoked',
      'revoked',
      'expired',
      'expired',
      'expired',
      'expired',
      'expired',
      'expired',
      'valid',
    ])
    const active = info.subkeys.at(-1)!
    expect(formatFingerprint(active.fingerprint)).toBe('52F1 45DF D00B BDCD 928C  BB5A 32DA 80F9 1EF5 2974')
    expect(active.canSign).toBe(true)
    expect(active.expires?.toISOString().slice(0, 10)).toBe('2027-03-08')
  })

  for (const device of ['/dev/zero', '/dev/urandom']) {
    it(`stops reading a key file at its size limit: ${device}`, async () => {
      // Given a "key file" that never ends
      // When it is read as a key
      const error = await readKeyFile(device).catch((e: unknown) => e)
      // Then it is a one-line usage error naming the limit
      expect(error).toBeInstanceOf(UsageError)
      expect((error as UsageError).message).toBe(`key file ${device}: larger than 8 MiB, too large for a key file`)
    })
  }

  it('formats fingerprints the way gpg prints them', () => {
    expect(formatFingerprint('f88cfedeff29a5b4d9523864e25d9aed0593b34a')).toBe('F88C FEDE FF29 A5B4 D952  3864 E25D 9AED 0593 B34A')
  })
})
