import {createReadStream} from 'node:fs'
import {basename} from 'node:path'

import type * as EC2 from '@aws-sdk/client-ec2'

import {BugError, InfraError, UsageError} from '@mantle/kit'
import type {Bucket} from '@mantle/kit/storage/types'

import {uploadProgress, type ServiceContext} from '../common/context.js'
import {requireFile} from '../common/files.js'
import {MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {errorMessage} from '../common/retry.js'
import {pollUntil} from '../common/wait.js'
import type {Ec2Api} from './clients.js'
import {awsCode} from './errors.js'
import {findImageByName, toTags} from './images.js'

/** Where a disk image is staged before ImportSnapshot: kit's S3 backend, or anything with the same calls. */
export type ObjectStore = Pick<Bucket, 'write' | 'delete' | 'stat'>

export interface UploadImageOptions {
  ec2: Ec2Api
  /** The S3 bucket and key ImportSnapshot reads from. */
  bucket: string
  key: string
  /** Writes and deletes the staged object; needed unless sourceSnapshot is given. */
  store?: ObjectStore | undefined
  /** A local disk image to upload; omit to import an object already at bucket/key. */
  file?: string | undefined
  /** Skip upload and import: register this snapshot. */
  sourceSnapshot?: string | undefined
  format: 'vmdk' | 'raw'
  /** AMI name; the snapshot is tagged with it too, which is how a rerun finds it. */
  name: string
  description?: string | undefined
  architecture: 'x86_64' | 'arm64'
  volumeSizeGiB?: number | undefined
  /** EBS volume type of the root device (default gp3). */
  volumeType?: EC2.VolumeType | undefined
  /** uefi-preferred lets x86 instance types boot with UEFI (Secure Boot, NitroTPM) where they can (Flatcar's choice). */
  bootMode?: 'legacy-bios' | 'uefi' | 'uefi-preferred' | undefined
  /** Delete the staged object afterwards, also on failure (default true). */
  deleteObject?: boolean | undefined
  /** Replace an AMI of the same name and re-upload. */
  force?: boolean | undefined
  grantUsers?: string[] | undefined
  tags?: Record<string, string> | undefined
  context: ServiceContext
}

export interface UploadImageResult {
  region: string
  name: string
  imageId: string
  snapshotId: string
  /** s3://bucket/key, when an object was staged or imported. */
  object?: string | undefined
  objectDeleted: boolean
  reusedSnapshot: boolean
  reusedImage: boolean
}

const AMI_NAME_BAD = /[^a-zA-Z0-9()[\] ./\-'@_]/g

/** AMI names allow only some characters; the others become '_' (as plume does). */
export function sanitizeAmiName(name: string): string {
  return name.replace(AMI_NAME_BAD, '_')
}

/**
 * Uploads a disk image and registers it as an HVM AMI, idempotently: an AMI
 * or snapshot of the same name, or an import in progress, is reused; the
 * staged S3 object is deleted whatever happens, so a rerun leaks nothing.
 */
export async function uploadImage(options: UploadImageOptions): Promise<UploadImageResult> {
  const {ec2, context: ctx} = options
  const name = options.name
  if (name !== sanitizeAmiName(name) || name.length < 3 || name.length > 128) {
    throw new UsageError(`aws: invalid AMI name "${name}"`, {hint: "3-128 characters of letters, digits, ( ) [ ] space . / - ' @ _"})
  }
  if (options.file && !options.sourceSnapshot) await requireFile(options.file)
  const objectUrl = `s3://${options.bucket}/${options.key}`
  const result: UploadImageResult = {
    region: ec2.region,
    name,
    imageId: '',
    snapshotId: '',
    objectDeleted: false,
    reusedSnapshot: false,
    reusedImage: false,
  }

  const existing = await findImageByName(ec2, name)
  if (existing?.ImageId) {
    if (!options.force) {
      ctx.logger.notice(`AMI ${existing.ImageId} named ${name} exists in ${ec2.region}; reusing it`)
      const snapshotId = existing.BlockDeviceMappings?.find((b) => b.Ebs?.SnapshotId)?.Ebs?.SnapshotId ?? ''
      return {...result, imageId: existing.ImageId, snapshotId, reusedImage: true, reusedSnapshot: true}
    }
    ctx.logger.notice(`--force: deregistering AMI ${existing.ImageId} named ${name}`)
    await ec2.deregisterImage({ImageId: existing.ImageId})
  }
  // Forced: the snapshots of the name go too (the deregistered AMI's among them), else each forced run leaves one behind.
  if (options.force && !options.sourceSnapshot) await deleteSnapshotsNamed(ec2, name, ctx)

  if (options.sourceSnapshot) {
    result.snapshotId = options.sourceSnapshot
    result.reusedSnapshot = true
  } else {
    const found = options.force ? undefined : await findSnapshot(ec2, name)
    if (found) {
      ctx.logger.notice(`snapshot ${found} tagged ${name} exists; reusing it`)
      result.snapshotId = found
      result.reusedSnapshot = true
    } else {
      result.object = objectUrl
      const staged = await stageAndImport(options, objectUrl)
      result.snapshotId = staged.snapshotId
      result.objectDeleted = staged.objectDeleted
    }
  }

  const registered = await register(options, result.snapshotId)
  result.imageId = registered.imageId
  result.reusedImage = registered.reused
  if (options.grantUsers?.length) await grant(ec2, result.imageId, result.snapshotId, options.grantUsers)
  return result
}

async function stageAndImport(options: UploadImageOptions, objectUrl: string): Promise<{snapshotId: string; objectDeleted: boolean}> {
  const {ec2, context: ctx, name} = options
  const inProgress = options.force ? undefined : await findImportTask(ec2, name)
  if (inProgress) {
    ctx.logger.notice(`import task ${inProgress} for ${name} is in progress; waiting for it`)
    const snapshotId = await waitForImport(options, inProgress, objectUrl)
    await tagSnapshot(options, snapshotId)
    return {snapshotId, objectDeleted: false}
  }
  const deleteObject = options.deleteObject ?? true
  if (!options.store && (options.file || deleteObject))
    throw new BugError('uploadImage: a store is needed to upload or delete the staged object')
  let snapshotId: string
  try {
    if (options.file) await uploadFile(options, objectUrl)
    const task = await ec2.importSnapshot({
      Description: name,
      DiskContainer: {Description: name, Format: options.format.toUpperCase(), UserBucket: {S3Bucket: options.bucket, S3Key: options.key}},
      TagSpecifications: [{ResourceType: 'import-snapshot-task', Tags: toTags({Name: name, [MARKER_KEY]: MARKER_VALUE})}],
    })
    if (!task.ImportTaskId) throw new InfraError(`aws: ImportSnapshot of ${objectUrl} returned no task id`)
    ctx.logger.info(`importing ${objectUrl} as a snapshot (task ${task.ImportTaskId})`)
    snapshotId = await waitForImport(options, task.ImportTaskId, objectUrl)
  } finally {
    // Also on failure: a restart uploads again, and an orphaned object costs money.
    if (deleteObject && options.store) await deleteStaged(options.store, options.key, objectUrl, ctx)
  }
  await tagSnapshot(options, snapshotId)
  return {snapshotId, objectDeleted: deleteObject}
}

async function uploadFile(options: UploadImageOptions, objectUrl: string): Promise<void> {
  const file = options.file!
  const size = await requireFile(file)
  const {context: ctx} = options
  ctx.logger.info(`uploading ${file} to ${objectUrl}`)
  const progress = uploadProgress(ctx, `upload ${basename(file)}`, size)
  try {
    await options.store!.write(options.key, createReadStream(file), {
      size,
      onProgress: progress.onProgress,
      ...(ctx.signal ? {signal: ctx.signal} : {}),
    })
  } finally {
    progress.finish()
  }
}

async function deleteStaged(store: ObjectStore, key: string, objectUrl: string, ctx: ServiceContext): Promise<void> {
  try {
    await store.delete(key)
    ctx.logger.info(`deleted ${objectUrl}`)
  } catch (error) {
    // Never hide the error that brought us here; say what is left behind.
    ctx.logger.warn(`could not delete ${objectUrl}: ${errorMessage(error)}; delete it by hand`)
  }
}

async function waitForImport(options: UploadImageOptions, taskId: string, objectUrl: string): Promise<string> {
  const {ec2, context: ctx} = options
  return pollUntil(
    async () => {
      const out = await ec2.describeImportSnapshotTasks({ImportTaskIds: [taskId]})
      const detail = out.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail
      const status = detail?.Status
      if (status === 'completed' && detail?.SnapshotId) return detail.SnapshotId
      if (status === 'deleting' || status === 'deleted' || status === 'error') {
        throw new InfraError(`aws: import of ${objectUrl} failed (task ${taskId}): ${detail?.StatusMessage ?? status}`, {
          hint: 'the object must be a disk image of the given --object-format; see the VM Import requirements',
        })
      }
      ctx.logger.debug(`import ${taskId}: ${status ?? 'unknown'} ${detail?.Progress ?? ''}% ${detail?.StatusMessage ?? ''}`)
      return undefined
    },
    {what: `import task ${taskId}`, intervalMs: ctx.pollIntervalMs, signal: ctx.signal},
  )
}

async function tagSnapshot(options: UploadImageOptions, snapshotId: string): Promise<void> {
  await options.ec2.createTags({Resources: [snapshotId], Tags: toTags({Name: options.name, [MARKER_KEY]: MARKER_VALUE, ...options.tags})})
}

/** Deletes the snapshots tagged with the name; one that cannot go (another AMI uses it) is a warning, as in Flatcar's RemoveImage. */
export async function deleteSnapshotsNamed(ec2: Ec2Api, name: string, ctx: ServiceContext): Promise<string[]> {
  const out = await ec2.describeSnapshots({OwnerIds: ['self'], Filters: [{Name: 'tag:Name', Values: [name]}]})
  const deleted: string[] = []
  for (const s of out.Snapshots ?? []) {
    if (!s.SnapshotId) continue
    try {
      await ec2.deleteSnapshot({SnapshotId: s.SnapshotId})
      deleted.push(s.SnapshotId)
      ctx.logger.info(`deleted snapshot ${s.SnapshotId} (${name}) in ${ec2.region}`)
    } catch (error) {
      ctx.logger.warn(`could not delete snapshot ${s.SnapshotId} in ${ec2.region}: ${errorMessage(error)}`)
    }
  }
  return deleted
}

async function findSnapshot(ec2: Ec2Api, name: string): Promise<string | undefined> {
  const out = await ec2.describeSnapshots({OwnerIds: ['self'], Filters: [{Name: 'tag:Name', Values: [name]}]})
  return out.Snapshots?.find((s) => s.State === 'completed')?.SnapshotId
}

async function findImportTask(ec2: Ec2Api, name: string): Promise<string | undefined> {
  const out = await ec2.describeImportSnapshotTasks({})
  const task = out.ImportSnapshotTasks?.find((t) => t.Description === name && t.SnapshotTaskDetail?.Status === 'active')
  return task?.ImportTaskId
}

async function register(options: UploadImageOptions, snapshotId: string): Promise<{imageId: string; reused: boolean}> {
  const {ec2, context: ctx, name} = options
  const input: EC2.RegisterImageCommandInput = {
    Name: name,
    Description: options.description ?? name,
    Architecture: options.architecture,
    VirtualizationType: 'hvm',
    ...(options.bootMode ? {BootMode: options.bootMode} : {}),
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [
      {
        DeviceName: '/dev/xvda',
        Ebs: {
          SnapshotId: snapshotId,
          DeleteOnTermination: true,
          ...(options.volumeSizeGiB ? {VolumeSize: options.volumeSizeGiB} : {}),
          VolumeType: options.volumeType ?? 'gp3',
        },
      },
      {DeviceName: '/dev/xvdb', VirtualName: 'ephemeral0'},
    ],
    EnaSupport: true,
    SriovNetSupport: 'simple',
    TagSpecifications: [{ResourceType: 'image', Tags: toTags({Name: name, [MARKER_KEY]: MARKER_VALUE, ...options.tags})}],
  }
  try {
    const out = await ec2.registerImage(input)
    if (!out.ImageId) throw new InfraError(`aws: RegisterImage of ${name} returned no image id`)
    ctx.logger.info(`registered ${out.ImageId} (${name}) in ${ec2.region}`)
    return {imageId: out.ImageId, reused: false}
  } catch (error) {
    // A concurrent or earlier run registered it between our lookup and now: reuse it.
    if (awsCode(error) !== 'InvalidAMIName.Duplicate') throw error
    const image = await findImageByName(ec2, name)
    if (!image?.ImageId) throw new InfraError(`aws: RegisterImage says ${name} exists, but no AMI of that name is visible`)
    ctx.logger.notice(`AMI ${name} already registered as ${image.ImageId}; reusing it`)
    return {imageId: image.ImageId, reused: true}
  }
}

async function grant(ec2: Ec2Api, imageId: string, snapshotId: string, users: string[]): Promise<void> {
  await ec2.modifyImageAttribute({ImageId: imageId, LaunchPermission: {Add: users.map((UserId) => ({UserId}))}})
  await ec2.modifySnapshotAttribute({SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: users})
}
