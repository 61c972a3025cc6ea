/** The channel configuration, as channels/schema.json describes it (camelCase keys). */

export interface ChannelsConfig {
  /** The file it was read from, for messages. */
  file: string
  channels: Record<string, ChannelSpec>
}

export interface ChannelSpec {
  source: string
  boards: string[]
  verify?: string[]
  verifyKey?: string
  destinations?: DestinationSpec[]
  gce?: GceSpec
  aws?: AwsSpec
  azure?: AzureSpec
}

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
}

export interface AwsPartitionSpec {
  name: string
  profile?: string
  bucket: string
  bucketRegion: string
  launchPermissions?: string[]
  regions: string[]
}

export interface AwsSpec {
  baseName: string
  baseDescription?: string
  prefix?: string
  image: string
  partitions: AwsPartitionSpec[]
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
}

export const PLATFORMS = ['aws', 'azure', 'gce'] as const
export type Platform = (typeof PLATFORMS)[number]
