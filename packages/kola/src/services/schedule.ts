import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'

import {CheckFailedError, InfraError, type Logger} from '@mantle/kit'

import {type MachinePlan, planMachines} from '../harness/buckets.js'
import {globToRegExp} from '../harness/glob.js'
import type {H, TestRecord} from '../harness/h.js'
import type {SuiteTest} from '../harness/suite.js'
import type {Cluster, ClusterOptions, Flight, Machine, MachineOptions} from '../platform/platform.js'
import type {DenyRule} from '../register/select.js'
import {type KolaTest, type MachineNeeds, TestCluster} from '../register/test.js'
import {scanMachineLogs, scanText, type SignatureHit} from './signatures.js'
import {sshLine, writeConnectionFiles} from './spawn.js'

/** What to do with the machines of a failed test. */
export type KeepMode = 'none' | 'ssh' | 'keep'

export interface ScheduleOptions {
  flight: Flight
  /** The suite's output directory: a shared machine's console and journal go in `_<name>` inside. */
  outputDir: string
  /** A test's timeout unless it sets its own. */
  defaultTimeoutMs: number
  extendTimeoutPercent?: number | undefined
  /** The parallel cap counts machines, weighted by memory (`--parallel auto`). */
  parallelByMachines?: boolean | undefined
  /** The platform's memory per machine, to weigh tests asking for more. */
  defaultMemoryMiB?: number | undefined
  /** `ssh`: keep failed tests' machines until the run's end, then wait for Ctrl-C; `keep`: leave them running. */
  keep?: KeepMode | undefined
  /** Where kept machines are collected for the run to deal with at its end. */
  kept?: KeptMachines | undefined
  logger: Logger
  /** How often the console is read while a test runs (ms). */
  watchIntervalMs?: number | undefined
}

/** The machines of failed tests kept for debugging, by test. */
export class KeptMachines {
  readonly entries: Array<{test: string; cluster: Cluster; ssh: string[]}> = []

  get size(): number {
    return this.entries.length
  }
}

/** The harness's tests for a machine plan: one per exclusive test, one hidden host per shared machine. */
export function suiteTestsFor(plan: readonly MachinePlan[], options: ScheduleOptions): SuiteTest[] {
  return plan.map((p) => (p.kind === 'exclusive' ? exclusiveTest(p.test, options) : sharedMachine(p.name, p.tests, options)))
}

export function timeoutOf(test: KolaTest, options: Pick<ScheduleOptions, 'defaultTimeoutMs' | 'extendTimeoutPercent'>): number {
  const base = test.timeoutMs ?? options.defaultTimeoutMs
  return Math.round(base * (1 + (options.extendTimeoutPercent ?? 0) / 100))
}

/** Slots of the cap: machines, each weighed by the memory it asks for against the platform's default. */
function weightOf(test: KolaTest, machines: number, options: ScheduleOptions): number {
  if (!options.parallelByMachines) return 1
  const base = options.defaultMemoryMiB ?? 1024
  const each = Math.max(1, Math.ceil(Math.max(base, test.machine?.minMemoryMiB ?? 0) / base))
  return Math.max(1, machines) * each
}

/** Options for the cluster of a test (or of the tests sharing a machine). */
function clusterOptions(name: string, outputDir: string, test: KolaTest, signal: AbortSignal): ClusterOptions {
  const noKey = test.flags?.includes('NoSSHKeyInUserData') ?? false
  const options = {
    name,
    outputDir,
    signal,
    flags: test.flags,
    noSshKeyInUserData: noKey,
    noSshKeyInMetadata: test.flags?.includes('NoSSHKeyInMetadata') ?? false,
  }
  return options as ClusterOptions
}

/** A test's machine needs as the platform's machine options. */
export function machineOptions(test: KolaTest): MachineOptions {
  const needs: MachineNeeds = test.machine ?? {}
  const options: MachineOptions = {
    userData: test.userData,
    memoryMiB: needs.minMemoryMiB,
    diskGiB: needs.minDiskGiB,
    additionalDisksMiB: needs.additionalDisksMiB,
    additionalNics: needs.additionalNics,
    appendKernelArgs: needs.appendKernelArgs,
    httpFiles: needs.httpFiles,
  }
  return options
}

