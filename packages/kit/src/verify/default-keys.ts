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
