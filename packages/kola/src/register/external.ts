import {execFile} from 'node:child_process'
import {constants} from 'node:fs'
import {access, readdir, readFile, realpath, stat, writeFile} from 'node:fs/promises'
import {basename, join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {UsageError} from '@mantle/kit'

import type {IgnitionConfig} from '../platform/ignition.js'
import type {Machine} from '../platform/platform.js'
import {diskSizeMiB, type ExternalMeta, inlineMeta, mergeMeta, parseMeta} from './external-meta.js'
import type {KolaTest, TestCluster} from './test.js'

const execFileAsync = promisify(execFile)

/** Where a test's executable and data go on the machine. */
export const REMOTE_ROOT = '/var/opt/kola/ext'
/** The reboot helper leaves the mark here (on disk: it must be read before the machine reboots). */
export const REBOOT_MARK_FILE = '/var/lib/kola/reboot-mark'
/** Ends the test's output in the one SSH command that runs it (between two ASCII record separators); the mark the test left follows. */
const MARK_WORD = 'kola-reboot-mark'
const MARK_SEPARATOR = `\u001e${MARK_WORD}\u001e`
/** A test that keeps asking for reboots fails after this many. */
const MAX_REBOOTS = 10
/** Top-level keys of Ignition spec 3.x; anything else is a config warning. */
const IGNITION_KEYS = ['ignition', 'kernelArguments', 'passwd', 'storage', 'systemd']

/**
 * autopkgtest's reboot interface (`README.package-tests`, "Reboot during a
 * test"), as kolet serves it in coreos-assembler: the test calls it with a
 * mark, kola reboots the machine and runs the test again with
 * AUTOPKGTEST_REBOOT_MARK set to that mark.
 */
export const REBOOT_HELPER = `#!/bin/sh
# kola: autopkgtest's reboot interface. Usage: /tmp/autopkgtest-reboot MARK
[ -n "$1" ] || { echo "usage: $0 MARK" >&2; exit 2; }
mkdir -p ${REBOOT_MARK_FILE.slice(0, REBOOT_MARK_FILE.lastIndexOf('/'))}
printf '%s' "$1" > ${REBOOT_MARK_FILE}
sync
# Ends the test's unit; kola reads the mark, reboots the machine and runs the test again.
systemctl kill --signal=TERM "$KOLA_UNIT"
sleep infinity
`

export interface ExternalTestsOptions {
  /** A project directory holding `tests/kola`, or a `tests/kola` tree itself. */
  dir: string
}

/**
 * Loads an external test tree in coreos-assembler's layout: every executable
 * file is a test, run on a machine with the `config.ign` and `data/` of its
 * directory and the metadata of `kola.json` and of its own inline stanza.
 * Names are `ext.<project>.<subdirectories...>.<executable>`; a directory whose
 * only executable is `test.sh` names its test without it.
 */
export async function loadExternalTests(options: ExternalTestsOptions): Promise<KolaTest[]> {
  const project = resolve(options.dir)
  let root = join(project, 'tests', 'kola')
  if (!(await isDir(root))) {
    if (!(await isDir(project)))
      throw new UsageError(`cannot read the external tests directory ${project}`, {
        hint: 'pass a project directory holding tests/kola to --exttest',
      })
    root = project
  }
  const name = basename(root === project && basename(project) === 'kola' ? resolve(project, '..', '..') : project)
  const tests: KolaTest[] = []
  await walk(root, `ext.${sanitize(name)}`, tests)
  return tests
}

async function walk(dir: string, prefix: string, out: KolaTest[]): Promise<void> {
  const entries = (await readdir(dir, {withFileTypes: true})).sort((a, b) => a.name.localeCompare(b.name))
  let baseMeta: ExternalMeta = {}
  let userData: IgnitionConfig | undefined
  let dataDir: string | undefined
  const executables: string[] = []
  for (const e of entries) {
    const path = join(dir, e.name)
    const info = await stat(path).catch(() => undefined)
    if (!info) continue
    if (info.isDirectory()) {
      if (e.name === 'data') dataDir = await realpath(path)
      else await walk(path, `${prefix}.${sanitize(e.name)}`, out)
    } else if (e.name === 'kola.json') {
      baseMeta = parseMeta(parseJson(await readFile(path, 'utf8'), path), path)
    } else if (e.name === 'config.ign') {
      userData = parseJson(await readFile(path, 'utf8'), path) as IgnitionConfig
    } else if (e.name === 'config.bu') {
      throw new UsageError(`${path}: Butane configs are not supported`, {hint: 'translate it with butane into config.ign beside it'})
    } else if (info.isFile() && (await isExecutable(path))) {
      executables.push(path)
    }
  }
  for (const exe of executables) {
    const single = executables.length === 1 && basename(exe) === 'test.sh'
    const testName = single ? prefix : `${prefix}.${sanitize(basename(exe))}`
    const head = await readHead(exe)
    const inline = head.startsWith('#!') ? await inlineMeta(head, exe) : undefined
    const meta = mergeMeta(baseMeta, inline ?? {})
    out.push(externalTest({name: testName, exe, dataDir, userData, meta, source: exe}))
  }
}

interface ExternalSpec {
  name: string
  exe: string
  dataDir?: string | undefined
  userData?: IgnitionConfig | undefined
  meta: ExternalMeta
  source: string
}

/** The test record of one executable. */
export function externalTest(spec: ExternalSpec): KolaTest {
  const {meta} = spec
  const warnings = spec.userData ? configWarnings(spec.userData) : []
  const test: KolaTest = {
    name: spec.name,
    description: meta.description ?? `runs ${spec.source} on a machine`,
    clusterSize: 1,
    userData: spec.userData,
    platforms: meta.platforms?.only,
    excludePlatforms: meta.platforms?.exclude,
    distros: meta.distros?.only,
    excludeDistros: meta.distros?.exclude,
    architectures: meta.architectures?.only,
    excludeArchitectures: meta.architectures?.exclude,
    tags: meta.tags,
    requiredTag: meta.requiredTag,
    timeoutMs: meta.timeoutMin ? Math.round(meta.timeoutMin * 60_000) : undefined,
    exclusive: meta.exclusive ?? true,
    conflicts: meta.conflicts,
    creationDate: meta.creationDate,
    allowConfigWarnings: meta.allowConfigWarnings,
    flags: meta.tags?.includes('skip-base-checks') ? ['NoEmergencyShellCheck'] : undefined,
    machine: {
      minMemoryMiB: meta.minMemory,
      minDiskGiB: meta.minDisk,
      additionalDisksMiB: meta.additionalDisks?.map((d) => diskSizeMiB(d, spec.source)),
      additionalNics: meta.additionalNics,
      appendKernelArgs: meta.appendKernelArgs,
    },
    run: async (c) => {
      if (warnings.length > 0 && !meta.allowConfigWarnings)
        c.fatal(`config.ign has warnings: ${warnings.join('; ')} (set "allowConfigWarnings": true to accept them)`)
      for (const w of warnings) c.log(`config.ign warning: ${w}`)
      const [m] = c.machines
      if (!m) return c.fatal('no machine')
      await runOnMachine(c, m, spec)
    },
  }
  if (meta.tags?.includes('needs-internet')) test.flags = [...(test.flags ?? []), 'RequiresInternetAccess']
  return test
}

/** Warnings a config earns without being invalid: keys Ignition 3.x does not know (Ignition ignores them). */
export function configWarnings(config: IgnitionConfig): string[] {
  const unknown = Object.keys(config).filter((k) => !IGNITION_KEYS.includes(k))
  return unknown.map((k) => `unused key ${k}`)
}

/**
 * Copies the executable and data/ to the machine, then runs it as a systemd
 * unit until it ends without asking for a reboot. Each run is one SSH command
 * and one sudo: on an emulated CPU every round trip and every sudo costs
 * hundreds of milliseconds, and a shared machine runs many tests.
 */
async function runOnMachine(c: TestCluster, m: Machine, spec: ExternalSpec): Promise<void> {
  const dir = `${REMOTE_ROOT}/${spec.name}`
  const exeName = basename(spec.exe)
  const tarball = await packTest(spec)
  const unitBase = `kola-ext-${spec.name.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 200)
  const transcript: string[] = []
  let mark: string | undefined
  for (let run = 0; ; run++) {
    const unit = `${unitBase}-${run}.service`
    const env: Record<string, string> = {KOLA_EXT_DATA: `${dir}/data`, KOLA_TEST: spec.name, KOLA_TEST_EXE: exeName, KOLA_UNIT: unit}
    if (mark !== undefined) env.AUTOPKGTEST_REBOOT_MARK = mark
    const setenv = Object.entries(env).map(([k, v]) => `--setenv=${k}=${shellQuote(v)}`)
    const script = [
      // The first run unpacks the test; after a reboot only the helper in /tmp is gone.
      ...(run === 0 ? [unpackScript(dir, spec)] : []),
      `cat > /tmp/autopkgtest-reboot <<'KOLA_REBOOT_HELPER'\n${REBOOT_HELPER}KOLA_REBOOT_HELPER`,
      'chmod 0755 /tmp/autopkgtest-reboot',
      `rm -f ${REBOOT_MARK_FILE}`,
      [
        `systemd-run --quiet --wait --pipe --collect --unit=${unit} -p WorkingDirectory=${dir}`,
        ...setenv,
        `-- ${shellQuote(`${dir}/${exeName}`)} </dev/null`,
      ].join(' '),
      'rc=$?',
      // The mark the test left (if any) follows the test's own output after a separator it cannot print by chance.
      `printf '\\036${MARK_WORD}\\036'`,
      `cat ${REBOOT_MARK_FILE} 2>/dev/null && rm -f ${REBOOT_MARK_FILE}`,
      'exit $rc',
    ].join('\n')
    const result = await m.ssh(`sudo sh -c ${shellQuote(script)}`, {signal: c.signal, ...(run === 0 ? {stdin: tarball} : {})})
    const at = result.stdout.lastIndexOf(MARK_SEPARATOR)
    if (at < 0) {
      const why = result.stderr.trim() || result.stdout.trim()
      c.fatal(`cannot run ${exeName} on ${m.id} (exit ${result.code})${why ? `: ${why}` : ''}`)
    }
    const stdout = result.stdout.slice(0, at)
    const asked = result.stdout.slice(at + MARK_SEPARATOR.length).trim()
    const header = mark === undefined ? `## ${exeName}` : `## ${exeName} (AUTOPKGTEST_REBOOT_MARK=${mark})`
    transcript.push(header, '### stdout', stdout, '### stderr', result.stderr)
    for (const line of `${stdout}${result.stderr}`.split('\n')) if (line) c.log(line)
    await writeFile(join(c.h.outputDir(), 'ext-output.txt'), transcript.join('\n') + '\n')
    if (!asked) {
      if (result.code !== 0) c.fatal(`${exeName} exited ${result.code}${mark === undefined ? '' : ` (after reboot mark ${mark})`}`)
      return
    }
    if (run >= MAX_REBOOTS) c.fatal(`${exeName} asked for more than ${MAX_REBOOTS} reboots`)
    mark = asked
    c.log(`kola: rebooting for mark ${mark}`)
    await m.reboot()
  }
}

