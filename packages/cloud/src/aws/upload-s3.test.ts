import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ImportSnapshotCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {openBucket, Progress, type Bucket} from '@mantle/kit'
import {makeTempDir, serviceEnv} from '@mantle/test-utils'

import {TEST_AWS_AUTH, testContext, rejection} from '../testing/fakes.js'
import {ec2Api} from './clients.js'
import {uploadImage} from './upload.js'

const MiB = 1024 * 1024
const service = serviceEnv(['MANTLE_TEST_S3_ENDPOINT', 'MANTLE_TEST_S3_ACCESS_KEY', 'MANTLE_TEST_S3_SECRET_KEY', 'MANTLE_TEST_S3_BUCKET'])

/**
 * The staging half of `ore aws upload` against a real S3 (Ceph radosgw):
 * a multipart upload through kit's S3 backend, the object present while EC2
 * imports it, and gone afterwards whether the import worked or not. EC2
 * itself cannot run here and is mocked.
 */
describe.skipIf(!service.available)('aws upload staging on radosgw', () => {
  const env = process.env
  const ec2Mock = mockClient(EC2Client)
  let dir: string
  let cleanup: () => Promise<void>
  let bucket: Bucket
  let file: string
  const data = randomBytes(40 * MiB)

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    file = join(dir, 'flatcar_production_ami_image.bin')
    await writeFile(file, data)
    bucket = await openBucket(`s3://${env.MANTLE_TEST_S3_BUCKET}/`, {
      s3: {
        endpoint: env.MANTLE_TEST_S3_ENDPOINT,
        forcePathStyle: true,
        region: env.MANTLE_TEST_S3_REGION ?? 'us-east-1',
        credentials: {accessKeyId: env.MANTLE_TEST_S3_ACCESS_KEY!, secretAccessKey: env.MANTLE_TEST_S3_SECRET_KEY!},
      },
    })
  })
  afterAll(() => cleanup())
  beforeEach(() => {
    ec2Mock.reset()
    ec2Mock.on(DescribeImagesCommand).resolves({Images: []})
    ec2Mock.on(DescribeSnapshotsCommand).resolves({Snapshots: []})
    ec2Mock.on(DescribeImportSnapshotTasksCommand, {}).resolves({ImportSnapshotTasks: []})
  })

  it('uploads 40 MiB in parts with progress; the object is there during the import and deleted after it', async () => {
    const key = `ore-test/${Date.now()}/amd64-usr/4000.0.0/flatcar_production_ami_image.bin`
    let seenDuringImport: {size: number; etag: string | undefined} | undefined
    ec2Mock.on(ImportSnapshotCommand).callsFake(async () => {
      const info = await bucket.stat(key)
      const read = await bucket.read(key, {start: 20 * MiB, end: 20 * MiB + 15})
      const chunks: Buffer[] = []
      for await (const c of read.body) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).equals(data.subarray(20 * MiB, 20 * MiB + 16))).toBe(true)
      seenDuringImport = info && {size: info.size, etag: info.generation}
      return {ImportTaskId: 'import-snap-s3'}
    })
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-s3']})
      .resolves({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'completed', SnapshotId: 'snap-s3'}}]})
    ec2Mock.on(RegisterImageCommand).resolves({ImageId: 'ami-s3'})
    const drawn: string[] = []
    const context = {
      ...testContext(),
      progress: (label: string, total?: number) =>
        new Progress({stream: {write: (s: string) => drawn.push(s)}, enabled: true, label, total, intervalMs: 0}),
    }

    const result = await uploadImage({
      ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}),
      store: bucket,
      bucket: env.MANTLE_TEST_S3_BUCKET!,
      key,
      file,
      format: 'raw',
      name: 'Flatcar-test-4000.0.0',
      architecture: 'x86_64',
      context,
    })

    // A multipart object's ETag ends in -<parts>: 40 MiB went up as 3 parts of at most 16 MiB.
    expect(seenDuringImport).toEqual({size: 40 * MiB, etag: expect.stringMatching(/-3$/)})
    expect(result).toMatchObject({
      imageId: 'ami-s3',
      snapshotId: 'snap-s3',
      objectDeleted: true,
      object: `s3://${env.MANTLE_TEST_S3_BUCKET}/${key}`,
    })
    expect(await bucket.stat(key)).toBeUndefined()
    expect(drawn.at(-1)).toContain('40.0 MiB / 40.0 MiB (100%)')
  })

  it('deletes the object when the import fails half-way', async () => {
    const key = `ore-test/${Date.now()}/failing/flatcar_production_ami_image.bin`
    ec2Mock.on(ImportSnapshotCommand).resolves({ImportTaskId: 'import-snap-bad'})
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-bad']})
      .resolvesOnce({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'active', Progress: '60'}}]})
      .resolves({
        ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'deleted', StatusMessage: 'ClientError: Unknown OS / Missing OS files.'}}],
      })
    const context = testContext()
    const error = await rejection(
      uploadImage({
        ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}),
        store: bucket,
        bucket: env.MANTLE_TEST_S3_BUCKET!,
        key,
        file,
        format: 'raw',
        name: 'Flatcar-test-bad',
        architecture: 'x86_64',
        context,
      }),
    )
    expect(error.message).toMatch(/failed .*Unknown OS/)
    expect(await bucket.stat(key)).toBeUndefined()
    expect(ec2Mock).not.toHaveReceivedCommand(RegisterImageCommand)
  })
})
