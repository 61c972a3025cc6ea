import {execFileSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import type {AwsAuth} from '@mantle/auth'
import {fixPrefix, Logger, openLocation, Redactor, type Bucket, type Keyring, type StorageOptions} from '@mantle/kit'
import {loadKeyring} from '@mantle/kit'

import {loadChannels} from '../config/load.js'
import {awsClients} from '../services/clouds.js'
import type {StageOptions} from '../services/stages.js'
import {resolveSpec} from '../spec.js'
import {installFakeEc2, type FakeEc2Options, type FakeEc2State} from './fake-ec2.js'
import {fakeAzure, fakeGce, fakeMarketplace, type FakeAzureState, type FakeGceState, type FakeMarketplaceState} from './fake-clouds.js'
import type {StateFile} from './state-file.js'

/**
 * A release world for the tests: a signed build in a source bucket, a channel
 * configuration publishing it to every kind of destination, and fake control
 * planes whose state lives in files (so a killed process leaves them as a
 * real cloud would). Local: everything in directories. Emulators: the source
 * on GCS, destinations on S3, Azure, GCS and a directory, AWS staging on S3.
 */
export interface WorldDescriptor {
  dir: string
  /** Unique per world: prefixes inside the shared emulator buckets. */
  run: string
  emulators?: EmulatorEnv | undefined
  channel: string
  /** The board a run works on unless told otherwise. */
  board: string
  /** Every board of the channel, each with its own build in the source. */
  boards: string[]
  version: string
}

export interface EmulatorEnv {
  s3: {endpoint: string; accessKey: string; secretKey: string; bucket: string; region: string}
  azure: {connectionString: string; account: string; container: string}
  gcs: {endpoint: string; bucket: string}
}

export const TEST_AWS_AUTH: AwsAuth = {
  credentials: {accessKeyId: 'AKIATESTTESTTEST0001', secretAccessKey: 'test-secret-key-0123456789abcdef'},
  region: 'us-east-1',
  profile: 'default',
  source: 'flags',
  accessKeyId: 'AKIATESTTESTTEST0001',
}

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const
/** The AMI products the fake Marketplace has (a channel lists them under aws.marketplace when a test wants them). */
export const MARKETPLACE_PRODUCTS = {'prod-flatcar-amd64': 'AmiProduct@1.0', 'prod-flatcar-arm64': 'AmiProduct@1.0'}
/** The channel's boards, as Flatcar's: both on AWS and Azure, amd64 alone on GCE. */
export const BOARDS = ['amd64-usr', 'arm64-usr'] as const
export const GRANTEE = '111122223333'
/** GCE names carry the day they are made: the tests fix it. */
export const TODAY = new Date('2026-11-21T12:00:00Z')

/** The emulators' addresses from the environment scripts/services/*.sh write, when all three are there. */
export function emulatorEnv(env: NodeJS.ProcessEnv): EmulatorEnv | undefined {
  const need = [
    'MANTLE_TEST_S3_ENDPOINT',
    'MANTLE_TEST_S3_ACCESS_KEY',
    'MANTLE_TEST_S3_SECRET_KEY',
    'MANTLE_TEST_S3_BUCKET',
    'MANTLE_TEST_AZURE_CONNECTION_STRING',
    'MANTLE_TEST_AZURE_ACCOUNT',
    'MANTLE_TEST_AZURE_CONTAINER',
    'MANTLE_TEST_GCS_ENDPOINT',
    'MANTLE_TEST_GCS_BUCKET',
  ]
  if (need.some((n) => !env[n])) return undefined
  return {
    s3: {
      endpoint: env.MANTLE_TEST_S3_ENDPOINT!,
      accessKey: env.MANTLE_TEST_S3_ACCESS_KEY!,
      secretKey: env.MANTLE_TEST_S3_SECRET_KEY!,
      bucket: env.MANTLE_TEST_S3_BUCKET!,
      region: env.MANTLE_TEST_S3_REGION ?? 'us-east-1',
    },
    azure: {
      connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING!,
      account: env.MANTLE_TEST_AZURE_ACCOUNT!,
      container: env.MANTLE_TEST_AZURE_CONTAINER!,
    },
    gcs: {endpoint: env.MANTLE_TEST_GCS_ENDPOINT!, bucket: env.MANTLE_TEST_GCS_BUCKET!},
  }
}

export function storageOf(world: WorldDescriptor): StorageOptions {
  const e = world.emulators
  if (!e) return {cwd: world.dir, attempts: 2}
  return {
    cwd: world.dir,
    attempts: 2,
    s3: {
      endpoint: e.s3.endpoint,
      region: e.s3.region,
      forcePathStyle: true,
      credentials: {accessKeyId: e.s3.accessKey, secretAccessKey: e.s3.secretKey},
    },
    azure: {connectionString: e.azure.connectionString},
    gcs: {apiEndpoint: e.gcs.endpoint, clientOptions: {projectId: 'mantle-test'}},
  }
}

/** URLs of the world's source and destinations. */
export function urlsOf(world: WorldDescriptor): {source: string; destinations: string[]; staging: string} {
  const e = world.emulators
  const local = (name: string): string => `${join(world.dir, name)}/`
  if (!e) return {source: join(world.dir, 'builds', 'boards'), destinations: [local('pub'), local('mirror')], staging: local('staging')}
  return {
    source: `gs://${e.gcs.bucket}/${world.run}/builds/boards`,
    destinations: [
      `s3://${e.s3.bucket}/${world.run}/pub/`,
      `az://${e.azure.account}/${e.azure.container}/${world.run}/pub/`,
      `gs://${e.gcs.bucket}/${world.run}/pub/`,
      local('pub'),
    ],
    staging: `s3://${e.s3.bucket}/${world.run}/staging/`,
  }
}

export const IMAGES = {
  generic: 'flatcar_production_image.bin.bz2',
  aws: 'flatcar_production_ami_image.bin.bz2',
  azure: 'flatcar_production_azure_image.vhd.bz2',
  gce: 'flatcar_production_gce.tar.gz',
}

/** Makes the world: key, signed build in the source, configuration. */
export async function createWorld(
  dir: string,
  emulators: EmulatorEnv | undefined,
  options: {version?: string} = {},
): Promise<WorldDescriptor> {
  const world: WorldDescriptor = {
    dir,
    run: `plume-${randomBytes(4).toString('hex')}`,
    emulators,
    channel: 'test',
    board: 'amd64-usr',
    boards: [...BOARDS],
    version: options.version ?? '1.2.3',
  }
  // Loaded here, not at the top: the kill-anywhere child loads this module but never makes a world, and kit's test modules are not in its dist.
  const {makeTestKey, signDetached} = await import('@mantle/kit/verify/testing')
  const key = await makeTestKey({name: 'plume test builds'})
  await writeFile(join(dir, 'key.asc'), key.publicArmored)
  await writeFile(join(dir, 'world.json'), JSON.stringify(world, null, 2))
  const urls = urlsOf(world)
  const storage = storageOf(world)
  const source = await openLocation(urls.source, storage)
  for (const board of world.boards) {
    const prefix = `${fixPrefix(source.key)}${board}/${world.version}/`
    const put = async (name: string, data: Buffer, sign: boolean): Promise<void> => {
      await source.bucket.write(`${prefix}${name}`, data)
      if (sign) await source.bucket.write(`${prefix}${name}.sig`, Buffer.from(await signDetached(data, key.privateKey)))
    }
    // Each board's images are its own bytes: a board that published another's would show in the fakes.
    await put('version.txt', Buffer.from(`FLATCAR_BUILD=1\nFLATCAR_VERSION=${world.version}\nFLATCAR_VERSION_ID=${world.version}\n`), false)
    await put(IMAGES.generic, bzip2(fakeDisk(`generic ${board}`)), true)
    await put(IMAGES.aws, bzip2(fakeDisk(`aws ${board}`)), true)
    await put(IMAGES.azure, bzip2(fakeDisk(`azure ${board}`)), true)
    if (emulators) await put(IMAGES.gce, fakeDisk(`gce ${board}`), true)
    await put('flatcar_production_image_contents.txt', Buffer.from(`/usr/bin/true ${board}\n`), false)
  }
  await writeFile(join(dir, 'channels.yaml'), configYaml(world))
  return world
}

export async function readWorld(dir: string): Promise<WorldDescriptor> {
  return JSON.parse(await readFile(join(dir, 'world.json'), 'utf8')) as WorldDescriptor
}

function fakeDisk(seed: string): Buffer {
  // Small, but not all zeros: compressible and distinguishable.
  const block = createHash('sha256').update(seed).digest()
  return Buffer.concat(Array.from({length: 2048}, (_, i) => (i % 7 === 0 ? block : Buffer.alloc(32))))
}

function bzip2(data: Buffer): Buffer {
  return execFileSync('bzip2', ['-c'], {input: data})
}

function configYaml(world: WorldDescriptor): string {
  const urls = urlsOf(world)
  const e = world.emulators
  const dest = (url: string, i: number): string =>
    [
      `      - url: ${url}`,
      `        title: release-${i}`,
      '        namedPath: current',
      '        versionPath: true',
      `        directoryHtml: ${i === 0 && e ? 'true' : 'false'}`,
      '        indexHtml: true',
    ].join('\n')
  const gce = e
    ? `
    gce:
      project: plume-test
      family: flatcar-test
      description: Flatcar test channel
      image: ${IMAGES.gce}
      publish: flatcar_production_gce.txt
      public: true
      limit: 1
      staging: gs://${e.gcs.bucket}/${world.run}/gce-staging/`
    : ''
  return `channels:
  ${world.channel}:
    source: ${urls.source}
    # Flatcar's boards: arm64 is not published on GCE.
    boards:
      - {name: amd64-usr, platforms: [aws, azure, gce]}
      - {name: arm64-usr, platforms: [aws, azure]}
    verify: [${IMAGES.generic}]
    verifyKey: ${join(world.dir, 'key.asc')}
    destinations:
${urls.destinations.map(dest).join('\n')}${gce}
    aws:
      baseName: Flatcar
      baseDescription: Flatcar Container Linux
      prefix: flatcar_production_ami_
      image: ${IMAGES.aws}
      partitions:
        - name: AWS
          profile: default
          bucket: ${e ? e.s3.bucket : 'staging'}
          bucketRegion: ${REGIONS[0]}
          launchPermissions: ['${GRANTEE}']
          regions: [${REGIONS.join(', ')}]
    azure:
      name: flatcar-linux
      offer: Flatcar
      image: ${IMAGES.azure}
      storageAccount: flatcartest
      resourceGroup: flatcar
      container: publish
      gallery: flatcar_test
      replicationRegions: [northeurope]
      community:
        publisherUri: https://www.flatcar.org
        publisherContact: maintainers@flatcar.org
        eula: https://www.flatcar.org/eula
        publicNamePrefix: flatcar
      environments:
        - name: AzurePublicCloud
          location: westeurope
          additionalContainers: [mirror]
`
}

export interface WorldRun {
  options: StageOptions
  ec2: StateFile<FakeEc2State>
  gce: StateFile<FakeGceState>
  azure: StateFile<FakeAzureState>
  marketplace: StateFile<FakeMarketplaceState>
  /** Removes the EC2 mock from the SDK. */
  restore: () => void
}

/**
 * Stage options for the world, built as the command builds them, with the
 * fake control planes in place of the clouds. Staged AWS objects go to the
 * world's staging location (a prefix of the S3 emulator, or a directory).
 */
export async function worldRun(
  world: WorldDescriptor,
  extra: Partial<StageOptions> = {},
  fakes: Pick<FakeEc2Options, 'beforeCopy'> & {board?: string} = {},
): Promise<WorldRun> {
  const logger = extra.logger ?? new Logger({level: 'warn', stream: process.stderr, redactor: new Redactor()})
  const signal = extra.signal ?? new AbortController().signal
  const storage = storageOf(world)
  const staging = await stagingStore(world, storage)
  const ec2 = installFakeEc2({
    stateFile: join(world.dir, 'ec2.json'),
    regions: REGIONS,
    objectExists: async (_bucket, key) => (await staging.stat(key)) !== undefined,
    beforeCopy: fakes.beforeCopy,
  })
  // images.insert reads the object it is given: the fake records the MD5 of what it found there.
  const objectMd5 = async (url: string): Promise<string | undefined> => {
    const {bucket, key} = await openLocation(url, storage)
    return (await bucket.stat(key))?.md5
  }
  const gce = fakeGce(join(world.dir, 'gce.json'), {objectMd5})
  const azure = fakeAzure(join(world.dir, 'azure.json'), 'flatcartest', () => TODAY)
  const marketplace = fakeMarketplace(join(world.dir, 'marketplace.json'), MARKETPLACE_PRODUCTS)
  const config = await loadChannels(join(world.dir, 'channels.yaml'))
  const release = await resolveSpec({
    config,
    channel: world.channel,
    board: fakes.board ?? world.board,
    version: world.version,
    sdkRoot: world.dir,
    storage,
  })
  const keyring: Keyring = await loadKeyring({files: [join(world.dir, 'key.asc')]})
  const options: StageOptions = {
    release,
    storage,
    cacheDir: join(world.dir, 'cache'),
    keyring,
    clouds: {
      aws: {
        ...awsClients({
          auth: async () => TEST_AWS_AUTH,
          context: {logger, signal, pollIntervalMs: 0, retry: {baseDelayMs: 1, maxDelayMs: 2}},
          staging: async () => staging,
        }),
        marketplace: async () => marketplace.api,
      },
      gce: async () => gce.api,
      azure: async () => azure.api,
    },
    logger,
    signal,
    pollIntervalMs: 0,
    now: () => TODAY,
    ...extra,
  }
  return {options, ec2: ec2.state, gce: gce.state, azure: azure.state, marketplace: marketplace.state, restore: ec2.restore}
}

/** The staging bucket of the world, as the keys of the partition's bucket see it. */
async function stagingStore(
  world: WorldDescriptor,
  storage: StorageOptions,
): Promise<Pick<Bucket, 'write' | 'delete' | 'stat'> & {list: Bucket['list']; prefix: string; bucket: Bucket}> {
  const location = await openLocation(urlsOf(world).staging, storage)
  const prefix = fixPrefix(location.key)
  const b = location.bucket
  return {
    prefix,
    bucket: b,
    write: (key, body, options) => b.write(prefix + key, body, options),
    delete: (key, options) => b.delete(prefix + key, options),
    stat: (key, options) => b.stat(prefix + key, options),
    list: (options) => b.list({...options, prefix: prefix + (options?.prefix ?? '')}),
  }
}

/** Everything a release leaves behind, normalised so that two worlds compare equal when they hold the same. */
export interface EndState {
  /** Per destination URL (by position): `key md5` lines of every object, the world's run id replaced. */
  destinations: string[][]
  /** The source directory of the world's board. */
  source: string[]
  /** Every board's source directory. */
  sources: Record<string, string[]>
  staging: string[]
  ec2: {images: string[]; snapshots: string[]}
  gce: string[]
  azure: string[]
}

export async function endState(world: WorldDescriptor): Promise<EndState> {
  const storage = storageOf(world)
  const urls = urlsOf(world)
  const norm = (s: string): string =>
    s.replaceAll(world.run, '<run>').replaceAll(world.dir.replace(/^\//, ''), '<dir>').replaceAll(world.dir, '/<dir>')
  const tree = async (url: string): Promise<string[]> => {
    const {bucket, key} = await openLocation(url, storage)
    const prefix = fixPrefix(key)
    const out: string[] = []
    for await (const e of bucket.list({prefix})) {
      if (e.type !== 'object') continue
      const {body} = await bucket.read(e.object.key)
      const chunks: Buffer[] = []
      for await (const c of body as AsyncIterable<Buffer>) chunks.push(c)
      // Each world signs with its own key: a signature is compared by presence only.
      const digest = e.object.key.endsWith('.sig')
        ? 'signature'
        : createHash('md5')
            .update(norm(Buffer.concat(chunks).toString('latin1')))
            .digest('hex')
      out.push(`${e.object.key.slice(prefix.length)} ${digest}`)
    }
    return out.sort()
  }
  const staging = await stagingStore(world, storage)
  const stagingKeys: string[] = []
  for await (const e of staging.list()) if (e.type === 'object') stagingKeys.push(e.object.key.slice(staging.prefix.length))
  if (world.emulators) {
    // The GCE tarballs staged for images.insert: gone once the images are READY.
    const {bucket, key} = await openLocation(`gs://${world.emulators.gcs.bucket}/${world.run}/gce-staging/`, storage)
    for await (const e of bucket.list({prefix: key})) if (e.type === 'object') stagingKeys.push(`gce:${e.object.key.slice(key.length)}`)
  }
  const readState = async <T>(name: string, empty: T): Promise<T> =>
    JSON.parse(await readFile(join(world.dir, name), 'utf8').catch(() => JSON.stringify(empty))) as T
  const ec2 = await readState<FakeEc2State>('ec2.json', {images: [], snapshots: [], importTasks: [], writes: [], counter: 0})
  const gce = await readState<FakeGceState>('gce.json', {images: [], writes: [], tick: 0})
  const azure = await readState<FakeAzureState>('azure.json', {
    blobs: [],
    images: [],
    galleries: [],
    definitions: [],
    galleryVersions: [],
    writes: [],
  })
  return {
    destinations: await Promise.all(urls.destinations.map(tree)),
    source: await tree(`${urls.source}/${world.board}/${world.version}/`),
    sources: Object.fromEntries(
      await Promise.all(world.boards.map(async (b) => [b, await tree(`${urls.source}/${b}/${world.version}/`)] as const)),
    ),
    staging: stagingKeys.sort(),
    ec2: {
      images: ec2.images
        .map(
          (i) =>
            `${i.region} ${i.id} ${i.name} ${i.state} public=${i.public} users=${i.launchUsers.join(',')} tags=${JSON.stringify(i.tags)}`,
        )
        .sort(),
      snapshots: ec2.snapshots
        .map((s) => `${s.region} ${s.id} public=${s.public} users=${s.volumeUsers.join(',')} tags=${JSON.stringify(s.tags)}`)
        .sort(),
    },
    gce: gce.images
      .map((i) => `${i.name} ${i.status} ${i.architecture ?? ''} public=${i.public} deprecated=${JSON.stringify(i.deprecated ?? null)}`)
      .sort(),
    azure: [
      ...azure.blobs.map((b) => `blob ${b.container}/${b.blob} ${b.size} complete=${b.complete}`),
      ...azure.images.map((i) => `image ${i.resourceGroup}/${i.name}`),
      ...azure.definitions.map((d) => `definition ${d.gallery}/${d.name} ${d.architecture} ${d.identifier.sku}`),
      ...azure.galleryVersions.map((v) => `version ${v.gallery}/${v.definition}/${v.version} ${v.regions.join(',')}`),
      ...azure.galleries.filter((g) => g.communityEnabled).map((g) => `shared ${g.resourceGroup}/${g.name}`),
    ].sort(),
  }
}

/**
 * What changes on every write: per object of the destinations, the source and
 * the staging area, its generation (file inode+mtime, ETag, GCS generation)
 * and update time. Equal before and after a run means the run wrote nothing.
 */
export async function objectVersions(world: WorldDescriptor): Promise<string[]> {
  const storage = storageOf(world)
  const urls = urlsOf(world)
  const out: string[] = []
  const gceStaging = world.emulators ? [`gs://${world.emulators.gcs.bucket}/${world.run}/gce-staging/`] : []
  for (const url of [...urls.destinations, `${urls.source}/`, urls.staging, ...gceStaging]) {
    const {bucket, key} = await openLocation(url, storage)
    for await (const e of bucket.list({prefix: fixPrefix(key)})) {
      if (e.type === 'object')
        out.push(`${bucket.urlOf(e.object.key)} ${e.object.generation ?? ''} ${e.object.updated?.toISOString() ?? ''} ${e.object.size}`)
    }
  }
  return out.sort()
}

/** Every write the fake control planes saw. */
export function cloudWrites(run: WorldRun): string[] {
  return [...run.ec2.read().writes, ...run.gce.read().writes, ...run.azure.read().writes]
}

/** Deletes what the world wrote to the shared emulator buckets (its run prefix); local worlds live in their directory. */
export async function removeWorldObjects(world: WorldDescriptor): Promise<void> {
  const e = world.emulators
  if (!e) return
  const storage = storageOf(world)
  for (const url of [
    `s3://${e.s3.bucket}/${world.run}/`,
    `az://${e.azure.account}/${e.azure.container}/${world.run}/`,
    `gs://${e.gcs.bucket}/${world.run}/`,
  ]) {
    const {bucket, key} = await openLocation(url, storage)
    const keys: string[] = []
    for await (const entry of bucket.list({prefix: key})) if (entry.type === 'object') keys.push(entry.object.key)
    // The root redirect of a destination with directory pages sits beside its prefix.
    for (const k of [...keys, `${key}pub`]) await bucket.delete(k).catch(() => undefined)
  }
}
