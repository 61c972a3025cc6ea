import {basename} from 'node:path'

import {
  awsAuthInput,
  type ProfileFlagValues,
  azureAuthInput,
  gceAuthInput,
  profileAuthInput,
  resolveEndpoints,
  type AwsAuthInput,
  type AzureAuthInput,
  type GceAuthInput,
  type ProfileAuthInput,
} from '@mantle/auth'
import {
  aws,
  azure,
  brightbox,
  digitalocean,
  esx,
  gcloud,
  oci,
  openstack,
  packet,
  parseDuration,
  stackit,
  type ServiceContext,
} from '@mantle/cloud'
import {UsageError, type AbortUploadsOptions, type BaseFlags, type CommandContext, type IndexOptions, type SyncOptions} from '@mantle/kit'

import type AwsCopyImage from './commands/aws/copy-image.js'
import type AwsDelete from './commands/aws/delete.js'
import type AwsUpload from './commands/aws/upload.js'
import type AzureCreateGalleryImage from './commands/azure/create-gallery-image.js'
import type AzureCreateImage from './commands/azure/create-image.js'
import type AzureDeleteImage from './commands/azure/delete-image.js'
import type AzureReplicateImage from './commands/azure/replicate-image.js'
import type AzureShareImage from './commands/azure/share-image.js'
import type AzureUploadBlob from './commands/azure/upload-blob.js'
import type DoCreateImage from './commands/do/create-image.js'
import type DoDeleteKeys from './commands/do/delete-keys.js'
import type EsxCreateBase from './commands/esx/create-base.js'
import type GcloudCreateImage from './commands/gcloud/create-image.js'
import type GcloudCreateInstances from './commands/gcloud/create-instances.js'
import type GcloudDeprecateImage from './commands/gcloud/deprecate-image.js'
import type GcloudUpload from './commands/gcloud/upload.js'
import type OciCreateImage from './commands/oci/create-image.js'
import type BrightboxCreateImage from './commands/brightbox/create-image.js'
import type StackitCreateImage from './commands/stackit/create-image.js'
import type OpenstackCreateImage from './commands/openstack/create-image.js'
import type PacketCreateDevice from './commands/packet/create-device.js'
import type PacketDeleteKeys from './commands/packet/delete-keys.js'
import type ScalewayCreateImage from './commands/scaleway/create-image.js'
import type AkamaiCreateImage from './commands/akamai/create-image.js'
import type StorageAbortUploads from './commands/storage/abort-uploads.js'
import type StorageIndex from './commands/storage/index-pages.js'
import type StorageSync from './commands/storage/sync.js'
import type {Provider} from './services/credentials.js'

/**
 * ore's flag-to-option mapping, all of it: pure, typed functions from a
 * command's parsed flags (and positional arguments) to the options its
 * service or cloud module takes. Commands parse, resolve credentials with the
 * inputs built here, and call; services never see a flag. Credential flags
 * map through auth's typed inputs (awsAuthInput, ...), endpoints through
 * auth's one resolveEndpoints.
 */

/** `key=value` flags (tags, labels) as a map. */
export function keyValues(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const v of values ?? []) {
    const eq = v.indexOf('=')
    if (eq <= 0) throw new UsageError(`--${flag} "${v}" is not key=value`)
    out[v.slice(0, eq)] = v.slice(eq + 1)
  }
  return out
}

/** The gc commands' `--duration` and `--dry-run`. */
export function gcOptions(flags: {duration: string; 'dry-run': boolean}): {olderThanMs: number; dryRun: boolean} {
  return {olderThanMs: parseDuration(flags.duration), dryRun: flags['dry-run']}
}

/*
 * Where gc looks for our managed clusters (kola kube's gke, eks, aks
 * deployers): GKE in every location of the project ('-'), AKS in
 * --resource-group (its client wants a location: --azure-location, unused by
 * list and delete), EKS in the session's --region.
 */
export const GKE_GC_LOCATION = '-'

export function aksGcInput(flags: {'resource-group': string; 'azure-location': string}): {resourceGroup: string; location: string} {
  return {resourceGroup: flags['resource-group'], location: flags['azure-location']}
}

// ---- credentials

/** `ore credentials <provider>`: the typed input of that provider's resolver. */
export type CredentialInput =
  | {provider: 'aws'; input: AwsAuthInput}
  | {provider: 'gce'; input: GceAuthInput}
  | {provider: 'azure'; input: AzureAuthInput}
  | {provider: Exclude<Provider, 'aws' | 'gce' | 'azure'>; input: ProfileAuthInput}

