import {UsageError, type Keyring, type Logger, type Progress, type StorageOptions} from '@mantle/kit'

import {PLATFORMS, type AzureEnvironmentSpec, type AzureSpec, type Platform} from '../config/types.js'
import {runSteps, type RunReport, type Step} from '../plan/step.js'
import {checkSource, openSource, type ReleaseSpec} from '../spec.js'
import {amiEntries, awsMarketplaceSteps, awsPreReleaseSteps, awsReleaseSteps, type AwsClients} from './aws.js'
import {azureBlobName, azureImageName, azurePreReleaseSteps, azureReleaseSteps, type AzureImagesApi, type AzureStage} from './azure.js'
import {boardPlatforms, releaseArch} from './boards.js'
import type {StageContext} from './context.js'
import {destinationSteps} from './destinations.js'
import {gceReleaseSteps, type GceImagesApi} from './gce.js'
import {verifyImages} from './images.js'

export type StageName = 'pre-release' | 'release'

/** How the stages reach each cloud; the command builds them from credentials resolved once, lazily. */
export interface CloudDeps {
  aws?: AwsClients | undefined
  gce?: ((project: string) => Promise<GceImagesApi>) | undefined
  azure?: ((environment: AzureEnvironmentSpec, spec: AzureSpec, channel: string) => Promise<AzureImagesApi>) | undefined
}

export interface StageOptions {
  release: ReleaseSpec
  storage: StorageOptions
  /** The platforms to work on (default: every one the channel configures). */
  platforms?: readonly Platform[] | undefined
  force?: boolean | undefined
  dryRun?: boolean | undefined
  /** Work on this AWS partition only (Flatcar's -P); the AMI lists, which cover every partition, are left out. */
  partition?: string | undefined
  /** Make nothing public (Flatcar's -Z): release leaves out the steps that share the cloud images. */
  private?: boolean | undefined
  /** Root of the image cache (.cache/images). */
  cacheDir: string
  keyring: Keyring
  clouds: CloudDeps
  logger: Logger
  signal: AbortSignal
  progress?: ((label: string, total?: number) => Progress) | undefined
  pollIntervalMs?: number | undefined
  now?: (() => Date) | undefined
  /** The step boundaries, for the kill-anywhere test. */
  onBoundary?: ((point: string) => void | Promise<void>) | undefined
}

export interface ImageList {
  aws?: {amis: {name: string; hvm: string}[]}
  /** The managed image and blob; with the channel's azure.sasUrlDays, a read-only SAS URL of the blob per environment (a credential: only in the file). */
  azure?: {image: string; blob: string; sasUrls?: Record<string, string>}
}

export interface StageResult {
  stage: StageName
  channel: string
  board: string
  version: string
  dryRun: boolean
  /** Steps that had work (with dryRun: the work still needed). */
  actions: {id: string; where: string; actions: string[]}[]
  /** Ids of the steps that were already done. */
  done: string[]
}

/**
 * The platforms a run works on: the ones asked for (each of which the
 * channel must configure), of those the ones the board publishes to (its
 * `platforms` in the channel; Flatcar publishes arm64 on AWS and Azure, not
 * GCE: doGCE runs for amd64-usr only in cmd/plume/release.go).
 */
export function selectPlatforms(
  release: ReleaseSpec,
  asked: readonly Platform[] | undefined,
): {platforms: Set<Platform>; notForBoard: Platform[]} {
  const configured = PLATFORMS.filter((p) => release.spec[p] !== undefined)
  const missing = (asked ?? []).filter((p) => !configured.includes(p))
  if (missing.length > 0) {
    throw new UsageError(`channel "${release.channel}" in ${release.configFile} has no ${missing.join(', ')} settings`, {
      hint: `configured platforms: ${configured.join(', ') || 'none'}`,
    })
  }
  const chosen = !asked || asked.length === 0 ? configured : [...asked]
  const forBoard = boardPlatforms(release)
  return {
    platforms: new Set(chosen.filter((p) => !forBoard || forBoard.includes(p))),
    notForBoard: chosen.filter((p) => forBoard && !forBoard.includes(p)),
  }
}

