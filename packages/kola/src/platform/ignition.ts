import {UsageError} from '@mantle/kit'

import type {Distro} from './distro.js'

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

/** The distro facts toIgnition needs. */
export type IgnitionDialect = Pick<Distro, 'name' | 'ignitionVersion' | 'ignitionMajors'>

const DEFAULT_DIALECT: IgnitionDialect = {name: 'test', ignitionVersion: IGNITION_VERSION, ignitionMajors: [3]}

/**
 * Parses a test's or user's userData; absent means an empty config of the
 * distro's spec version. Never mutates its input. A config of a spec major
 * version the distro's Ignition does not read is refused (Flatcar reads 2.x
 * and 3.x, the others 3.x).
 */
export function toIgnition(userData: IgnitionConfig | string | undefined, dialect: IgnitionDialect = DEFAULT_DIALECT): IgnitionConfig {
  if (userData === undefined || (typeof userData === 'string' && userData.trim() === ''))
    return {ignition: {version: dialect.ignitionVersion}}
  let config: unknown
  if (typeof userData === 'string') {
    try {
      config = JSON.parse(userData)
    } catch {
      throw new UsageError('userData is not an Ignition config (JSON)', {
        hint: 'the QEMU platform boots images configured by Ignition; cloud-config is not supported',
      })
    }
  } else config = structuredClone(userData)
  const version = (config as IgnitionConfig | null)?.ignition?.version
  const major = typeof version === 'string' ? Number(version.split('.')[0]) : Number.NaN
  if (!dialect.ignitionMajors.includes(major)) {
    throw new UsageError(`unsupported Ignition config version ${JSON.stringify(version)} for ${dialect.name}`, {
      hint: `write a spec ${dialect.ignitionMajors.map((m) => `${m}.x`).join(' or ')} config ({"ignition": {"version": "${dialect.ignitionVersion}"}, ...})`,
    })
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
  // Spec 2.x names the file system and has no `overwrite`.
  const file: IgnitionFile = out.ignition.version.startsWith('2.')
    ? {filesystem: 'root', path, mode, contents: {source: dataUrl(text)}}
    : {path, mode, overwrite: true, contents: {source: dataUrl(text)}}
  out.storage.files = [...(out.storage.files ?? []).filter((f) => f.path !== path), file]
  return out
}

export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`
}
