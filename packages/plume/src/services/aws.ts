import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename} from 'node:path'

import {InfraError, UsageError} from '@mantle/kit'
import {aws, pollUntil, type ServiceContext} from '@mantle/cloud'

import type {AwsBootMode, AwsPartitionSpec, AwsSpec} from '../config/types.js'
import type {Step} from '../plan/step.js'
import {releaseArch, type BoardArch} from './boards.js'
import type {StageContext} from './context.js'
import {readText} from './text.js'

type Ec2Api = aws.Ec2Api

/** How the AWS steps reach AWS: one EC2 client per partition and region, the staging bucket per partition. */
export interface AwsClients {
  ec2(partition: AwsPartitionSpec, region: string): Promise<Ec2Api>
  /** The S3 bucket that ImportSnapshot reads from (kit's S3 backend). */
  staging(partition: AwsPartitionSpec): Promise<aws.ObjectStore>
  /** The AWS Marketplace Catalog, with the credentials of that profile. */
  marketplace?(profile: string | undefined): Promise<aws.MarketplaceApi>
}

export interface AwsStage {
  ctx: StageContext
  spec: AwsSpec
  clients: AwsClients
}

/**
 * The AMI name, Flatcar's `<BaseName>-<channel>-<version>[-arm64]-hvm`
 * (getSpecAWSImageMetadata in cmd/plume/prerelease.go), with characters AWS
 * refuses replaced by '_'. Each board has its own: an arm64 pre-release
 * never finds the amd64 AMI.
 */
export function amiName(spec: AwsSpec, channel: string, version: string, arch: BoardArch): string {
  return aws.sanitizeAmiName(`${spec.baseName}-${channel}-${version}${arch.nameTag}-hvm`)
}

/** `<BaseDescription> <channel> <version>[ arm64] (HVM)`, as Flatcar describes its AMIs. */
export function amiDescription(spec: AwsSpec, channel: string, version: string, arch: BoardArch): string {
  return `${spec.baseDescription ?? spec.baseName} ${channel} ${version}${arch.nameTag.replaceAll('-', ' ')} (HVM)`
}

/** What RegisterImage gets from the channel: Flatcar's values unless the channel says otherwise (platform/api/aws/images.go). */
export function registerSettings(spec: AwsSpec): {volumeSizeGiB: number; volumeType: 'gp2' | 'gp3'; bootMode: AwsBootMode} {
  // ContainerLinuxDiskSizeGiB = 16; registerImageParams: VolumeType gp2, BootMode uefi-preferred.
  return {volumeSizeGiB: spec.volumeSize ?? 16, volumeType: spec.volumeType ?? 'gp2', bootMode: spec.bootMode ?? 'uefi-preferred'}
}

/** Regions copied to at once: CopyImage is cheap to start, and AWS limits concurrent copies per region, not per account. */
const COPY_CONCURRENCY = 4

function serviceContext(ctx: StageContext): ServiceContext {
  return {logger: ctx.logger, signal: ctx.signal, pollIntervalMs: ctx.pollIntervalMs}
}

/**
 * pre-release on AWS, per partition: upload + import + register in the
 * bucket's region (ore's idempotent uploadImage), make sure the staged S3
 * object is gone, copy to the other regions (in parallel), grant launch permissions to the
 * listed accounts; then write the AMI lists next to the source. Nothing is
 * made public.
 */
