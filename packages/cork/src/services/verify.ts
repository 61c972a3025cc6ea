import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {InfraError, UsageError} from '@mantle/kit/errors'

/**
 * `repo` manifests and the checkouts they name. The original cork checked
 * each project's HEAD against the manifest after `repo sync`; ours checks any
 * set of git checkouts laid out by a manifest: each at its pinned commit, with
 * nothing modified or untracked.
 */

export interface ManifestProject {
  name: string
  /** Relative to the checkout root. */
  path: string
  revision: string
}

const SHA = /^[0-9a-f]{40}$/i

/** `.repo/manifests/<name>` when named; else the manifest repo reads, `.repo/manifest.xml`, else `.repo/manifests/default.xml`. */
export function manifestPath(root: string, name?: string | undefined): string {
  if (name) return join(root, '.repo', 'manifests', name)
  const active = join(root, '.repo', 'manifest.xml')
  return existsSync(active) ? active : join(root, '.repo', 'manifests', 'default.xml')
}

/** The projects of a manifest, with `<include>`s followed and `<remove-project>`s applied. */
export async function readManifest(file: string): Promise<ManifestProject[]> {
  const {XMLParser} = await import('fast-xml-parser')
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  })
  const projects = new Map<string, ManifestProject>()
  let defaultRevision: string | undefined
  const includesDir = join(dirname(file), existsSync(join(dirname(file), 'manifests')) ? 'manifests' : '')

  const visit = async (path: string, depth: number): Promise<void> => {
    if (depth > 10) throw new UsageError(`${file}: <include> nests too deep (a cycle?)`)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read the manifest ${path}: ${(error as Error).message}`, {hint: 'pass --manifest FILE'})
    }
    let doc: Record<string, unknown>
    try {
      doc = parser.parse(text, true) as Record<string, unknown>
    } catch (error) {
      throw new UsageError(`${path} is not valid XML: ${(error as Error).message.split('\n')[0]}`)
    }
    const manifest = (doc.manifest as Array<Record<string, Array<Record<string, string>>>> | undefined)?.[0]
    if (!manifest) throw new UsageError(`${path} has no <manifest> element`)
    for (const d of manifest.default ?? []) if (d.revision) defaultRevision = d.revision
    for (const inc of manifest.include ?? []) if (inc.name) await visit(resolve(includesDir, inc.name), depth + 1)
    for (const p of manifest.project ?? []) {
      if (!p.name) throw new UsageError(`${path}: a <project> has no name`)
      projects.set(p.name, {name: p.name, path: p.path ?? p.name, revision: p.revision ?? ''})
    }
    for (const r of manifest['remove-project'] ?? []) if (r.name) projects.delete(r.name)
  }
  await visit(file, 0)
  return [...projects.values()].map((p) => ({...p, revision: p.revision || defaultRevision || ''}))
}

export interface ProjectCheck {
  name: string
  path: string
  revision: string
  head?: string | undefined
  ok: boolean
  problems: string[]
}

export interface VerifyResult {
  manifest: string
  ok: boolean
  projects: ProjectCheck[]
}

export interface VerifyOptions {
  root: string
  manifest: string
  /** Parallel git processes. */
  concurrency?: number
  signal?: AbortSignal | undefined
}

/** Checks every project of the manifest; never throws for a failed check (the result says), only for bad input. */
export async function verifyCheckouts(options: VerifyOptions): Promise<VerifyResult> {
  const projects = await readManifest(options.manifest)
  if (projects.length === 0) throw new UsageError(`${options.manifest} names no project`)
  const results: ProjectCheck[] = new Array(projects.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < projects.length; i = next++) results[i] = await checkProject(options.root, projects[i]!, options.signal)
  }
  await Promise.all(Array.from({length: Math.min(options.concurrency ?? 4, projects.length)}, worker))
  return {manifest: options.manifest, ok: results.every((r) => r.ok), projects: results}
}

async function checkProject(root: string, project: ManifestProject, signal?: AbortSignal): Promise<ProjectCheck> {
  const dir = resolve(root, project.path)
  const check: ProjectCheck = {...project, ok: false, problems: []}
  if (!existsSync(join(dir, '.git'))) {
    check.problems.push(`no git checkout at ${project.path}`)
    return check
  }
  check.head = (await git(dir, ['rev-parse', '--verify', 'HEAD^{commit}'], signal))?.trim()
  if (!check.head) check.problems.push('HEAD is not a commit')
  const pinned = await pinnedCommit(dir, project.revision, signal)
  if (!pinned) {
    check.problems.push(
      project.revision ? `revision ${project.revision} is not a commit this checkout knows` : 'the manifest pins no revision',
    )
  } else if (check.head && pinned !== check.head) {
    check.problems.push(`HEAD is ${check.head.slice(0, 12)}, the manifest pins ${pinned.slice(0, 12)}`)
  }
  const status = await git(dir, ['status', '--porcelain', '--ignore-submodules=none'], signal)
  if (status === undefined) check.problems.push('git status failed')
  else if (status.trim() !== '') {
    const lines = status.trim().split('\n')
    check.problems.push(
      `not clean: ${lines.length} changed or untracked path${lines.length === 1 ? '' : 's'} (${lines[0]!.trim()}${lines.length > 1 ? ', ...' : ''})`,
    )
  }
  check.ok = check.problems.length === 0
  return check
}

/** A full SHA as is; a tag or branch through what the checkout has of it. */
async function pinnedCommit(dir: string, revision: string, signal?: AbortSignal): Promise<string | undefined> {
  if (!revision) return undefined
  if (SHA.test(revision)) return revision.toLowerCase()
  for (const candidate of [
    revision,
    `refs/tags/${revision.replace(/^refs\/tags\//, '')}`,
    `refs/remotes/m/${revision.replace(/^refs\/heads\//, '')}`,
  ]) {
    const sha = (await git(dir, ['rev-parse', '--verify', '-q', `${candidate}^{commit}`], signal))?.trim()
    if (sha) return sha
  }
  return undefined
}

/** stdout of a git command, or undefined when it fails. */
async function git(dir: string, args: string[], signal?: AbortSignal): Promise<string | undefined> {
  try {
    const {stdout} = await promisify(execFile)('git', ['-C', dir, ...args], {signal, maxBuffer: 64 << 20})
    return stdout
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(dir)) return undefined
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InfraError('git is not installed', {hint: 'install git', cause: error})
    if (signal?.aborted) throw signal.reason
    return undefined
  }
}
