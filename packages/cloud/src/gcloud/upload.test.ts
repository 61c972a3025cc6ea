import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError, openBucket, type Bucket} from '@mantle/kit'
import {makeTempDir, serviceEnv} from '@mantle/test-utils'

import {testContext} from '../testing/fakes.js'
import {uploadObject} from './upload.js'

const service = serviceEnv(['MANTLE_TEST_GCS_ENDPOINT', 'MANTLE_TEST_GCS_BUCKET'])

/** Disk images to Google's storage emulator (firebase-tools), through kit's gs:// backend. */
describe.skipIf(!service.available)('gcloud upload to the GCS emulator', () => {
  const env = process.env
  let dir: string
  let cleanup: () => Promise<void>
  let bucket: Bucket
  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    bucket = await openBucket(`gs://${env.MANTLE_TEST_GCS_BUCKET}/`, {
      gcs: {apiEndpoint: env.MANTLE_TEST_GCS_ENDPOINT, clientOptions: {projectId: 'mantle-test'}},
    })
  })
  afterAll(() => cleanup())

  it('uploads the tarball, keeps it on a rerun, and replaces it with force', async () => {
    const file = join(dir, 'flatcar_production_gce.tar.gz')
    const data = randomBytes(3 * 1024 * 1024 + 17)
    await writeFile(file, data)
    const key = `ore-test/${Date.now()}/amd64-usr/flatcar_production_gce.tar.gz`

    const first = await uploadObject({bucket, key, file, context: testContext()})
    expect(first).toEqual({url: `gs://${env.MANTLE_TEST_GCS_BUCKET}/${key}`, size: data.length, uploaded: true})
    const info = await bucket.stat(key)
    expect(info).toMatchObject({size: data.length, contentType: 'application/gzip'})

    expect(await uploadObject({bucket, key, file, context: testContext()})).toMatchObject({uploaded: false})
    expect(await uploadObject({bucket, key, file, force: true, context: testContext()})).toMatchObject({uploaded: true})
    await bucket.delete(key)
  })

  it('refuses to replace an object of another size without force (exit 2)', async () => {
    const key = `ore-test/${Date.now()}/other.tar.gz`
    await bucket.write(key, Buffer.from('something else'))
    const file = join(dir, 'other.tar.gz')
    await writeFile(file, randomBytes(1000))
    const error = await uploadObject({bucket, key, file, context: testContext()}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`gs://${env.MANTLE_TEST_GCS_BUCKET}/${key} exists with 14 bytes, the file has 1000`)
    await bucket.delete(key)
  })
})