export function credentialInput(
  provider: Provider,
  flags: Parameters<typeof awsAuthInput>[0] &
    Parameters<typeof gceAuthInput>[0] &
    Parameters<typeof azureAuthInput>[0] &
    Record<
      `${'do' | 'esx' | 'openstack' | 'packet' | 'hetzner' | 'scaleway' | 'akamai' | 'oci' | 'stackit' | 'brightbox'}-${'profile' | 'config-file'}`,
      string | undefined
    >,
): CredentialInput {
  switch (provider) {
    case 'aws':
      return {provider, input: awsAuthInput(flags)}
    case 'gce':
      return {provider, input: gceAuthInput(flags)}
    case 'azure':
      return {provider, input: azureAuthInput(flags)}
    default:
      return {provider, input: profileAuthInput(provider, flags)}
  }
}

// ---- aws

/**
 * The AWS session of every aws command. The staging S3 endpoint resolves like
 * every other S3 path of the suite (auth's resolveEndpoints): --s3-endpoint,
 * then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL.
 */
export function awsSessionInput(
  flags: Parameters<typeof awsAuthInput>[0] & {'s3-endpoint'?: string | undefined},
  env: NodeJS.ProcessEnv,
): {auth: AwsAuthInput; s3Endpoint: string | undefined} {
  return {auth: awsAuthInput(flags), s3Endpoint: resolveEndpoints({s3: flags['s3-endpoint']}, env).s3}
}

/** copy-image's source AMI, target regions (every positional argument, checked before any credential is read) and --wait. */
export function awsCopyImageInput(
  flags: BaseFlags<typeof AwsCopyImage>,
  regions: readonly string[],
): {imageId: string; regions: string[]; wait: boolean} {
  for (const r of regions) aws.validateRegionName(r)
  return {imageId: flags.image, regions: [...regions], wait: flags.wait}
}

export function awsDeleteOptions(
  flags: BaseFlags<typeof AwsDelete>,
  ec2: aws.Ec2Api,
  context: ServiceContext,
): Parameters<typeof aws.deleteImage>[0] {
  if (!flags.image && !flags.name) throw new UsageError('aws delete: give --image or --name')
  return {ec2, imageId: flags.image, name: flags.name, keepSnapshots: flags['keep-snapshots'], context}
}

/** `--bucket` of aws initialize: a bucket name, or s3://bucket. */
export function awsInitializeBucket(bucket: string): string {
  return bucket.startsWith('s3://') ? aws.parseS3Url(bucket).bucket : bucket
}

type AwsUploadFlags = BaseFlags<typeof AwsUpload>

/** What `aws upload` checks before touching credentials: the AMI name, the source, where it is staged. */
export function awsUploadPlan(flags: AwsUploadFlags): {name: string; bucket: string; key: string; file: string | undefined} {
  const name = flags['ami-name'] ?? flags.name
  if (!name) throw new UsageError('aws upload: --ami-name or --name is required')
  if (!flags['source-snapshot'] && !flags.file && !flags['source-object'])
    throw new UsageError('aws upload: give --file, --source-object or --source-snapshot')
  return {name, ...stagingLocation(flags), file: flags['source-object'] || flags['source-snapshot'] ? undefined : flags.file}
}

/** Where the image is staged: --source-object, or --bucket plus <board>/<version>/<file>. */
function stagingLocation(flags: AwsUploadFlags): {bucket: string; key: string} {
  if (flags['source-object']) {
    const {bucket, prefix} = aws.parseS3Url(flags['source-object'])
    if (!prefix) throw new UsageError('aws upload: --source-object must name an object, s3://bucket/key')
    return {bucket, key: prefix.slice(0, -1)}
  }
  if (flags['source-snapshot']) return {bucket: '', key: ''}
  if (!flags.bucket) throw new UsageError('aws upload: --bucket s3://bucket[/prefix] is required to stage the file')
  const {bucket, prefix} = aws.parseS3Url(flags.bucket)
  return {bucket, key: `${prefix}${flags.board}/${flags.version ? `${flags.version}/` : ''}${basename(flags.file!)}`}
}

