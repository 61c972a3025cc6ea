import {mkdir, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {
  describeKey,
  embeddedKeyDirectory,
  formatFingerprint,
  Keyring,
  normalizeFingerprint,
  readKeyDirectory,
  readKeyFile,
  UsageError,
  type KeyInfo,
  type KeyringEntry,
} from '@mantle/kit'

/**
 * The user's keyring: one armored public key per file, named by fingerprint
 * (`<FINGERPRINT>.asc`), so that a key can be found, refreshed and removed
 * by its fingerprint, and the directory can be inspected with gpg.
 */

export interface ImportOptions {
  files: readonly string[]
  directory: string
  /** Refuse the import unless each key's fingerprint is one of these (what the publisher announced). */
  expectFingerprints?: readonly string[] | undefined
}

export interface ImportedKey {
  fingerprint: string
  userIds: string[]
  /** added: new to the keyring; updated: merged into the copy there (new subkeys, expiry, revocations). */
  status: 'added' | 'updated'
  file: string
}

export async function importKeys(options: ImportOptions): Promise<ImportedKey[]> {
  const incoming: KeyringEntry[] = []
  for (const file of options.files) incoming.push(...(await readKeyFile(file)))
  const expected = new Set((options.expectFingerprints ?? []).map(normalizeFingerprint))
  for (const f of expected)
    if (!/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(f))
      throw new UsageError(`--fingerprint ${f}: not a full fingerprint (40 or 64 hex digits)`, {
        hint: 'copy it from the publisher, spaces allowed',
      })
  if (expected.size > 0) {
    const unexpected = incoming.filter((e) => !expected.has(e.key.getFingerprint().toUpperCase()))
    if (unexpected.length > 0) {
      const got = unexpected.map((e) => formatFingerprint(e.key.getFingerprint())).join(', ')
      throw new UsageError(
        `key fingerprint ${got} is not the expected ${[...expected].map(formatFingerprint).join(', ')}: nothing imported`,
        {
          hint: 'check that the key file is the one the publisher announced',
        },
      )
    }
  }
  const existing = await userKeys(options.directory)
  await mkdir(options.directory, {recursive: true, mode: 0o700})
  const imported: ImportedKey[] = []
  // Copies of one key inside the imported files are merged first.
  for (const {key} of (await Keyring.of(incoming)).entries) {
    const fingerprint = key.getFingerprint().toUpperCase()
    const previous = existing.get(fingerprint)
    const merged = previous ? await previous.key.update(key) : key
    const file = join(options.directory, `${fingerprint}.asc`)
    const tmp = `${file}.tmp-${process.pid}`
    await writeFile(tmp, merged.armor(), {mode: 0o644})
    await rename(tmp, file)
    imported.push({fingerprint, userIds: merged.getUserIDs(), status: previous ? 'updated' : 'added', file})
  }
  return imported
}

export interface ListOptions {
  userDirectory: string
  /** Overrides the embedded keys directory (tests). */
  embeddedDirectory?: string | undefined
  now?: Date | undefined
}

/** Every key the default keyring holds: the embedded ones and the user's, each with its source. */
export async function listKeys(options: ListOptions): Promise<KeyInfo[]> {
  const entries = [
    ...(await readKeyDirectory(options.embeddedDirectory ?? embeddedKeyDirectory(), 'embedded')),
    ...(await readKeyDirectory(options.userDirectory, 'user')),
  ]
  const keyring = await Keyring.of(entries)
  const infos: KeyInfo[] = []
  for (const entry of keyring.entries) infos.push(await describeKey(entry, options.now))
  return infos
}

export interface RemoveOptions {
  /** Fingerprints or (long, 16 hex digits) key IDs. */
  ids: readonly string[]
  directory: string
  embeddedDirectory?: string | undefined
}

export async function removeKeys(options: RemoveOptions): Promise<{fingerprint: string; file: string}[]> {
  const keys = await userKeys(options.directory)
  const removed: {fingerprint: string; file: string}[] = []
  for (const raw of options.ids) {
    const id = normalizeFingerprint(raw)
    if (!/^[0-9A-F]{16,}$/.test(id))
      throw new UsageError(`"${raw}" is not a fingerprint or a 16-digit key ID`, {hint: 'copy it from `gangue keys list`'})
    const matches = [...keys.entries()].filter(([fingerprint, e]) => fingerprint === id || e.key.getKeyID().toHex().toUpperCase() === id)
    if (matches.length === 0) {
      const embedded = await readKeyDirectory(options.embeddedDirectory ?? embeddedKeyDirectory(), 'embedded')
      const isEmbedded = embedded.some((e) => e.key.getFingerprint().toUpperCase() === id || e.key.getKeyID().toHex().toUpperCase() === id)
      throw new UsageError(
        isEmbedded
          ? `key ${raw} is an embedded key, not one of your keyring's`
          : `key ${raw} is not in your keyring (${options.directory})`,
        {
          hint: isEmbedded
            ? 'embedded keys ship with the tools; pass --verify-key FILE to trust only the keys you name'
            : 'see `gangue keys list`',
        },
      )
    }
    for (const [fingerprint, entry] of matches) {
      for (const file of entry.files) {
        await rm(file, {force: true})
        removed.push({fingerprint, file})
      }
      keys.delete(fingerprint)
    }
  }
  return removed
}

/** The user's keys by fingerprint, with the files that hold them (normally one, `<FINGERPRINT>.asc`). */
async function userKeys(directory: string): Promise<Map<string, {key: KeyringEntry['key']; files: string[]}>> {
  const byFingerprint = new Map<string, {key: KeyringEntry['key']; files: string[]}>()
  for (const entry of await readKeyDirectory(directory, 'user')) {
    const fingerprint = entry.key.getFingerprint().toUpperCase()
    const file = join(directory, entry.source.replace(/^user:/, ''))
    const previous = byFingerprint.get(fingerprint)
    byFingerprint.set(
      fingerprint,
      previous ? {key: await previous.key.update(entry.key), files: [...previous.files, file]} : {key: entry.key, files: [file]},
    )
  }
  return byFingerprint
}
