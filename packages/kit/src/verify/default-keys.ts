import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {loadKeyring, type Keyring} from './keyring.js'

/**
 * The keys shipped with the tools live as armored files in `src/verify/keys/`
 * (see the README there), not in code: adding or refreshing a publisher's key
 * is dropping a file in, without a code change. tsc does not copy them, so
 * from `dist/verify/` the directory is found back in `src/`.
 */
export function embeddedKeyDirectory(): string {
  const candidates = [new URL('./keys/', import.meta.url), new URL('../../src/verify/keys/', import.meta.url)]
  const found = candidates.find((url) => existsSync(url)) ?? candidates[0]!
  return fileURLToPath(found)
}

/** The user's keyring: `$XDG_CONFIG_HOME/mantle/keyring`, else `~/.config/mantle/keyring`. */
export function userKeyDirectory(env: NodeJS.ProcessEnv, home: string): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : `${home}/.config`
  return `${config}/mantle/keyring`
}

export interface DefaultKeyringOptions {
  /** The user's keyring directory (from `userKeyDirectory`). */
  userDirectory?: string | undefined
  /** Overrides the embedded directory (tests). */
  embeddedDirectory?: string | undefined
}

/** The embedded keys plus the keys the user imported. */
export function loadDefaultKeyring(options: DefaultKeyringOptions = {}): Promise<Keyring> {
  const directories = [{dir: options.embeddedDirectory ?? embeddedKeyDirectory(), label: 'embedded'}]
  if (options.userDirectory) directories.push({dir: options.userDirectory, label: 'user'})
  return loadKeyring({directories})
}

export interface KeyringChoice {
  /** Key files given explicitly (--verify-key): when any, they are the only keys trusted. */
  keyFiles?: readonly string[] | undefined
  /** The user's keyring directory (from `userKeyDirectory`), used with the embedded keys otherwise. */
  userDirectory: string
  embeddedDirectory?: string | undefined
}

/** The keyring a verifying command uses: the keys given explicitly, else the embedded keys plus the user's. */
export function chooseKeyring(choice: KeyringChoice): Promise<Keyring> {
  if (choice.keyFiles && choice.keyFiles.length > 0) return loadKeyring({files: choice.keyFiles})
  return loadDefaultKeyring({userDirectory: choice.userDirectory, embeddedDirectory: choice.embeddedDirectory})
}