export function awsUploadOptions(
  flags: AwsUploadFlags,
  plan: ReturnType<typeof awsUploadPlan>,
  clients: {ec2: aws.Ec2Api; store: aws.ObjectStore | undefined; volumeSizeGiB: number | undefined},
  context: ServiceContext,
): aws.UploadImageOptions {
  return {
    ec2: clients.ec2,
    bucket: plan.bucket,
    key: plan.key,
    store: clients.store,
    file: plan.file,
    sourceSnapshot: flags['source-snapshot'],
    format: flags['object-format'],
    name: plan.name,
    description: flags['ami-description'],
    architecture: flags.board.startsWith('arm64') ? 'arm64' : 'x86_64',
    volumeSizeGiB: clients.volumeSizeGiB,
    volumeType: flags['volume-type'],
    bootMode: flags['boot-mode'],
    deleteObject: flags['delete-object'],
    force: flags.force,
    grantUsers: flags['grant-user'],
    tags: keyValues(flags.tags, 'tags'),
    context,
  }
}

/** list-regions: --all includes the regions the account has not opted in to. */
export function awsListRegionsOptions(flags: {all: boolean}): {all: boolean} {
  return {all: flags.all}
}

// ---- azure

/** The azure topic's connection: credentials, subscription, and for blobs the account and endpoint. */
export function azureSessionInput(
  flags: Parameters<typeof azureAuthInput>[0] & {
    'azure-subscription'?: string | undefined
    'storage-account'?: string | undefined
    'blob-endpoint'?: string | undefined
  },
): {
  auth: AzureAuthInput
  subscriptionId: string | undefined
  storageAccount: string | undefined
  blobEndpoint: string | undefined
} {
  return {
    auth: azureAuthInput(flags),
    subscriptionId: flags['azure-subscription'],
    storageAccount: flags['storage-account'],
    blobEndpoint: flags['blob-endpoint'],
  }
}

export function azureCreateImageOptions(
  flags: BaseFlags<typeof AzureCreateImage>,
  compute: azure.AzureComputeApi,
  context: ServiceContext,
): Parameters<typeof azure.createImage>[0] {
  return {
    compute,
    resourceGroup: flags['resource-group'],
    name: flags['image-name'],
    location: flags['azure-location'],
    blobUrl: flags['blob-url'],
    hyperVGeneration: flags['hyper-v-generation'],
    force: flags.force,
    context,
  }
}

export function azureCreateGalleryImageOptions(
  flags: BaseFlags<typeof AzureCreateGalleryImage>,
  compute: azure.AzureComputeApi,
  context: ServiceContext,
): Parameters<typeof azure.createGalleryImage>[0] {
  return {
    compute,
    resourceGroup: flags['resource-group'],
    gallery: flags.gallery,
    image: flags['image-name'],
    version: flags.version,
    location: flags['azure-location'],
    blobUrl: flags['blob-url'],
    storageAccountId: flags['storage-account-id'],
    publisher: flags.publisher,
    offer: flags.offer,
    sku: flags.sku,
    hyperVGeneration: flags['hyper-v-generation'],
    architecture: flags.architecture,
    features: Object.entries(keyValues(flags.feature, 'feature')).map(([name, value]) => ({name, value})),
    regions: flags.region,
    context,
  }
}

/** What delete-image deletes: a managed image, or with --gallery a gallery image version (checked before any credential is read). */
export function azureDeleteImageTarget(
  flags: BaseFlags<typeof AzureDeleteImage>,
): Omit<Parameters<typeof azure.deleteImage>[0], 'compute' | 'context'> {
  if (flags.version && !flags.gallery) throw new UsageError('azure delete-image: --version needs --gallery')
  return {
    resourceGroup: flags['resource-group'],
    ...(flags.gallery
      ? {gallery: {gallery: flags.gallery, image: flags['image-name'], version: flags.version!}}
      : {name: flags['image-name']}),
  }
}

/** replicate-image adds --region, unreplicate-image removes them. */
export function azureReplicateOptions(
  flags: BaseFlags<typeof AzureReplicateImage>,
  change: 'add' | 'remove',
  compute: azure.AzureComputeApi,
  context: ServiceContext,
): Parameters<typeof azure.replicateGalleryImage>[0] {
  return {
    compute,
    resourceGroup: flags['resource-group'],
    gallery: flags.gallery,
    image: flags['image-name'],
    version: flags.version,
    [change]: flags.region,
    context,
  }
}

