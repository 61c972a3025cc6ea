/**
 * `kola kube` flags and their mapping to the deployer options (kept apart
 * from src/options.ts, which is the machine-platform flags, so each is read
 * whole; the same rule: commands parse, services take options).
 */
import {awsFlags, azureFlags, gceFlags} from '@mantle/auth'
import {Flags, UsageError, type Logger, type Redactor} from '@mantle/kit'

import {DEPLOYER_NAMES, type DeployerName} from './deployer.js'
import type {DeployerSpec} from './registry.js'
import {managedApi} from './clouds.js'

export const kubeFlags = {
  deployer: Flags.option({
    options: DEPLOYER_NAMES,
    default: 'local' as const,
    summary:
      'Where the cluster comes from: local (a single-node cluster started here), kubeconfig (an existing one), command (your up/down commands), gke, eks, aks.',
    helpGroup: 'DEPLOYER',
  })(),
  'output-dir': Flags.string({default: '_kube_temp', summary: 'Where the kubeconfig, state, logs, artifacts and junit_runner.xml go.'}),
  kubeconfig: Flags.string({
    summary: "kubeconfig deployer: the existing cluster's file. command deployer: where the up command leaves it.",
    helpGroup: 'DEPLOYER',
  }),
  'up-command': Flags.string({
    summary: 'command deployer: shell command that makes the cluster (run with sh -c; KOLA_RUN_ID and KOLA_KUBECONFIG set).',
    helpGroup: 'DEPLOYER',
  }),
  'down-command': Flags.string({summary: 'command deployer: shell command that removes it; runs on every way out.', helpGroup: 'DEPLOYER'}),
  'local-bin': Flags.string({
    summary:
      'local deployer: directory of the Kubernetes binaries (default: built once from Debian source into ~/.cache/mantle-ts/kubernetes).',
    helpGroup: 'DEPLOYER',
  }),
  'local-images': Flags.string({
    default: 'busybox,node',
    summary: 'local deployer: test images to load besides pause (comma separated: busybox, node; empty for none).',
    helpGroup: 'DEPLOYER',
  }),
  nodes: Flags.integer({default: 1, min: 1, summary: 'gke/eks/aks: worker nodes.', helpGroup: 'CLOUD'}),
  'kube-version': Flags.string({summary: "gke/eks/aks: Kubernetes version (default: the cloud's).", helpGroup: 'CLOUD'}),
  project: Flags.string({summary: 'gke: the Google Cloud project.', helpGroup: 'CLOUD'}),
  location: Flags.string({summary: 'gke: zone or region; aks: Azure location.', helpGroup: 'CLOUD'}),
  'role-arn': Flags.string({summary: 'eks: IAM role of the cluster.', helpGroup: 'CLOUD'}),
  'node-role-arn': Flags.string({summary: 'eks: IAM role of the node group.', helpGroup: 'CLOUD'}),
  subnets: Flags.string({summary: 'eks: comma-separated subnet ids.', helpGroup: 'CLOUD'}),
  subscription: Flags.string({summary: 'aks: Azure subscription id.', helpGroup: 'CLOUD'}),
  'resource-group': Flags.string({summary: 'aks: resource group.', helpGroup: 'CLOUD'}),
  ...awsFlags,
  ...gceFlags,
  'azure-credentials': azureFlags['azure-credentials'],
  'azure-profile': azureFlags['azure-profile'],
}

/**
 * `kola run`'s flags for cluster tests: the deployer flags of `kola kube`, the
 * same names and meanings (default local), without its --output-dir (kola
 * run's own holds the clusters' files, under _kube-cluster-N).
 */
export const {'output-dir': _outputDir, ...kubeDeployerFlags} = kubeFlags

export interface KubeFlagValues {
  deployer: DeployerName
  'output-dir': string
  kubeconfig?: string | undefined
  'up-command'?: string | undefined
  'down-command'?: string | undefined
  'local-bin'?: string | undefined
  'local-images': string
  nodes: number
  'kube-version'?: string | undefined
  project?: string | undefined
  location?: string | undefined
  region?: string | undefined
  'role-arn'?: string | undefined
  'node-role-arn'?: string | undefined
  subnets?: string | undefined
  subscription?: string | undefined
  'resource-group'?: string | undefined
  profile?: string | undefined
  'credentials-file'?: string | undefined
  'access-id'?: string | undefined
  'secret-key'?: string | undefined
  'json-key'?: string | undefined
  'service-auth'?: boolean | undefined
  'azure-credentials'?: string | undefined
  'azure-profile'?: string | undefined
}

export interface KubeSettingsContext {
  env: NodeJS.ProcessEnv
  cwd: string
  home: string
  logger: Logger
  redactor: Redactor
  /** The Node.js binary for the local node image. */
  nodeBinary: string
}

/** Flags to a DeployerSpec; bad combinations are usage errors here, before anything starts. */
export async function kubeSpecFrom(flags: Omit<KubeFlagValues, 'output-dir'>, ctx: KubeSettingsContext): Promise<DeployerSpec> {
  const spec: DeployerSpec = {
    deployer: flags.deployer,
    local: {
      env: ctx.env,
      binDir: flags['local-bin'],
      nodeBinary: ctx.nodeBinary,
      images: flags['local-images']
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
  }
  for (const image of spec.local.images ?? []) {
    if (image !== 'busybox' && image !== 'node') throw new UsageError(`unknown local image ${image}`, {hint: 'choose from busybox, node'})
  }
  if (flags.deployer === 'kubeconfig') {
    if (!flags.kubeconfig) throw new UsageError('the kubeconfig deployer needs --kubeconfig')
    spec.kubeconfig = {path: flags.kubeconfig}
  }
  if (flags.deployer === 'command') {
    if (!flags['up-command'] || !flags['down-command'] || !flags.kubeconfig) {
      throw new UsageError('the command deployer needs --up-command, --down-command and --kubeconfig (where up leaves it)')
    }
    spec.command = {
      upCommand: flags['up-command'],
      downCommand: flags['down-command'],
      kubeconfig: flags.kubeconfig,
      cwd: ctx.cwd,
      env: ctx.env,
    }
  }
  if (flags.deployer === 'gke' || flags.deployer === 'eks' || flags.deployer === 'aks') {
    spec.managed = {api: await managedApi(flags.deployer, flags, ctx), nodeCount: flags.nodes, version: flags['kube-version']}
  }
  return spec
}
