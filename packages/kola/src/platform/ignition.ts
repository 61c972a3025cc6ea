import {UsageError} from '@mantle/kit'

/** An Ignition config, spec 3.x. Only the parts kola edits are typed. */
export interface IgnitionConfig {
  ignition: {version: string; [key: string]: unknown}
  passwd?: {users?: IgnitionUser[]; [key: string]: unknown}
  storage?: {files?: IgnitionFile[]; [key: string]: unknown}
  systemd?: {units?: Array<{name: string; enabled?: boolean; contents?: string; [key: string]: unknown}>}
  [key: string]: unknown
}

export interface IgnitionUser {
  name: string
  sshAuthorizedKeys?: string[]
  groups?: string[]
  [key: string]: unknown
}

export interface IgnitionFile {
  path: string
  contents?: {source?: string; [key: string]: unknown}
  mode?: number
  overwrite?: boolean
  [key: string]: unknown
}

/** The newest spec Debian's Ignition 2.14 accepts as stable. */
export const IGNITION_VERSION = '3.3.0'

/** Parses a test's or user's userData; absent means an empty config. Never mutates its input. */
export function toIgnition(userData: IgnitionConfig | string | undefined): IgnitionConfig {
  if (userData === undefined || (typeof userData === 'string' && userData.trim() === '')) return {ignition: {version: IGNITION_VERSION}}
  let config: unknown
  if (typeof userData === 'string') {
    try {
      config = JSON.parse(userData)
    } catch {
      throw new UsageError('userData is not an Ignition config (JSON)', {hint: 'the QEMU platform boots images configured by Ignition; cloud-config is not supported'})
    }
  } else config = structuredClone(userData)
  const version = (config as IgnitionConfig | null)?.ignition?.version
  if (typeof version !== 'string' || !version.startsWith('3.')) {
    throw new UsageError(`unsupported Ignition config version ${JSON.stringify(version)}`, {hint: 'write a spec 3.x config ({"ignition": {"version": "3.3.0"}, ...})'})
  }
  return config as IgnitionConfig
}

/** Adds an SSH key to a user, creating the user entry when absent. */
export function addSshKey(config: IgnitionConfig, user: string, publicKey: string): IgnitionConfig {
  const out = structuredClone(config)
  out.passwd ??= {}
  out.passwd.users ??= []
  let entry = out.passwd.users.find((u) => u.name === user)
  if (!entry) {
    entry = {name: user}
    out.passwd.users.push(entry)
  }
  entry.sshAuthorizedKeys = [...(entry.sshAuthorizedKeys ?? []), publicKey]
  return out
}

/** Adds a file with the given text (a data URL), replacing an entry for the same path. */
export function addFile(config: IgnitionConfig, path: string, text: string, mode = 0o644): IgnitionConfig {
  const out = structuredClone(config)
  out.storage ??= {}
  out.storage.files = [...(out.storage.files ?? []).filter((f) => f.path !== path), {path, mode, overwrite: true, contents: {source: dataUrl(text)}}]
  return out
}

export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`
}