export function azureShareOptions(
  flags: BaseFlags<typeof AzureShareImage>,
  compute: azure.AzureComputeApi,
  context: ServiceContext,
): Parameters<typeof azure.shareGallery>[0] {
  return {
    compute,
    resourceGroup: flags['resource-group'],
    gallery: flags.gallery,
    permission: flags.permission,
    subscriptions: flags.subscription,
    context,
  }
}

export function azureUploadBlobOptions(
  flags: BaseFlags<typeof AzureUploadBlob>,
  blob: azure.PageBlobApi,
  context: ServiceContext,
): Parameters<typeof azure.uploadVhd>[0] {
  return {blob, file: flags.file, overwrite: flags.overwrite, validate: flags.validate, context}
}

/** The blob upload-blob writes: --container and --blob-name (default: the file's name). */
export function azureBlobName(flags: BaseFlags<typeof AzureUploadBlob>): {container: string; blob: string} {
  return {container: flags.container, blob: flags['blob-name'] ?? basename(flags.file)}
}

// ---- gcloud

/** The instances or images a gcloud listing or cleanup looks at: --basename of instances, --prefix of images. */
export function gcloudInstancesInput(flags: {basename: string}): {basename: string} {
  return {basename: flags.basename}
}

export function gcloudImagesInput(flags: {prefix?: string | undefined}): {prefix: string | undefined} {
  return {prefix: flags.prefix}
}

export function gcloudComputeInput(flags: Parameters<typeof gceAuthInput>[0] & {project?: string | undefined}): {
  auth: GceAuthInput
  project: string | undefined
} {
  return {auth: gceAuthInput(flags), project: flags.project}
}

/** Compute Engine's, GKE's and DigitalOcean's API roots: the default, or gcloud's / doctl's override variables (auth's resolveEndpoints). */
export function restCloudEndpoints(env: NodeJS.ProcessEnv): {
  gceCompute: string | undefined
  gkeContainer: string | undefined
  digitalocean: string | undefined
} {
  const {gceCompute, gkeContainer, digitalocean} = resolveEndpoints({}, env)
  return {gceCompute, gkeContainer, digitalocean}
}

export function gcloudCreateImageOptions(
  flags: BaseFlags<typeof GcloudCreateImage>,
  compute: gcloud.GceComputeApi,
  context: ServiceContext,
): Parameters<typeof gcloud.createImage>[0] {
  return {
    compute,
    name: gcloud.imageName(flags.family, flags.version),
    family: flags.family,
    description: flags.description,
    source: `${flags['source-root'].replace(/\/+$/, '')}/${flags.board}/${flags.version}/${flags['source-name']}`,
    guestOsFeatures: flags['guest-os-feature'],
    architecture: flags.board.startsWith('arm64') ? 'ARM64' : 'X86_64',
    force: flags.force,
    context,
  }
}

/** create-instances' machines (--image is required; checked before any credential is read). */
export function gcloudCreateInstancesInput(
  flags: BaseFlags<typeof GcloudCreateInstances>,
): Omit<Parameters<typeof gcloud.createInstances>[0], 'compute' | 'userData' | 'context'> {
  if (!flags.image) throw new UsageError('gcloud create-instances: --image is required')
  return {
    zone: flags.zone,
    count: flags.count,
    basename: flags.basename,
    image: flags.image,
    machineType: flags.machinetype,
    diskType: flags.disktype,
    network: flags.network,
    sshKeys: flags['ssh-key'],
  }
}

export function gcloudDeprecateOptions(
  flags: BaseFlags<typeof GcloudDeprecateImage>,
  name: string,
  compute: gcloud.GceComputeApi,
  context: ServiceContext,
): Parameters<typeof gcloud.deprecateImage>[0] {
  return {compute, name, state: flags.state, replacement: flags.replacement, context}
}

/** The object gcloud upload writes: <bucket prefix>/<board>/<name or the file's name>. */
export function gcloudUploadKey(flags: BaseFlags<typeof GcloudUpload>, locationKey: string): string {
  const prefix = locationKey ? `${locationKey.replace(/\/+$/, '')}/` : ''
  return `${prefix}${flags.board}/${flags.name ?? basename(flags.file)}`
}

// ---- do, esx, openstack, packet

/** The ESX connection's --insecure (accept the server's self-signed certificate). */
export function esxApiInput(flags: {insecure: boolean}): {insecure: boolean} {
  return {insecure: flags.insecure}
}

