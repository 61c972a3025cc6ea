import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {UsageError} from '@mantle/kit/errors'

/**
 * Where a checkout keeps what cork reads, and the names cork derives from it:
 * versions from `version.txt`, the board, the SDK tarball's file name and URL,
 * the image tag and the container name. Pure functions of the files and the
 * options: no engine, no network.
 */

export const VERSION_FILES = ['.repo/manifests/version.txt', 'sdk_container/.repo/manifests/version.txt'] as const
export const SOURCE_MOUNT = '/mnt/host/source'
export const BUILD_MOUNT = '/mnt/host/source/src/build'

export interface Versions {
  /** `flatcar` or `coreos`: the prefix of the keys in version.txt, lower case. */
  name: string
  os: string
  sdk: string
  /** The version file read, when there was one. */
  file?: string | undefined
}

/** Parses shell-style `KEY=value` lines (values optionally quoted); comments and blank lines ignored. */
export function parseShellVars(text: string): Map<string, string> {
  const vars = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (!m) continue
    let value = m[2]!.trim()
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1)
    vars.set(m[1]!, value)
  }
  return vars
}

/** The versions a version.txt names, for either spelling (`COREOS_...` or `FLATCAR_...`). */
export function versionsFromFile(text: string, file: string): Versions {
  const vars = parseShellVars(text)
  for (const prefix of ['FLATCAR', 'COREOS']) {
    const os = vars.get(`${prefix}_VERSION`)
    const sdk = vars.get(`${prefix}_SDK_VERSION`)
    if (os === undefined && sdk === undefined) continue
    if (!os || !sdk) {
      throw new UsageError(`${file} has no ${prefix}_${os ? 'SDK_VERSION' : 'VERSION'}`, {
        hint: 'pass --sdk-version, or fix the version file',
      })
    }
    return {name: prefix.toLowerCase(), os, sdk, file}
  }
  throw new UsageError(`${file} names neither FLATCAR_ nor COREOS_ versions`, {hint: 'pass --sdk-version, or fix the version file'})
}

/** The checkout root: the nearest directory at or above `start` that holds a version file. */
export function findRoot(start: string): string | undefined {
  let dir = resolve(start)
  for (;;) {
    if (VERSION_FILES.some((f) => existsSync(join(dir, f)))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

export interface ResolveOptions {
  /** The checkout root; found from `cwd` when absent. */
  root?: string | undefined
  cwd: string
  sdkVersion?: string | undefined
  osVersion?: string | undefined
  /** `flatcar` or `coreos`; from version.txt, else flatcar. */
  name?: string | undefined
  board?: string | undefined
}

export interface SdkLayout {
  root: string
  versions: Versions
  board: string
  arch: string
}

/** Reads the checkout's versions and board, with the options taking precedence. */
export async function resolveLayout(options: ResolveOptions): Promise<SdkLayout> {
  const root = resolve(options.root ?? findRoot(options.cwd) ?? options.cwd)
  let fromFile: Versions | undefined
  for (const f of VERSION_FILES) {
    const path = join(root, f)
    const text = readSmallFile(path)
    if (text !== undefined) {
      fromFile = versionsFromFile(text, path)
      break
    }
  }
  const sdk = options.sdkVersion ?? fromFile?.sdk
  if (!sdk) {
    throw new UsageError(`no version file in ${root} (${VERSION_FILES.join(' or ')})`, {
      hint: 'run cork in a checkout, pass --root, or pass --sdk-version',
    })
  }
  // Without a version file the OS version is the SDK's: release SDKs build the OS release of the same number.
  const os = options.osVersion ?? fromFile?.os ?? sdk
  const name = options.name ?? fromFile?.name ?? 'flatcar'
  const versions: Versions = {name, os, sdk, file: fromFile?.file}
  for (const [what, v] of [
    ['SDK version', sdk],
    ['OS version', os],
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(v))
      throw new UsageError(`invalid ${what} ${JSON.stringify(v)}`, {hint: 'versions look like 3033.2.0 or 3033.2.0+nightly-1'})
  }
  const board = options.board ?? (readSmallFile(join(root, 'src/scripts/.default_board'))?.trim() || `${hostArch()}-usr`)
  return {root, versions, board, arch: archOfBoard(board)}
}

/**
 * A few bytes, read synchronously: on `cork enter`'s path a thread-pool round
 * trip per file costs more than the read. Undefined when the file is missing.
 */
function readSmallFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined
    throw new UsageError(`cannot read ${path}: ${e.message}`)
  }
}

export function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch
}

/** `amd64-usr` → `amd64`. */
export function archOfBoard(board: string): string {
  return board.replace(/-usr$/, '')
}

/** Engine names allow `[a-zA-Z0-9_.-]`; versions may carry `+build` metadata. */
function safe(version: string): string {
  return version.replace(/\+/g, '-')
}

export function sdkTarballName(name: string, arch: string, sdkVersion: string): string {
  return `${name}-sdk-${arch}-${sdkVersion}.tar.bz2`
}

/** `<name>-sdk-<arch>:<sdk version>` (image references are lower case). */
export function imageRef(name: string, arch: string, sdkVersion: string): {repo: string; tag: string; ref: string} {
  const repo = `${name}-sdk-${arch}`.toLowerCase()
  const tag = safe(sdkVersion)
  return {repo, tag, ref: `${repo}:${tag}`}
}

/** `<name>-sdk-<arch>-<sdk version>_os-<os version>`. */
export function containerName(name: string, arch: string, sdkVersion: string, osVersion: string): string {
  return `${name}-sdk-${arch}-${safe(sdkVersion)}_os-${safe(osVersion)}`
}

/** The container of a layout: the one `--chroot` names, else the one named after the versions. */
export function sdkContainerName(layout: SdkLayout, chroot?: string): string {
  return chroot ?? containerName(layout.versions.name, layout.arch, layout.versions.sdk, layout.versions.os)
}

/** A `--chroot` name, checked against what engines accept as a container name. */
export function checkChrootName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]+$/.test(name)) {
    throw new UsageError(`invalid --chroot ${JSON.stringify(name)}`, {
      hint: 'a container name: two or more of letters, digits, _ . -, starting with a letter or digit',
    })
  }
  return name
}

/** A base URL as given to --sdk-url: one without a scheme (and not a path) is an https host, as in the original. */
export function sdkBaseUrl(base: string): string {
  const b = base.replace(/\/+$/, '')
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(b) || b.startsWith('/') || b.startsWith('.') ? b : `https://${b}`
}

/** `<base>/<path>/<arch>/<version>/<tarball>`. */
export function sdkUrl(base: string, path: string, arch: string, sdkVersion: string, tarball: string): string {
  const p = path.replace(/^\/+|\/+$/g, '')
  return [sdkBaseUrl(base), p, arch, sdkVersion, tarball].filter((s) => s !== '').join('/')
}

/** Where the checkout caches SDK tarballs. */
export function sdkCacheDir(root: string): string {
  return join(root, '.cache', 'sdks')
}

/** The path inside the container that corresponds to `cwd` on the host, when `cwd` is in the checkout. */
export function containerWorkdir(root: string, cwd: string): string {
  const r = resolve(root)
  const c = resolve(cwd)
  if (c === r) return SOURCE_MOUNT
  if (c.startsWith(r + '/')) return SOURCE_MOUNT + c.slice(r.length)
  return SOURCE_MOUNT
}
