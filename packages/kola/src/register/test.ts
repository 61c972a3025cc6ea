import {BugError, UsageError} from '@mantle/kit'

import type {H} from '../harness/h.js'
import type {KubeTestContext} from '../kube/run-tests/kube-test.js'
import type {IgnitionConfig} from '../platform/ignition.js'
import type {Cluster, Machine, SshResult} from '../platform/platform.js'

export const TEST_FLAGS = [
  /** The platform must not add kola's SSH key to the test's userData. */
  'NoSSHKeyInUserData',
  /** The platform must not add kola's SSH key to the machine's metadata. */
  'NoSSHKeyInMetadata',
  /** Console and journal failure signatures do not fail this test. */
  'NoEmergencyShellCheck',
  /** The test needs to reach the internet; QEMU's user network does not allow it. */
  'RequiresInternetAccess',
] as const
export type TestFlag = (typeof TEST_FLAGS)[number]

/** A test's record, after the original `kola/register.Test`. */
export interface KolaTest {
  /** `<namespace>.<name>`: `coreos.*` for tests of several distros, a package name, or a distro name. */
  name: string
  description?: string
  run(c: TestCluster): Promise<void>
  /** An Ignition config (object or JSON text) for every machine of the cluster. */
  userData?: IgnitionConfig | string
  /** Machines booted before `run`; 0 lets the test boot its own. Default 1. */
  clusterSize?: number
  platforms?: string[]
  excludePlatforms?: string[]
  distros?: string[]
  excludeDistros?: string[]
  architectures?: string[]
  excludeArchitectures?: string[]
  flags?: TestFlag[]
  /** Image versions this test applies to: [minVersion, endVersion). */
  minVersion?: string
  endVersion?: string
  /** Milliseconds; default: the run's timeout (10 minutes). */
  timeoutMs?: number
  tags?: string[]
  /** The test runs only when `--tag` names this tag. */
  requiredTag?: string
  /**
   * Default true: the test gets machines of its own. False: it may run on a
   * machine shared, one after another, with other non-exclusive tests of the
   * same Ignition config and machine needs (coreos-assembler's buckets).
   */
  exclusive?: boolean
  /** Non-exclusive tests that must not share a machine with this one. */
  conflicts?: string[]
  /** What its machines need beyond the platform's defaults. */
  machine?: MachineNeeds
  /**
   * A cluster test (pluton's): it gets a Kubernetes cluster from the run's
   * deployer (`kola run --deployer`, default local) instead of machines, as
   * `c.kube`, in a namespace of its own. `clusterSize` and the machine fields
   * do not apply.
   */
  kube?: KubeNeeds
  /** `YYYY-MM-DD`: for 30 days after it, a failure only warns (coreos-assembler's grace period). */
  creationDate?: string
  /** Ignition config warnings do not fail the test. */
  allowConfigWarnings?: boolean
}

/** A test's machine needs (coreos-assembler's minMemory, minDisk, additionalDisks, additionalNics, appendKernelArgs). */
export interface MachineNeeds {
  minMemoryMiB?: number
  minDiskGiB?: number
  /** Extra disk sizes in MiB. */
  additionalDisksMiB?: number[]
  additionalNics?: number
  appendKernelArgs?: string
  /** Files kola serves its machines over HTTP, by path, at `MACHINE_HTTP_URL` (QEMU only). */
  httpFiles?: Readonly<Record<string, string>>
}

/** What a cluster test asks of its cluster. */
export interface KubeNeeds {
  /**
   * Default false: the test shares one cluster, one test after another, with
   * the other cluster tests of the run that ask for the same (each in its own
   * namespace). True: a cluster of its own (a test that changes the nodes or
   * cluster-wide objects).
   */
  exclusive?: boolean
}

/** What a test's `run` gets: the harness handle and the cluster booted for it. */
export class TestCluster {
  constructor(
    readonly h: H,
    readonly cluster: Cluster,
    private readonly kubeContext?: KubeTestContext,
  ) {}

  /** A cluster test's cluster: kubeconfig, client, kubectl(args), apply(yaml), waitReady(). */
  get kube(): KubeTestContext {
    return this.kubeContext ?? this.fatal('this test has no Kubernetes cluster: declare `kube: {}` in its record')
  }

  get machines(): Machine[] {
    return this.cluster.machines()
  }

  get signal(): AbortSignal {
    return this.h.signal
  }

  log(...args: unknown[]): void {
    this.h.log(...args)
  }

  error(...args: unknown[]): void {
    this.h.error(...args)
  }

  fatal(...args: unknown[]): never {
    return this.h.fatal(...args)
  }

  skip(...args: unknown[]): never {
    return this.h.skip(...args)
  }

  /** A subtest `<test>/<name>` on the same cluster. */
  async run(name: string, fn: (c: TestCluster) => Promise<void>): Promise<boolean> {
    return this.h.run(name, (h) => fn(new TestCluster(h, this.cluster, this.kubeContext)))
  }

  /** Runs a command over SSH; a non-zero exit fails the test. Returns stdout without the final newline. */
  async mustSsh(machine: Machine, command: string): Promise<string> {
    let result: SshResult
    try {
      result = await machine.ssh(command, {signal: this.h.signal})
    } catch (error) {
      return this.fatal(`ssh ${machine.id} ${JSON.stringify(command)}: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (result.code !== 0) {
      this.fatal(`ssh ${machine.id} ${JSON.stringify(command)} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`)
    }
    return result.stdout.replace(/\n$/, '')
  }
}

/** The tests a run can choose from. Built per command: no registration by side effect at import. */
export class Registry {
  private readonly tests = new Map<string, KolaTest>()

  constructor(tests: Iterable<KolaTest> = []) {
    for (const t of tests) this.register(t)
  }

  register(test: KolaTest): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(test.name))
      throw new UsageError(`invalid test name ${JSON.stringify(test.name)}`, {hint: 'names use letters, digits, ".", "_" and "-"'})
    if (this.tests.has(test.name)) throw new BugError(`test ${test.name} registered twice`)
    for (const f of test.flags ?? []) {
      if (!(TEST_FLAGS as readonly string[]).includes(f))
        throw new UsageError(`test ${test.name}: unknown flag ${f}`, {hint: `flags: ${TEST_FLAGS.join(', ')}`})
    }
    this.tests.set(test.name, test)
  }

  /** Every test, by name. */
  all(): KolaTest[] {
    return [...this.tests.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  get(name: string): KolaTest | undefined {
    return this.tests.get(name)
  }
}