export function awsPreReleaseSteps(stage: AwsStage): Step[] {
  const {ctx, spec} = stage
  const {channel, version, board} = ctx.release
  const arch = releaseArch(ctx.release)
  const name = amiName(spec, channel, version, arch)
  const steps: Step[] = []
  for (const partition of spec.partitions) {
    const home = partition.bucketRegion
    const where = (region: string): string => `aws ${partition.name} ${region}`
    const stagingKey = `${board}/${version}/${basename(rawImage(stage))}`
    const stagingUrl = `s3://${partition.bucket}/${stagingKey}`
    const stagedSize = async (): Promise<number | undefined> =>
      (await (await stage.clients.staging(partition)).stat(stagingKey, {signal: ctx.signal}))?.size
    if (ctx.force) steps.push(replaceStep(stage, partition, name))
    steps.push({
      id: `aws/${partition.name}/${home}/upload`,
      where: where(home),
      check: async () => {
        if (await findImage(stage, partition, home, name)) return []
        if (await importedOrImporting(await stage.clients.ec2(partition, home), name)) return []
        if ((await stagedSize()) === (await stat(rawImage(stage))).size) return []
        return [`upload ${basename(rawImage(stage))} to ${stagingUrl}`]
      },
      run: async (c) => {
        const file = rawImage(stage)
        const size = (await stat(file)).size
        let sent = 0
        const onProgress = (total: number): void => {
          // The store reports the total so far; the progress view adds deltas.
          c.advance(total - sent)
          sent = total
        }
        await (await stage.clients.staging(partition)).write(stagingKey, createReadStream(file), {size, signal: c.signal, onProgress})
      },
    })
    steps.push({
      id: `aws/${partition.name}/${home}/image`,
      where: where(home),
      check: async () => {
        if (await findImage(stage, partition, home, name)) return []
        const r = registerSettings(spec)
        return [
          `import ${stagingUrl} as a snapshot and register AMI ${name} in ${home} (${arch.aws}, boot mode ${r.bootMode}, root ${r.volumeSizeGiB} GiB ${r.volumeType})`,
        ]
      },
      run: async () => {
        // ore's uploadImage reuses a tagged snapshot or a running import, else imports the staged object, and deletes it.
        const result = await aws.uploadImage({
          ec2: await stage.clients.ec2(partition, home),
          bucket: partition.bucket,
          key: stagingKey,
          store: await stage.clients.staging(partition),
          format: 'raw',
          name,
          description: amiDescription(spec, channel, version, arch),
          architecture: arch.aws,
          ...registerSettings(spec),
          tags: {Channel: channel, Version: version},
          context: serviceContext(ctx),
        })
        ctx.logger.info(`${home}: AMI ${result.imageId} (${name})`)
      },
    })
    steps.push({
      // uploadImage deletes what it staged, but a run killed during the import leaves the object behind.
      id: `aws/${partition.name}/${home}/staged-object`,
      where: where(home),
      check: async () =>
        (await (await stage.clients.staging(partition)).stat(stagingKey, {signal: ctx.signal}))
          ? [`delete the staged object ${stagingUrl}`]
          : [],
      run: async () => (await stage.clients.staging(partition)).delete(stagingKey, {signal: ctx.signal}),
    })
    const others = partition.regions.filter((r) => r !== home)
    if (others.length > 0) {
      steps.push({
        // One step for every region, copied to in parallel; each region is still find-then-copy (ore's copyImage), so a kill anywhere leaves no duplicate.
        // Done only once every copy is available and tagged like the original, its snapshot too (Flatcar's copyImageIn).
        id: `aws/${partition.name}/copies`,
        where: `aws ${partition.name} ${others.join(', ')}`,
        check: async () => {
          const source = await findImage(stage, partition, home, name)
          const wanted = source ? await copyTags(stage, partition, home, source) : undefined
          const actions = await Promise.all(others.map(async (region) => copyActions(stage, partition, region, name, wanted)))
          return actions.flat().map((a) => a.replace('{home}', home))
        },
        run: async () => {
          const source = await requireImage(stage, partition, home, name)
          await aws.copyImage({
            ec2: await stage.clients.ec2(partition, home),
            imageId: source.ImageId!,
            regions: others,
            clientFor: (r) => stage.clients.ec2(partition, r),
            wait: true,
            concurrency: COPY_CONCURRENCY,
            context: serviceContext(ctx),
          })
        },
      })
    }
    const users = partition.launchPermissions ?? []
    if (users.length > 0) {
      for (const region of partition.regions) {
        steps.push({
          id: `aws/${partition.name}/${region}/launch-permissions`,
          where: where(region),
          check: async () => {
            const missing = await missingGrants(stage, partition, region, name, users)
            return missing.length === 0 ? [] : [`grant launch permission on AMI ${name} in ${region} to ${missing.join(', ')}`]
          },
          run: async () => {
            const ec2 = await stage.clients.ec2(partition, region)
            const image = await waitAvailable(stage, ec2, name)
            await ec2.modifyImageAttribute({ImageId: image.id, LaunchPermission: {Add: users.map((UserId) => ({UserId}))}})
            await ec2.modifySnapshotAttribute({
              SnapshotId: image.snapshotId,
              Attribute: 'createVolumePermission',
              OperationType: 'add',
              UserIds: users,
            })
          },
        })
      }
    }
  }
  // The lists name the AMI of every region of every partition: a run on one partition cannot write them whole.
  if (!ctx.onePartition) steps.push(amiListsStep(stage, name))
  return steps
}