/** The release with its AWS partitions narrowed to the one asked for. */
export function selectPartition(release: ReleaseSpec, partition: string | undefined): ReleaseSpec {
  if (partition === undefined) return release
  const aws = release.spec.aws
  if (!aws)
    throw new UsageError(`channel "${release.channel}" in ${release.configFile} has no aws settings, so no partition ${partition}`, {
      hint: 'leave out -P/--partition',
    })
  const chosen = aws.partitions.filter((p) => p.name === partition)
  if (chosen.length === 0) {
    throw new UsageError(`channel "${release.channel}" in ${release.configFile} has no aws partition "${partition}"`, {
      hint: `partitions: ${aws.partitions.map((p) => p.name).join(', ')}`,
    })
  }
  return {...release, spec: {...release.spec, aws: {...aws, partitions: chosen}}}
}

/** The images a stage needs verified (and which of them decompressed). */
function imagesOf(stage: StageName, release: ReleaseSpec, platforms: ReadonlySet<Platform>): {files: string[]; decompress: Set<string>} {
  const {spec} = release
  const files = [...(spec.verify ?? [])]
  const decompress = new Set<string>()
  if (stage === 'pre-release') {
    for (const image of [platforms.has('aws') ? spec.aws?.image : undefined, platforms.has('azure') ? spec.azure?.image : undefined]) {
      if (image === undefined) continue
      files.push(image)
      decompress.add(image)
    }
  } else if (platforms.has('gce') && spec.gce) {
    files.push(spec.gce.image)
  }
  return {files, decompress}
}

/**
 * Everything before the first write: the source must hold version.txt for
 * this version, and every image the stages use must verify. Then the steps,
 * in the order of the spec.
 */
export async function prepareStages(
  stages: readonly StageName[],
  options: StageOptions,
): Promise<{ctx: StageContext; steps: Map<StageName, Step[]>}> {
  const release = selectPartition(options.release, options.partition)
  const {platforms, notForBoard} = selectPlatforms(release, options.platforms)
  if (notForBoard.length > 0)
    options.logger.notice(
      `board ${release.board} does not publish to ${notForBoard.join(', ')} (its platforms in ${release.configFile}): skipping it`,
    )
  const source = await openSource(release, options.storage)
  await checkSource(release, source, options.signal)
  const files = new Set<string>()
  const decompress = new Set<string>()
  for (const stage of stages) {
    const need = imagesOf(stage, release, platforms)
    need.files.forEach((f) => files.add(f))
    need.decompress.forEach((f) => decompress.add(f))
  }
  const images = await verifyImages({
    release,
    source,
    files: [...files],
    decompress,
    keyring: options.keyring,
    cacheDir: options.cacheDir,
    logger: options.logger,
    signal: options.signal,
    progress: options.progress,
  })
  const ctx: StageContext = {
    release,
    source,
    images,
    storage: options.storage,
    platforms,
    force: options.force ?? false,
    onePartition: options.partition !== undefined,
    private: options.private ?? false,
    logger: options.logger,
    signal: options.signal,
    pollIntervalMs: options.pollIntervalMs,
    now: options.now ?? (() => new Date()),
  }
  const steps = new Map<StageName, Step[]>()
  for (const stage of stages) steps.set(stage, stepsOf(stage, ctx, options.clouds))
  return {ctx, steps}
}

function cloud<T>(value: T | undefined, platform: Platform): T {
  if (value === undefined)
    throw new UsageError(`no ${platform} credentials to work with`, {hint: `pass --platform without ${platform} to skip it`})
  return value
}

function azureStage(ctx: StageContext, clouds: CloudDeps): AzureStage {
  const spec = ctx.release.spec.azure!
  const api = cloud(clouds.azure, 'azure')
  return {ctx, spec, api: (environment) => api(environment, spec, ctx.release.channel)}
}