/** A test with its own cluster: boot, watch the consoles while it runs, tear down, look for failure signatures. */
function exclusiveTest(test: KolaTest, options: ScheduleOptions): SuiteTest {
  const size = test.clusterSize ?? 1
  return {
    name: test.name,
    timeoutMs: timeoutOf(test, options),
    weight: weightOf(test, size, options),
    run: async (h) => {
      const cluster = await options.flight.newCluster(clusterOptions(test.name, h.outputDir(), test, h.signal))
      // A timed-out or interrupted test may be stuck in a call: tearing the cluster down unblocks it.
      const onAbort = (): void => void cluster.destroy()
      h.signal.addEventListener('abort', onAbort, {once: true})
      const checks = !test.flags?.includes('NoEmergencyShellCheck')
      let keep = false
      try {
        await Promise.all(Array.from({length: size}, () => cluster.newMachine(machineOptions(test))))
        const watch = checks ? watchConsoles(h, cluster.machines(), options.watchIntervalMs) : undefined
        try {
          await test.run(new TestCluster(h, cluster))
        } finally {
          watch?.stop()
        }
      } finally {
        h.signal.removeEventListener('abort', onAbort)
        if (checks) for (const hit of await scanMachineLogs(h.outputDir())) h.error(`${hit.description} in ${hit.source}: ${hit.match}`)
        keep = h.failed && (await keepForDebugging(h, test.name, cluster, options))
        if (!keep) await cluster.destroy()
      }
    },
  }
}

/**
 * Non-exclusive tests on one machine, one after another, each its own test
 * in the reports. A failed test may have left the machine broken: the tests
 * after it get a fresh one. When the machine never comes up, each of its
 * tests fails with that reason.
 */
function sharedMachine(name: string, tests: readonly KolaTest[], options: ScheduleOptions): SuiteTest {
  const first = tests[0] as KolaTest
  return {
    name,
    hidden: true,
    weight: weightOf(first, 1, options),
    run: async (host) => {
      let cluster: Cluster | undefined
      let machine: Machine | undefined
      const dir = join(options.outputDir, `_${name}`)
      const boot = async (): Promise<Machine> => {
        await mkdir(dir, {recursive: true})
        cluster = await options.flight.newCluster(clusterOptions(name, dir, first, host.signal))
        options.logger.info(`${name}: one machine for ${tests.map((t) => t.name).join(', ')}`)
        return cluster.newMachine(machineOptions(first))
      }
      const onAbort = (): void => void cluster?.destroy()
      host.signal.addEventListener('abort', onAbort, {once: true})
      try {
        for (const [i, test] of tests.entries()) {
          if (!machine) {
            try {
              machine = await boot()
            } catch (error) {
              for (const t of tests.slice(i)) host.recordFailedTest(t.name, error)
              return
            }
          }
          const m = machine
          const c = cluster as Cluster
          // Only the console written while this test runs is its own.
          const from = (await m.consoleOutput()).length
          const checks = !test.flags?.includes('NoEmergencyShellCheck')
          const result = await host.runTest(
            test.name,
            async (h) => {
              h.log(`on shared machine ${m.id} (${name}, test ${i + 1} of ${tests.length})`)
              // A timed-out test may be stuck in a call: tearing its machine down unblocks it (the next test gets a fresh one).
              h.signal.addEventListener('abort', () => void c.destroy(), {once: true})
              const watch = checks ? watchConsoles(h, [m], options.watchIntervalMs, from) : undefined
              try {
                await test.run(new TestCluster(h, c))
              } finally {
                watch?.stop()
              }
              if (checks)
                for (const hit of scanText((await m.consoleOutput()).slice(from), `console of ${m.id}`))
                  h.error(`${hit.description} in ${hit.source}: ${hit.match}`)
            },
            timeoutOf(test, options),
          )
          if (result.failed) {
            const kept = await keepForDebugging(host, test.name, c, options)
            if (!kept) await c.destroy()
            machine = undefined
            cluster = undefined
          }
        }
      } finally {
        host.signal.removeEventListener('abort', onAbort)
        await cluster?.destroy()
      }
    },
  }
}

/**
 * Watches the machines' consoles while a test runs: a kernel panic, oops or
 * emergency shell stops the test at once (with that reason) instead of
 * letting it hang until its timeout.
 */
export function watchConsoles(h: H, machines: readonly Machine[], intervalMs = 1000, fromOffset = 0): {stop: () => void} {
  const offsets = new Map(machines.map((m) => [m.id, fromOffset]))
  let busy = false
  const timer = setInterval(() => {
    if (busy || h.signal.aborted) return
    busy = true
    void (async () => {
      for (const m of machines) {
        const text = await m.consoleOutput().catch(() => '')
        const start = Math.max(0, (offsets.get(m.id) ?? 0) - 200)
        offsets.set(m.id, text.length)
        const hit = scanText(text.slice(start), `console of ${m.id}`).find(fatal)
        if (hit) {
          h.abort(new CheckFailedError(`${hit.description} in ${hit.source} while the test ran: ${hit.match}`))
          return
        }
      }
    })().finally(() => (busy = false))
  }, intervalMs)
  timer.unref()
  return {stop: () => clearInterval(timer)}
}

/** Signatures after which the machine cannot go on: the test is stopped at once. Warnings and core dumps fail it at its end. */
function fatal(hit: SignatureHit): boolean {
  return hit.description === 'kernel panic' || hit.description === 'kernel oops' || hit.description === 'emergency shell'
}