/** The executable and data/ as a tarball (-h: data/ may be a symlink, and so may files inside it). */
async function packTest(spec: ExternalSpec): Promise<Buffer> {
  const items = [['-C', resolve(spec.exe, '..'), basename(spec.exe)]]
  if (spec.dataDir) items.push(['-C', resolve(spec.dataDir, '..'), basename(spec.dataDir)])
  const {stdout} = await execFileAsync('tar', ['-ch', ...items.flat()], {encoding: 'buffer', maxBuffer: 1 << 30})
  return stdout
}

/** Shell lines that unpack the tarball on stdin into the test's directory, exiting before the test runs if they cannot. */
function unpackScript(dir: string, spec: ExternalSpec): string {
  const data = spec.dataDir && basename(spec.dataDir) !== 'data' ? ` && mv ${dir}/${shellQuote(basename(spec.dataDir))} ${dir}/data` : ''
  return `{ rm -rf ${dir} && mkdir -p ${dir} && tar -x -C ${dir}${data}; } || exit $?`
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9_.-]/g, '-')
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${source}: not valid JSON: ${(error as Error).message}`)
  }
}

/** The first 64 KiB: enough for a shebang and a metadata stanza, without reading a binary whole. */
async function readHead(path: string): Promise<string> {
  const text = (await readFile(path)).subarray(0, 65536)
  return text.includes(0) ? '' : text.toString('utf8')
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  )
}