/**
 * --force: the AMIs of this name in every region of the partition go, with
 * their snapshots and any snapshot tagged with the name (an import's), so
 * that the steps after it make them again from this build; as Flatcar's
 * RemoveImage (platform/api/aws/images.go), a snapshot that cannot be
 * deleted is a warning.
 */
function replaceStep(stage: AwsStage, partition: AwsPartitionSpec, name: string): Step {
  const {ctx} = stage
  const existing = async (region: string) => {
    const ec2 = await stage.clients.ec2(partition, region)
    const images = await aws.findImagesByName(ec2, name)
    const snapshots = (await ec2.describeSnapshots({OwnerIds: ['self'], Filters: [{Name: 'tag:Name', Values: [name]}]})).Snapshots ?? []
    const ids = new Set(
      [...images.map((i) => snapshotOf(i)), ...snapshots.map((x) => x.SnapshotId)].filter((x): x is string => x !== undefined),
    )
    return {ec2, images, snapshots: [...ids]}
  }
  return {
    id: `aws/${partition.name}/replace`,
    where: `aws ${partition.name} ${partition.regions.join(', ')}`,
    check: async () => {
      const actions: string[] = []
      for (const region of partition.regions) {
        const {images, snapshots} = await existing(region)
        if (images.length > 0) actions.push(`--force: deregister ${images.map((i) => i.ImageId).join(', ')} (${name}) in ${region}`)
        if (snapshots.length > 0) actions.push(`--force: delete snapshot ${snapshots.join(', ')} in ${region}`)
      }
      return actions
    },
    run: async () => {
      for (const region of partition.regions) {
        const {ec2, images, snapshots} = await existing(region)
        for (const image of images) {
          await ec2.deregisterImage({ImageId: image.ImageId!})
          ctx.logger.notice(`--force: deregistered ${image.ImageId} (${name}) in ${region}`)
        }
        for (const SnapshotId of snapshots) {
          try {
            await ec2.deleteSnapshot({SnapshotId})
          } catch (error) {
            ctx.logger.warn(`--force: could not delete snapshot ${SnapshotId} in ${region}: ${(error as Error).message}`)
          }
        }
      }
    },
  }
}

/** release on AWS: in every region, the snapshot and then the AMI become public. */
export function awsReleaseSteps(stage: AwsStage): Step[] {
  const {ctx, spec} = stage
  const name = amiName(spec, ctx.release.channel, ctx.release.version, releaseArch(ctx.release))
  return spec.partitions.flatMap((partition) =>
    partition.regions.map((region): Step => ({
      id: `aws/${partition.name}/${region}/publish`,
      where: `aws ${partition.name} ${region}`,
      check: async () => {
        const ec2 = await stage.clients.ec2(partition, region)
        const image = await aws.findImageByName(ec2, name)
        if (!image?.ImageId)
          return [`make AMI ${name} and its snapshot public in ${region} (the AMI does not exist yet: run pre-release first)`]
        const actions: string[] = []
        const snapshotId = snapshotOf(image)
        if (snapshotId && !(await snapshotSharedWith(ec2, snapshotId, 'all')))
          actions.push(`make snapshot ${snapshotId} public in ${region}`)
        if (!image.Public) actions.push(`make AMI ${image.ImageId} (${name}) public in ${region}`)
        return actions
      },
      run: async () => {
        const ec2 = await stage.clients.ec2(partition, region)
        if (!(await aws.findImageByName(ec2, name))) {
          throw new UsageError(`aws ${partition.name}: no AMI ${name} in ${region}`, {hint: 'run plume pre-release first'})
        }
        const image = await waitAvailable(stage, ec2, name)
        // The snapshot first: a public AMI whose snapshot is private cannot be launched by others.
        await ec2.modifySnapshotAttribute({
          SnapshotId: image.snapshotId,
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          GroupNames: ['all'],
        })
        await ec2.modifyImageAttribute({ImageId: image.id, LaunchPermission: {Add: [{Group: 'all'}]}})
      },
    })),
  )
}