/** Keeps a failed test's machines (`--ssh-on-test-failure`, `--keep-failed`) and says how to reach them. */
async function keepForDebugging(h: H, test: string, cluster: Cluster, options: ScheduleOptions): Promise<boolean> {
  if (!options.keep || options.keep === 'none' || !options.kept) return false
  const machines = cluster.machines()
  if (machines.length === 0) return false
  const dir = join(h.outputDir(), 'ssh')
  await mkdir(dir, {recursive: true})
  const files = await writeConnectionFiles(dir, options.flight.identity, machines)
  const ssh = machines.map((m) => sshLine(files, m))
  for (const line of ssh) {
    options.logger.notice(`${test} failed; its machine is kept: ${line}`)
    h.log(`kept machine: ${line}`)
  }
  options.kept.entries.push({test, cluster, ssh})
  return true
}

/** A cluster without machines (a test that boots none, a cluster test): asking it for one fails with `why`. */
export function machinelessCluster(name: string, outputDir: string, why: string): Cluster {
  return {
    name,
    outputDir,
    newMachine: async () => Promise.reject(new InfraError(why)),
    machines: () => [],
    destroy: async () => undefined,
    consoleOutput: async () => ({}),
    journalOutput: async () => ({}),
  }
}

/** Tests that run go onto machines by the plan; denied and inapplicable ones stay alone so they are skipped without booting anything. */
export function planFor(tests: readonly KolaTest[], denied: (name: string) => string | undefined): MachinePlan[] {
  const runnable = tests.filter((t) => denied(t.name) === undefined)
  const alone = tests.filter((t) => denied(t.name) !== undefined).map((test): MachinePlan => ({kind: 'exclusive', test}))
  return [...planMachines(runnable), ...alone]
}

/** Tests of a shared machine that never started (the run was stopped first) are recorded as not run, like any other. */
export function withNotRun(records: TestRecord[], tests: readonly KolaTest[]): TestRecord[] {
  const seen = new Set(records.filter((r) => !r.subtest).map((r) => r.name))
  const missing = tests.filter((t) => !seen.has(t.name))
  return [
    ...records,
    ...missing.map((t): TestRecord => ({
      name: t.name,
      result: 'SKIP',
      durationMs: 0,
      output: '',
      skipReason: 'not run: the run was interrupted',
      subtest: false,
    })),
  ]
}

/** coreos-assembler's grace period: a test created less than this long ago only warns when it fails. */
export const GRACE_PERIOD_MS = 30 * 24 * 3600_000

/** Which tests only warn when they fail: a denylist entry with `warn: true`, or a `creationDate` less than 30 days ago. */
export function warnOnlyTests(tests: readonly KolaTest[], denylist: readonly DenyRule[], now: Date): (name: string) => boolean {
  const rules = denylist.filter((r) => r.warn && (!r.snoozeUntil || now < r.snoozeUntil)).map((r) => globToRegExp(r.pattern))
  const young = new Set(
    tests.filter((t) => t.creationDate && now.getTime() - Date.parse(`${t.creationDate}T00:00:00Z`) < GRACE_PERIOD_MS).map((t) => t.name),
  )
  return (name) => {
    const top = name.split('/')[0] as string
    return young.has(top) || young.has(top.replace(/~\d+$/, '')) || rules.some((re) => re.test(top.replace(/~\d+$/, '')))
  }
}

/**
 * The run's end: with `--ssh-on-test-failure`, prints how to reach each kept
 * machine and waits for Ctrl-C, then they go with the flight; with
 * `--keep-failed`, leaves them running and says where they are.
 */
export async function handleKept(
  kept: KeptMachines,
  options: {keepFailed?: KeepMode | undefined; logger: Logger; signal: AbortSignal},
): Promise<Array<{test: string; ssh: string[]}>> {
  const list = kept.entries.map((e) => ({test: e.test, ssh: e.ssh}))
  if (options.keepFailed === 'keep') {
    for (const e of kept.entries) {
      const detach = (e.cluster as Cluster & {detach?: () => Promise<unknown>}).detach
      if (detach) await detach.call(e.cluster)
      else options.logger.warn(`${e.test}: this platform cannot leave machines running; they are removed`)
    }
    for (const e of list) for (const line of e.ssh) options.logger.notice(`left running for ${e.test}: ${line}`)
    return list
  }
  for (const e of list) for (const line of e.ssh) options.logger.notice(`${e.test}: ${line}`)
  options.logger.notice(`${list.length} failed test(s) kept their machines; Ctrl-C removes them`)
  if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), {once: true}))
  await Promise.allSettled(kept.entries.map((e) => e.cluster.destroy()))
  return list
}
