import {randomBytes} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {openBucket, type StorageOptions} from '../open.js'
import type {Bucket} from '../types.js'
import {startMirrorServer} from './mirror-server.js'

/**
 * One storage backend under test: where the suite writes, where it reads
 * back, and what the backend enforces. Emulators are found through the
 * environment that scripts/services/<name>.sh writes to .services/<name>.env.
 */
export interface BackendUnderTest {
  /** Writes go here, under `writerPrefix`. */
  writer: Bucket
  writerPrefix: string
  /** Reads go here, under `readerPrefix`: the writer itself, or an HTTP mirror of it. */
  reader: Bucket
  readerPrefix: string
  /** The URL of the writer's prefix, for commands. */
  url: string
  options: StorageOptions
  cleanup(): Promise<void>
}

export interface BackendFixture {
  name: string
  /** Environment variables the backend needs; none for local ones. */
  env: readonly string[]
  readOnly: boolean
  /** False for the GCS emulator, which ignores generation preconditions (covered by recorded responses instead). */
  enforcesPreconditions: boolean
  open(env: NodeJS.ProcessEnv): Promise<BackendUnderTest>
}

const runId = (): string => `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mantle-storage-'))
}

export function storageOptionsFromEnv(env: NodeJS.ProcessEnv): StorageOptions {
  return {
    s3: {
      endpoint: env.MANTLE_TEST_S3_ENDPOINT,
      region: env.MANTLE_TEST_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {accessKeyId: env.MANTLE_TEST_S3_ACCESS_KEY ?? '', secretAccessKey: env.MANTLE_TEST_S3_SECRET_KEY ?? ''},
    },
    azure: {connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING},
    gcs: {apiEndpoint: env.MANTLE_TEST_GCS_ENDPOINT, clientOptions: {projectId: 'mantle-test'}},
    attempts: 3,
  }
}

async function cloud(env: NodeJS.ProcessEnv, bucketUrl: string): Promise<BackendUnderTest> {
  const options = storageOptionsFromEnv(env)
  const bucket = await openBucket(bucketUrl, options)
  const prefix = `${runId()}/`
  return {
    writer: bucket,
    writerPrefix: prefix,
    reader: bucket,
    readerPrefix: prefix,
    url: bucket.urlOf(prefix),
    options,
    cleanup: async () => {
      for await (const e of bucket.list({prefix})) if (e.type === 'object') await bucket.delete(e.object.key).catch(() => undefined)
    },
  }
}

export const BACKENDS: readonly BackendFixture[] = [
  {
    name: 'file',
    env: [],
    readOnly: false,
    enforcesPreconditions: true,
    async open() {
      const dir = await tempRoot()
      const bucket = await openBucket(dir)
      const prefix = dir.slice(1) + '/'
      return {
        writer: bucket,
        writerPrefix: prefix,
        reader: bucket,
        readerPrefix: prefix,
        url: dir + '/',
        options: {},
        cleanup: () => rm(dir, {recursive: true, force: true}),
      }
    },
  },
  {
    name: 'http',
    env: [],
    readOnly: true,
    enforcesPreconditions: true,
    async open() {
      const dir = await tempRoot()
      const server = await startMirrorServer(dir)
      const writer = await openBucket(dir)
      const reader = await openBucket(server.origin + '/')
      return {
        writer,
        writerPrefix: dir.slice(1) + '/',
        reader,
        readerPrefix: '',
        url: server.origin + '/',
        options: {},
        cleanup: async () => {
          await server.close()
          await rm(dir, {recursive: true, force: true})
        },
      }
    },
  },
  {
    name: 's3 (radosgw)',
    env: ['MANTLE_TEST_S3_ENDPOINT', 'MANTLE_TEST_S3_ACCESS_KEY', 'MANTLE_TEST_S3_SECRET_KEY', 'MANTLE_TEST_S3_BUCKET'],
    readOnly: false,
    enforcesPreconditions: true,
    open: (env) => cloud(env, `s3://${env.MANTLE_TEST_S3_BUCKET}/`),
  },
  {
    name: 'azure (azurite)',
    env: ['MANTLE_TEST_AZURE_CONNECTION_STRING', 'MANTLE_TEST_AZURE_ACCOUNT', 'MANTLE_TEST_AZURE_CONTAINER'],
    readOnly: false,
    enforcesPreconditions: true,
    open: (env) => cloud(env, `az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/`),
  },
  {
    name: 'gcs (firebase emulator)',
    env: ['MANTLE_TEST_GCS_ENDPOINT', 'MANTLE_TEST_GCS_BUCKET'],
    readOnly: false,
    enforcesPreconditions: false,
    open: (env) => cloud(env, `gs://${env.MANTLE_TEST_GCS_BUCKET}/`),
  },
]

/**
 * Whether a backend's service is there. Under CI a missing service fails the
 * run (never a silent skip); elsewhere the suite skips it and says why.
 */
export function backendAvailable(fixture: BackendFixture, env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = fixture.env.filter((n) => !env[n])
  if (missing.length > 0 && env.CI) {
    throw new Error(`CI is set but ${fixture.name} is not running: ${missing.join(', ')} missing (scripts/services/*.sh start writes them)`)
  }
  return missing.length === 0
}
