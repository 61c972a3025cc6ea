import {generateKeyPairSync} from 'node:crypto'

import type {AwsAuth} from '@mantle/auth'
import type {Bucket, ObjectInfo} from '@mantle/kit/storage/types'
import {captureLogger} from '@mantle/test-utils'

import type {ServiceContext} from '../common/context.js'

/** Static test credentials: never the ambient ones. */
export const TEST_AWS_AUTH: AwsAuth = {
  credentials: {accessKeyId: 'AKIATESTTESTTEST0001', secretAccessKey: 'test-secret-key-0123456789abcdef'},
  region: 'us-west-2',
  profile: 'default',
  source: 'flags',
  accessKeyId: 'AKIATESTTESTTEST0001',
}

/** A service context whose retries and polls do not wait, with captured log lines. */
export function testContext(now?: Date): ServiceContext & {lines: string[]} {
  const {logger, lines} = captureLogger('debug')
  return {logger, lines, retry: {baseDelayMs: 1, maxDelayMs: 2}, pollIntervalMs: 0, ...(now ? {now: () => now} : {})}
}

/** An in-memory object store with the calls the cloud modules use, recording them. */
export class MemoryStore implements Pick<Bucket, 'write' | 'delete' | 'stat'> {
  readonly objects = new Map<string, Buffer>()
  readonly calls: string[] = []

  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.calls.push(`stat ${key}`)
    const body = this.objects.get(key)
    return body ? {key, size: body.length} : undefined
  }

  async write(
    key: string,
    body: NodeJS.ReadableStream | Buffer | string,
    options?: {onProgress?: (n: number) => void},
  ): Promise<ObjectInfo> {
    this.calls.push(`write ${key}`)
    const chunks: Buffer[] = []
    if (typeof body === 'string' || Buffer.isBuffer(body)) chunks.push(Buffer.from(body))
    else for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer))
    const data = Buffer.concat(chunks)
    options?.onProgress?.(data.length)
    this.objects.set(key, data)
    return {key, size: data.length}
  }

  async delete(key: string): Promise<void> {
    this.calls.push(`delete ${key}`)
    this.objects.delete(key)
  }
}

/** A service-account key made for the test: google-auth-library signs real JWTs with it. */
export function testServiceAccount(project = 'mantle-test'): import('@mantle/auth').GceAuth {
  const {privateKey} = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: {type: 'pkcs8', format: 'pem'},
    publicKeyEncoding: {type: 'spki', format: 'pem'},
  })
  return {kind: 'service-account', source: 'test', clientEmail: 'ci@mantle-test.iam.gserviceaccount.com', privateKey, projectId: project}
}

/** The error a promise rejects with; a promise that resolves fails the test. */
export function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, got a result')
    },
    (error: unknown) => error as Error,
  )
}