/**
 * release on AWS, optional: the AMI of the Marketplace region (us-east-1, as
 * Flatcar) added to each of the board's Marketplace products as a new
 * version, as Flatcar's UpdateProduct does (platform/api/aws/marketplace.go,
 * called from doAWS in cmd/plume/release.go). A product that offers the AMI
 * already, or has a change set adding it under way, is left alone.
 */
export function awsMarketplaceSteps(stage: AwsStage): Step[] {
  const {ctx, spec} = stage
  const market = spec.marketplace
  if (!market) return []
  const {channel, version} = ctx.release
  const arch = releaseArch(ctx.release)
  const products = market.productIds[arch.arch] ?? []
  if (products.length === 0) return []
  const region = market.region ?? 'us-east-1'
  const partition = spec.partitions.find((p) => p.regions.includes(region))
  if (!partition)
    throw new UsageError(`aws marketplace: no partition of channel "${channel}" has the region ${region}`, {
      hint: "set aws.marketplace.region to one of the partitions' regions",
    })
  const name = amiName(spec, channel, version, arch)
  const marketplace = async () => {
    if (!stage.clients.marketplace) throw new UsageError('aws marketplace: no Marketplace credentials to work with')
    return stage.clients.marketplace(market.profile ?? partition.profile)
  }
  return products.map((productId) => {
    const delivery = async () => {
      const image = await findImage(stage, partition, region, name)
      if (!image?.ImageId || !image.Public) return undefined
      return {
        productId,
        amiId: image.ImageId,
        accessRoleArn: market.accessRoleArn,
        username: market.username ?? 'core',
        version,
        // doAWS in cmd/plume/release.go: t3.medium, m6g.medium for arm64-usr
        instanceType: market.instanceTypes?.[arch.arch] ?? (arch.arch === 'arm64' ? 'm6g.medium' : 't3.medium'),
        releaseNotes: (market.releaseNotes ?? 'https://www.flatcar.org/releases/#release-{version}').replaceAll('{version}', version),
        usageInstructions: market.usageInstructions ?? aws.FLATCAR_USAGE_INSTRUCTIONS,
      }
    }
    return {
      id: `aws/marketplace/${productId}`,
      where: `aws marketplace ${region}`,
      check: async () => {
        const d = await delivery()
        if (!d)
          return [`add the public AMI ${name} of ${region} to Marketplace product ${productId} as version ${version} (once it is public)`]
        return (await aws.offersAmi(await marketplace(), d))
          ? []
          : [`add ${d.amiId} (${name}) to Marketplace product ${productId} as version ${version} (${d.instanceType})`]
      },
      run: async () => {
        const d = await delivery()
        if (!d) throw new InfraError(`aws marketplace: no public AMI ${name} in ${region}`, {hint: 'run plume release again'})
        await aws.addAmiDelivery(await marketplace(), d, serviceContext(ctx))
      },
    }
  })
}

