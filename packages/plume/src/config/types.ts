/** The channel configuration, as channels/schema.json describes it (camelCase keys). */

export interface ChannelsConfig {
  /** The file it was read from, for messages. */
  file: string
  channels: Record<string, ChannelSpec>
}

export interface ChannelSpec {
  source: string
  /** The board names (the file may give a board as {name, arch, platforms}; those settings are in boardSettings). */
  boards: string[]
  /** Per board: its architecture and the clouds it publishes to (derived when the file gives a plain name). */
  boardSettings: Record<string, BoardSettings>
  verify?: string[]
  verifyKey?: string
  destinations?: DestinationSpec[]
  gce?: GceSpec
  aws?: AwsSpec
  azure?: AzureSpec
}

export type Arch = 'amd64' | 'arm64'

export interface BoardSettings {
  arch: Arch
  /** The clouds this board publishes to; undefined: every cloud the channel configures. */
  platforms?: Platform[] | undefined
}

/** A board as the file may give it: a name, or {name, arch, platforms}. */
export type BoardEntry = string | {name: string; arch?: Arch | undefined; platforms?: Platform[] | undefined}

export interface DestinationSpec {
  url: string
  title?: string
  namedPath?: string
  versionPath?: boolean
  directoryHtml?: boolean
  indexHtml?: boolean
}

export interface GceSpec {
  project: string
  family: string
  description?: string
  licenses?: string[]
  image: string
  publish?: string
  public?: boolean
  limit?: number
  /** Guest OS features of the images (default Flatcar's: VIRTIO_SCSI_MULTIQUEUE, UEFI_COMPATIBLE, GVNIC). */
  guestOsFeatures?: string[]
  /** gs:// location the verified image is uploaded to for images.insert (default: gs://<source bucket>/gce-staging/). */
  staging?: string
}

export interface AwsPartitionSpec {
  name: string
  profile?: string
  bucket: string
  bucketRegion: string
  launchPermissions?: string[]
  regions: string[]
}

export type AwsBootMode = 'legacy-bios' | 'uefi' | 'uefi-preferred'

export interface AwsMarketplaceSpec {
  /** Per architecture, the AWS Marketplace AMI products that get each release's AMI as a new version. */
  productIds: Partial<Record<Arch, string[]>>
  /** The role Marketplace assumes to read the AMI. */
  accessRoleArn: string
  /** The login user of instances (default core). */
  username?: string
  /** The credentials profile of the Marketplace account (default: the partition's). */
  profile?: string
  /** The region whose AMI is offered (default us-east-1, as Flatcar). */
  region?: string
  /** Recommended instance type per architecture (default t3.medium and m6g.medium, as Flatcar). */
  instanceTypes?: Partial<Record<Arch, string>>
  /** Release notes URL; {version} is replaced (default Flatcar's). */
  releaseNotes?: string
  /** Usage instructions shown on the listing. */
  usageInstructions?: string
}

export interface AwsSpec {
  baseName: string
  baseDescription?: string
  prefix?: string
  image: string
  partitions: AwsPartitionSpec[]
  /** Root volume size of the AMIs in GiB (default 16, Flatcar's ContainerLinuxDiskSizeGiB). */
  volumeSize?: number
  /** Root volume type (default gp2, as Flatcar registers). */
  volumeType?: 'gp2' | 'gp3'
  /** Boot mode of the AMIs (default uefi-preferred, as Flatcar). */
  bootMode?: AwsBootMode
  /** Optional: add each release's AMI to these AWS Marketplace products at release. */
  marketplace?: AwsMarketplaceSpec
}

export interface AzureEnvironmentSpec {
  name: string
  subscription?: string
  location?: string
  additionalContainers?: string[]
}

export interface AzureSpec {
  name: string
  offer?: string
  image: string
  storageAccount: string
  resourceGroup: string
  container: string
  environments: AzureEnvironmentSpec[]
  gallery?: string
  label?: string
  description?: string
  /** Hyper-V generation of images and gallery definitions (default V2). */
  hyperVGeneration?: 'V1' | 'V2'
  /** The SecurityType feature of gallery definitions (default TrustedLaunchAndConfidentialVMSupported). */
  securityType?: string
  /** The DiskControllerTypes feature (default "NVMe,SCSI"). */
  diskControllerTypes?: string
  /** The IsAcceleratedNetworkSupported feature (default true). */
  acceleratedNetworking?: boolean
  /** Regions every gallery image version is replicated to, besides the environment's location. */
  replicationRegions?: string[]
  /** Community gallery information: a new gallery is created shareable with the community only with it. */
  community?: {publisherUri: string; publisherContact: string; eula: string; publicNamePrefix: string}
  /** Write a read-only SAS URL of each VHD blob to the image list (for Partner Center), valid this many days. */
  sasUrlDays?: number
}

export const PLATFORMS = ['aws', 'azure', 'gce'] as const
export type Platform = (typeof PLATFORMS)[number]