/** VMs by name: the names given (positional), else those starting with --prefix (every VM without either, for listing). */
export function esxVmsInput(flags: {prefix?: string | undefined}, names: readonly string[]): {names: string[]; prefix: string | undefined} {
  return {names: [...names], prefix: flags.prefix}
}

export function doCreateImageOptions(
  flags: BaseFlags<typeof DoCreateImage>,
  api: digitalocean.DoApi,
  context: ServiceContext,
): Parameters<typeof digitalocean.createDoImage>[0] {
  return {
    api,
    name: flags.name,
    url: flags.url,
    region: flags.region,
    distribution: flags.distribution,
    description: flags.description,
    context,
  }
}

/** delete-keys of do and packet: the names given, or --prefix. */
export function keysToDelete(
  flags: BaseFlags<typeof DoDeleteKeys> | BaseFlags<typeof PacketDeleteKeys>,
  names: readonly string[],
  topic: 'do' | 'packet',
): {names: string[]; prefix: string | undefined} {
  if (names.length === 0 && !flags.prefix) throw new UsageError(`${topic} delete-keys: name the keys, or give --prefix`)
  return {names: [...names], prefix: flags.prefix}
}

export function esxCreateBaseOptions(
  flags: BaseFlags<typeof EsxCreateBase>,
  api: esx.EsxApi,
  context: ServiceContext,
): Parameters<typeof esx.createBaseVm>[0] {
  return {api, name: flags.name, file: flags.file, datastore: flags.datastore, resourcePool: flags['resource-pool'], context}
}

export function openstackCreateImageOptions(
  flags: BaseFlags<typeof OpenstackCreateImage>,
  api: openstack.OpenStackApi,
  context: ServiceContext,
): Parameters<typeof openstack.createOpenStackImage>[0] {
  return {api, name: flags.name, file: flags.file, diskFormat: flags['disk-format'], force: flags.force, context}
}

export function packetCreateDeviceOptions(
  flags: BaseFlags<typeof PacketCreateDevice>,
  userdata: string | undefined,
  api: packet.PacketApi,
  context: ServiceContext,
): Parameters<typeof packet.createPacketDevice>[0] {
  return {
    api,
    input: {
      hostname: flags.hostname,
      plan: flags.plan,
      metro: flags.metro,
      operating_system: flags['operating-system'],
      ipxe_script_url: flags['ipxe-script-url'],
      userdata,
      ...(flags['ipxe-script-url'] ? {always_pxe: false} : {}),
    },
    context,
  }
}

// ---- oci

/** Every oci command: the profile, the compartment, and --oci-endpoint for all three services. */
export function ociApiInput(
  flags: ProfileFlagValues<'oci'> & {'oci-compartment'?: string | undefined; 'oci-endpoint'?: string | undefined},
): {
  auth: ProfileAuthInput
  compartmentId: string | undefined
  endpoints: oci.OciEndpoints | undefined
} {
  const e = flags['oci-endpoint']?.replace(/\/+$/, '')
  return {
    auth: profileAuthInput('oci', flags),
    compartmentId: flags['oci-compartment'],
    endpoints: e ? {iaas: e, identity: e, objectStorage: e} : undefined,
  }
}

/** create-image: the object is <board>/<file name> unless --object names it (the original's default). */
export function ociCreateImageOptions(
  flags: BaseFlags<typeof OciCreateImage>,
  api: oci.OciApi,
  context: ServiceContext,
): Parameters<typeof oci.createOciImage>[0] {
  return {
    api,
    name: flags.name,
    file: flags.file,
    bucket: flags.bucket,
    namespace: flags.namespace,
    object: flags.object ?? `${flags.board}/${basename(flags.file)}`,
    compartmentId: flags['oci-compartment'],
    sourceImageType: flags['source-image-type'] as 'QCOW2' | 'VMDK' | undefined,
    context,
  }
}

// ---- stackit

/** Every stackit command: the profile, and the hidden endpoint overrides. */
export function stackitApiInput(
  flags: ProfileFlagValues<'stackit'> & {'stackit-endpoint'?: string | undefined; 'stackit-token-url'?: string | undefined},
): {auth: ProfileAuthInput; endpoints: {endpoint: string | undefined; tokenUrl: string | undefined}} {
  return {auth: profileAuthInput('stackit', flags), endpoints: {endpoint: flags['stackit-endpoint'], tokenUrl: flags['stackit-token-url']}}
}

