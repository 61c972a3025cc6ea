import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {UsageError} from '@mantle/kit'

import {MiB, readLimited} from './read-limited.js'

/** A known sign of a broken machine in its console or journal. */
export interface Signature {
  description: string
  pattern: RegExp
}

export const FAILURE_SIGNATURES: readonly Signature[] = [
  {
    description: 'emergency shell',
    pattern:
      /You are in emergency mode|Starting (?:emergency\.service - )?Emergency Shell|Press Enter for maintenance|Entering emergency mode/,
  },
  {description: 'kernel panic', pattern: /Kernel panic - not syncing: [^\n]*/},
  {description: 'kernel oops', pattern: /\bOops: [^\n]*|BUG: unable to handle [^\n]*/},
  {description: 'kernel warning', pattern: /WARNING: CPU: \d+ PID: \d+ at [^\n]*/},
  {description: 'SIGSEGV', pattern: /\S+\[\d+\]: segfault at [^\n]*|code=dumped, status=11\/SEGV/},
  {description: 'core dump', pattern: /Process \d+ \([^)]*\) of user \d+ dumped core|systemd-coredump\[\d+\]: [^\n]*dumped core/},
  {description: 'systemd ordering cycle', pattern: /Ordering cycle found[^\n]*/},
  {description: 'I/O to an offline disk', pattern: /rejecting I\/O to offline device/},
]

export interface SignatureHit {
  description: string
  /** The matching text. */
  match: string
  /** Where it was seen: a file, or "console" / "journal" of a machine. */
  source: string
}

export function scanText(text: string, source: string, signatures: readonly Signature[] = FAILURE_SIGNATURES): SignatureHit[] {
  const hits: SignatureHit[] = []
  for (const s of signatures) {
    const m = s.pattern.exec(text)
    if (m) hits.push({description: s.description, match: m[0].trim().slice(0, 200), source})
  }
  return hits
}

/** The most of one console log `check-console` reads: a day of a chatty serial console is a few MiB. */
export const CONSOLE_LOG_LIMIT = 64 * MiB

export interface CheckConsoleOptions {
  /** Files to scan, or directories searched for console.txt files. */
  paths: readonly string[]
}

export interface CheckConsoleResult {
  scanned: string[]
  hits: SignatureHit[]
}

/** `kola check-console`: scans console logs (console.txt under directories, or given files) for failure signatures. */
export async function checkConsole(options: CheckConsoleOptions): Promise<CheckConsoleResult> {
  const files: string[] = []
  for (const p of options.paths) files.push(...(await consoleFiles(p)))
  const hits: SignatureHit[] = []
  for (const f of files)
    hits.push(...scanText(await readLimited(f, CONSOLE_LOG_LIMIT, 'console log', 'pass console.txt files or a run output directory'), f))
  return {scanned: files, hits}
}

/** Console and journal files of every machine under a test's output directory, including machines that never came up. */
export async function scanMachineLogs(dir: string): Promise<SignatureHit[]> {
  const entries = await readdir(dir, {withFileTypes: true, recursive: true}).catch(() => [])
  const hits: SignatureHit[] = []
  for (const e of entries) {
    if (!e.isFile() || (e.name !== 'console.txt' && e.name !== 'journal.txt')) continue
    const file = join(e.parentPath, e.name)
    for (const hit of scanText(await readFile(file, 'utf8').catch(() => ''), file)) {
      // The kernel's messages reach both files: report each finding once per machine.
      if (!hits.some((h) => h.description === hit.description && dirOf(h.source) === dirOf(file))) hits.push(hit)
    }
  }
  return hits
}

function dirOf(file: string): string {
  return file.slice(0, file.lastIndexOf('/'))
}

async function consoleFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined)
  if (!info) throw new UsageError(`no such file or directory: ${path}`, {hint: 'pass console.txt files or a run output directory'})
  if (!info.isDirectory()) return [path]
  const entries = await readdir(path, {withFileTypes: true, recursive: true})
  return entries
    .filter((e) => e.isFile() && e.name === 'console.txt')
    .map((e) => join(e.parentPath, e.name))
    .sort()
}