/** The AMIs of every region, as `--write-image-list` and the AMI list files show them. */
export async function amiEntries(stage: AwsStage): Promise<{name: string; hvm: string}[] | undefined> {
  const name = amiName(stage.spec, stage.ctx.release.channel, stage.ctx.release.version, releaseArch(stage.ctx.release))
  const entries: {name: string; hvm: string}[] = []
  for (const partition of stage.spec.partitions) {
    for (const region of partition.regions) {
      const image = await findImage(stage, partition, region, name)
      if (!image?.ImageId) return undefined
      entries.push({name: region, hvm: image.ImageId})
    }
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The files the original wrote next to the source: per region, all regions as text and as JSON. */
export function amiListFiles(prefix: string, entries: {name: string; hvm: string}[]): Map<string, string> {
  const files = new Map<string, string>()
  for (const e of entries) {
    files.set(`${prefix}hvm_${e.name}.txt`, `${e.hvm}\n`)
    files.set(`${prefix}${e.name}.txt`, `${e.hvm}\n`)
  }
  const all = entries.map((e) => `${e.name}=${e.hvm}`).join('|') + '\n'
  files.set(`${prefix}all.json`, JSON.stringify({amis: entries}, null, 2) + '\n')
  files.set(`${prefix}hvm.txt`, all)
  files.set(`${prefix}all.txt`, all)
  return files
}

function amiListsStep(stage: AwsStage, name: string): Step {
  const {ctx} = stage
  const {bucket, prefix} = ctx.source
  const wanted = async (): Promise<Map<string, string> | undefined> => {
    const entries = await amiEntries(stage)
    return entries && amiListFiles(stage.spec.prefix ?? '', entries)
  }
  const stale = async (files: Map<string, string>): Promise<string[]> => {
    const out: string[] = []
    for (const [file, content] of files) {
      const current = await readText(bucket, `${prefix}${file}`, ctx.signal)
      if (current !== content) out.push(file)
    }
    return out
  }
  return {
    id: 'aws/ami-lists',
    where: `source ${ctx.source.url}`,
    check: async () => {
      const files = await wanted()
      if (!files) return [`write the AMI lists of ${name} to ${ctx.source.url} (once every region has the AMI)`]
      const todo = await stale(files)
      return todo.length === 0 ? [] : [`write ${todo.join(', ')} to ${ctx.source.url}`]
    },
    run: async () => {
      const files = await wanted()
      if (!files)
        throw new InfraError(`aws: AMI ${name} is missing in some region; cannot write the AMI lists`, {
          hint: 'run plume pre-release again',
        })
      for (const file of await stale(files)) {
        const contentType = file.endsWith('.json') ? 'application/json' : 'text/plain'
        await bucket.write(`${prefix}${file}`, files.get(file)!, {contentType, signal: ctx.signal})
      }
    },
  }
}

function rawImage(stage: AwsStage): string {
  const image = stage.ctx.images.get(stage.spec.image)
  if (!image) throw new InfraError(`aws: ${stage.spec.image} did not pass the signature gate`)
  return image.raw ?? image.path
}

/** A snapshot tagged with the image's name, or an import of it still running: what uploadImage reuses. */
async function importedOrImporting(ec2: Ec2Api, name: string): Promise<boolean> {
  const snapshots = await ec2.describeSnapshots({OwnerIds: ['self'], Filters: [{Name: 'tag:Name', Values: [name]}]})
  if (snapshots.Snapshots?.some((x) => x.State === 'completed')) return true
  const tasks = await ec2.describeImportSnapshotTasks({})
  return (tasks.ImportSnapshotTasks ?? []).some((t) => t.Description === name && t.SnapshotTaskDetail?.Status === 'active')
}

/** The tags a copy and its snapshot must carry: the original's and its snapshot's, without AWS's own. */
async function copyTags(
  stage: AwsStage,
  partition: AwsPartitionSpec,
  region: string,
  source: {
    Tags?: {Key?: string | undefined; Value?: string | undefined}[] | undefined
    BlockDeviceMappings?: {Ebs?: {SnapshotId?: string | undefined} | undefined}[] | undefined
  },
) {
  const own = (tags: {Key?: string | undefined; Value?: string | undefined}[] | undefined): Record<string, string> =>
    Object.fromEntries((tags ?? []).filter((t) => t.Key && !t.Key.startsWith('aws:')).map((t) => [t.Key!, t.Value ?? '']))
  const snapshotId = snapshotOf(source)
  const ec2 = await stage.clients.ec2(partition, region)
  const snapshot = snapshotId ? (await ec2.describeSnapshots({SnapshotIds: [snapshotId]})).Snapshots?.[0] : undefined
  return {image: own(source.Tags), snapshot: own(snapshot?.Tags)}
}

/** What a region still lacks of its copy: the copy itself, its being available, its tags and its snapshot's. */
async function copyActions(
  stage: AwsStage,
  partition: AwsPartitionSpec,
  region: string,
  name: string,
  wanted: {image: Record<string, string>; snapshot: Record<string, string>} | undefined,
): Promise<string[]> {
  const image = await findImage(stage, partition, region, name)
  if (!image?.ImageId) return [`copy AMI ${name} from {home} to ${region}`]
  if (image.State !== 'available')
    return [`wait for the copy ${image.ImageId} of ${name} in ${region} (${image.State}), then tag it and its snapshot`]
  if (!wanted) return []
  const lacks = (want: Record<string, string>, have: Record<string, string>): boolean =>
    Object.entries(want).some(([k, v]) => have[k] !== v)
  const actions: string[] = []
  if (lacks(wanted.image, aws.fromTags(image.Tags))) actions.push(`tag the copy ${image.ImageId} of ${name} in ${region}`)
  const snapshotId = snapshotOf(image)
  if (snapshotId && Object.keys(wanted.snapshot).length > 0) {
    const snapshot = (await (await stage.clients.ec2(partition, region)).describeSnapshots({SnapshotIds: [snapshotId]})).Snapshots?.[0]
    if (lacks(wanted.snapshot, aws.fromTags(snapshot?.Tags))) actions.push(`tag snapshot ${snapshotId} of the copy of ${name} in ${region}`)
  }
  return actions
}

async function findImage(stage: AwsStage, partition: AwsPartitionSpec, region: string, name: string) {
  return aws.findImageByName(await stage.clients.ec2(partition, region), name)
}

async function requireImage(stage: AwsStage, partition: AwsPartitionSpec, region: string, name: string) {
  const image = await findImage(stage, partition, region, name)
  if (!image?.ImageId) throw new InfraError(`aws ${partition.name}: no AMI ${name} in ${region}`, {hint: 'run plume pre-release again'})
  return image
}

function snapshotOf(image: {
  BlockDeviceMappings?: {Ebs?: {SnapshotId?: string | undefined} | undefined}[] | undefined
}): string | undefined {
  return image.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId
}

/** Waits until the AMI of that name is available; returns it with its snapshot. */
async function waitAvailable(stage: AwsStage, ec2: Ec2Api, name: string): Promise<{id: string; snapshotId: string}> {
  return pollUntil(
    async () => {
      const image = await aws.findImageByName(ec2, name)
      if (!image?.ImageId) throw new InfraError(`aws: no AMI ${name} in ${ec2.region}`)
      if (image.State === 'failed' || image.State === 'error' || image.State === 'invalid')
        throw new InfraError(`aws: AMI ${image.ImageId} in ${ec2.region} is ${image.State}`)
      const snapshotId = snapshotOf(image)
      return image.State === 'available' && snapshotId ? {id: image.ImageId, snapshotId} : undefined
    },
    {what: `AMI ${name} in ${ec2.region} to become available`, intervalMs: stage.ctx.pollIntervalMs, signal: stage.ctx.signal},
  )
}

async function missingGrants(
  stage: AwsStage,
  partition: AwsPartitionSpec,
  region: string,
  name: string,
  users: string[],
): Promise<string[]> {
  const ec2 = await stage.clients.ec2(partition, region)
  const image = await aws.findImageByName(ec2, name)
  if (!image?.ImageId) return users
  const snapshotId = snapshotOf(image)
  const missing: string[] = []
  for (const user of users) {
    const launch = await ec2.describeImages({ImageIds: [image.ImageId], ExecutableUsers: [user]})
    const volume = snapshotId ? await snapshotSharedWith(ec2, snapshotId, user) : false
    if (!launch.Images?.length || !volume) missing.push(user)
  }
  return missing
}

/** True when a snapshot may be restored by that account (or by everyone, for 'all'). */
async function snapshotSharedWith(ec2: Ec2Api, snapshotId: string, user: string): Promise<boolean> {
  const out = await ec2.describeSnapshots({SnapshotIds: [snapshotId], RestorableByUserIds: [user]})
  return (out.Snapshots?.length ?? 0) > 0
}
