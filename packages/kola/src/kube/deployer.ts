/**
 * A Kubernetes cluster for tests, kubetest2's deployer contract: `up` gives a
 * cluster and a kubeconfig, `down` removes whatever `up` made, `isUp` asks,
 * `dumpLogs` copies what only the deployer can reach (component logs of a
 * local cluster, the cloud's view of a managed one) into a directory.
 *
 * Rules every deployer keeps (the commands and #20's test runner rely on them):
 * - `down` is idempotent and safe after a failed or half-done `up`: it
 *   removes what exists and ignores what does not.
 * - `up` cleans up after itself when it fails half-way (it calls `down`), so a
 *   caller that sees `up` throw may still call `down` but need not.
 * - `state()` is plain JSON that `restore` (see registry.ts) turns back into
 *   a deployer in another process: `kola kube up` leaves it in the output
 *   directory and `kola kube down` / `status` read it.
 * - Nothing reads the environment or flags: everything comes in options.
 *
 * Using one from code (what #20's in-cluster test runner builds on):
 *
 *   const spec = await kubeSpecFrom(flags, ctx)            // or a DeployerSpec by hand
 *   const deployer = makeDeployer(spec, {logger, signal, runId, outputDir})
 *   try {
 *     const kubeconfig = await deployer.up()
 *     // ... clusterClient(kubeconfig, logger) for namespaces, logs, events
 *   } finally {
 *     await deployer.dumpLogs(join(outputDir, 'logs', 'deployer'))
 *     await deployer.down()
 *   }
 *
 * or, for the whole kubetest2 life cycle with JUnit and log dumps, run.ts's
 * kubeExec. The local cluster's images (mantle.local/pause:3.4,
 * mantle.local/busybox:local, mantle.local/node:local) are never pulled.
 */
import type {Logger} from '@mantle/kit'

export const DEPLOYER_NAMES = ['local', 'kubeconfig', 'command', 'gke', 'eks', 'aks'] as const
export type DeployerName = (typeof DEPLOYER_NAMES)[number]

/** The label kola puts on every namespace and cloud cluster it makes: `down --all` and `ore gc` find them by it. */
export const RUN_LABEL = 'mantle.io/kola-run'

export interface Deployer {
  readonly name: DeployerName
  /** Creates or starts the cluster; resolves once the API server answers and a node is Ready. Returns the kubeconfig path. */
  up(): Promise<string>
  /** Removes everything `up` made; idempotent. */
  down(): Promise<void>
  /** The API server answers (and, where the deployer can tell, a node is Ready). */
  isUp(): Promise<boolean>
  /** The kubeconfig file once `up` has written or found it. */
  kubeconfig(): string | undefined
  /** Copies the deployer's own logs (components, nodes, cloud operations) under `dir`. Never throws for a missing log. */
  dumpLogs(dir: string): Promise<void>
  /** JSON that brings this deployer back in another process (registry.ts `restoreDeployer`). */
  state(): DeployerState
}

export interface DeployerState {
  deployer: DeployerName
  runId: string
  [key: string]: unknown
}

/** What every deployer gets from its caller. */
export interface DeployerContext {
  logger: Logger
  signal?: AbortSignal | undefined
  /** This run's id: names, labels and tags carry it. */
  runId: string
  /** The run's output directory: deployers keep their files (kubeconfig, state, logs) under it. */
  outputDir: string
}