export function stackitCreateImageOptions(
  flags: BaseFlags<typeof StackitCreateImage>,
  api: stackit.StackitApi,
  context: ServiceContext,
): Parameters<typeof stackit.createStackitImage>[0] {
  return {api, name: flags.name, file: flags.file, board: flags.board, context}
}

// ---- brightbox

/** Every brightbox command's hidden --brightbox-endpoint (else the profile's api_url, else gb1). */
export function brightboxEndpoint(flags: {'brightbox-endpoint'?: string | undefined}): string | undefined {
  return flags['brightbox-endpoint']
}

export function brightboxCreateImageOptions(
  flags: BaseFlags<typeof BrightboxCreateImage>,
  api: brightbox.BrightboxApi,
  context: ServiceContext,
): Parameters<typeof brightbox.createBrightboxImage>[0] {
  return {api, name: flags.name, url: flags.url, board: flags.board, context}
}

// ---- storage

type StorageContext = Pick<CommandContext, 'logger' | 'signal'>

export function indexOptions(
  flags: BaseFlags<typeof StorageIndex>,
  location: {bucket: IndexOptions['bucket']; key: string},
  context: StorageContext,
): IndexOptions {
  return {
    bucket: location.bucket,
    prefix: location.key,
    title: flags['html-title'],
    directoryHtml: flags.directories,
    indexHtml: true,
    delete: flags.delete,
    recursive: flags.recursive,
    dryRun: flags['dry-run'],
    force: flags.force,
    logger: context.logger,
    signal: context.signal,
  }
}

export function syncOptions(
  flags: BaseFlags<typeof StorageSync>,
  from: {bucket: SyncOptions['source']; key: string},
  to: {bucket: SyncOptions['destination']; key: string},
  context: StorageContext,
): SyncOptions {
  return {
    source: from.bucket,
    sourcePrefix: from.key,
    destination: to.bucket,
    destinationPrefix: to.key,
    delete: flags.delete,
    recursive: flags.recursive,
    dryRun: flags['dry-run'],
    force: flags.force,
    indexDirs: flags['index-dirs'],
    indexHtml: flags['index-html'],
    title: flags['html-title'],
    transfers: flags.transfers,
    checkers: flags.checkers,
    logger: context.logger,
    signal: context.signal,
  }
}

export function abortUploadsOptions(
  flags: BaseFlags<typeof StorageAbortUploads>,
  location: {bucket: AbortUploadsOptions['bucket']; key: string},
  context: StorageContext,
): AbortUploadsOptions {
  return {
    bucket: location.bucket,
    prefix: location.key,
    olderThanMs: parseDuration(flags['older-than']),
    dryRun: flags['dry-run'],
    logger: context.logger,
    signal: context.signal,
  }
}

// ---- scaleway (#24)

/** The zone of every scaleway command, and the API root (SCW_API_URL, the Scaleway CLI's variable). */
export function scalewayApiInput(flags: {'scaleway-zone': string}, env: NodeJS.ProcessEnv): {zone: string; endpoint: string | undefined} {
  return {zone: flags['scaleway-zone'], endpoint: resolveEndpoints({}, env).scaleway}
}

/** Where create-image stages the disk: <channel>/<version>/<board>/<file> in --bucket (the original's key), and the snapshot's name. */
export function scalewayCreateImagePlan(flags: BaseFlags<typeof ScalewayCreateImage>): {
  bucket: string
  key: string
  file: string
  name: string
} {
  if (!/\.qcow2$/i.test(flags.file))
    throw new UsageError(`scaleway create-image: ${flags.file} is not a .qcow2 disk`, {
      hint: 'Scaleway imports qcow2 images; convert with qemu-img convert -O qcow2',
    })
  const key = `${flags.channel}/${flags.version}/${flags.board}/${basename(flags.file)}`
  return {bucket: flags.bucket, key, file: flags.file, name: flags.name ?? key}
}

// ---- akamai (#24)

/** The API root of every akamai command (LINODE_URL, linodego's variable). */
export function akamaiApiInput(env: NodeJS.ProcessEnv): {endpoint: string | undefined} {
  return {endpoint: resolveEndpoints({}, env).akamai}
}

/** create-image's disk, image label and region. */
export function akamaiCreateImageInput(flags: BaseFlags<typeof AkamaiCreateImage>): {file: string; name: string; region: string} {
  return {file: flags.file, name: flags.name, region: flags['akamai-region']}
}