function stepsOf(stage: StageName, ctx: StageContext, clouds: CloudDeps): Step[] {
  const {spec} = ctx.release
  const steps: Step[] = []
  if (stage === 'pre-release') {
    if (ctx.platforms.has('aws') && spec.aws) steps.push(...awsPreReleaseSteps({ctx, spec: spec.aws, clients: cloud(clouds.aws, 'aws')}))
    if (ctx.platforms.has('azure') && spec.azure) steps.push(...azurePreReleaseSteps(azureStage(ctx, clouds)))
    return steps
  }
  // Private: the images are made and maintained, but none is shared (Azure's and AWS's release steps only share).
  if (ctx.platforms.has('gce') && spec.gce) {
    const gce = {...spec.gce, public: spec.gce.public === true && !ctx.private}
    const api = cloud(clouds.gce, 'gce')
    steps.push(...gceReleaseSteps({ctx, spec: gce, api: () => api(gce.project)}))
  }
  if (ctx.platforms.has('azure') && spec.azure && !ctx.private) steps.push(...azureReleaseSteps(azureStage(ctx, clouds)))
  if (ctx.platforms.has('aws') && spec.aws && !ctx.private) {
    const stage = {ctx, spec: spec.aws, clients: cloud(clouds.aws, 'aws')}
    steps.push(...awsReleaseSteps(stage), ...awsMarketplaceSteps(stage))
  }
  steps.push(...destinationSteps(ctx))
  return steps
}

/** Runs one stage (or, with dryRun, reports what it would do). */
export async function runStage(stage: StageName, options: StageOptions): Promise<StageResult> {
  const {ctx, steps} = await prepareStages([stage], options)
  const report = await run(stage, steps.get(stage)!, options)
  return result(stage, ctx, report, options.dryRun ?? false)
}

/** What both stages still have to do, checked against the world as it is now. */
export async function planStages(options: StageOptions): Promise<StageResult[]> {
  const stages: StageName[] = ['pre-release', 'release']
  const {ctx, steps} = await prepareStages(stages, options)
  const out: StageResult[] = []
  for (const stage of stages) out.push(result(stage, ctx, await run(stage, steps.get(stage)!, {...options, dryRun: true}), true))
  return out
}

async function run(stage: StageName, steps: Step[], options: StageOptions): Promise<RunReport> {
  const {release} = options
  const progress = options.progress?.(`plume ${stage} ${release.channel}/${release.board}/${release.version}`)
  return runSteps(steps, {
    dryRun: options.dryRun ?? false,
    signal: options.signal,
    logger: options.logger,
    progress,
    onBoundary: options.onBoundary,
  })
}

function result(stage: StageName, ctx: StageContext, report: RunReport, dryRun: boolean): StageResult {
  const {channel, board, version} = ctx.release
  return {stage, channel, board, version, dryRun, actions: report.performed, done: report.skipped}
}

/** The `--write-image-list` document: `{"aws": {"amis": [{name, hvm}]}, "azure": {"image"}}`. */
export async function imageList(options: StageOptions): Promise<ImageList> {
  const {ctx} = await prepareStages([], options)
  const list: ImageList = {}
  const {spec, channel, version} = ctx.release
  if (ctx.platforms.has('aws') && spec.aws) {
    const amis = await amiEntries({ctx, spec: spec.aws, clients: cloud(options.clouds.aws, 'aws')})
    if (amis) list.aws = {amis}
  }
  if (ctx.platforms.has('azure') && spec.azure) {
    const azure = spec.azure
    const arch = releaseArch(ctx.release)
    const blob = azureBlobName(azure, channel, version, arch)
    list.azure = {image: azureImageName(azure, channel, version, arch), blob}
    if (azure.sasUrlDays) {
      const expiresOn = new Date(ctx.now().getTime() + azure.sasUrlDays * 86_400_000)
      const api = cloud(options.clouds.azure, 'azure')
      const sasUrls: Record<string, string> = {}
      for (const env of azure.environments)
        sasUrls[env.name] = await (await api(env, azure, channel)).sasUrl(azure.container, blob, expiresOn)
      list.azure.sasUrls = sasUrls
    }
  }
  return list
}
