import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EC2ServiceException,
  ImportSnapshotCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir} from '@mantle/test-utils'

import {MemoryStore, TEST_AWS_AUTH, testContext} from '../testing/fakes.js'
import {ec2Api} from './clients.js'
import {uploadImage, type UploadImageOptions} from './upload.js'

const ec2Mock = mockClient(EC2Client)

function awsFault(name: string, message: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: {httpStatusCode: status}})
}

describe('aws uploadImage', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let file: string
  let store: MemoryStore
  beforeEach(async () => {
    ec2Mock.reset()
    ;({dir, cleanup} = await makeTempDir())
    file = join(dir, 'flatcar_production_ami_image.bin')
    await writeFile(file, Buffer.alloc(64 * 1024, 7))
    store = new MemoryStore()
    // Nothing exists yet unless a test says otherwise.
    ec2Mock.on(DescribeImagesCommand).resolves({Images: []})
    ec2Mock.on(DescribeSnapshotsCommand).resolves({Snapshots: []})
    ec2Mock.on(DescribeImportSnapshotTasksCommand, {}).resolves({ImportSnapshotTasks: []})
  })
  afterEach(() => cleanup())

  async function options(extra: Partial<UploadImageOptions> = {}): Promise<UploadImageOptions> {
    const context = testContext()
    return {
      ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}),
      store,
      bucket: 'staging',
      key: 'amd64-usr/4000.0.0/flatcar_production_ami_image.bin',
      file,
      format: 'raw',
      name: 'Flatcar-alpha-4000.0.0-hvm',
      architecture: 'x86_64',
      context,
      ...extra,
    }
  }

  it('uploads, imports, tags, deletes the object and registers an HVM AMI', async () => {
    // Given an import that is active once and then completes
    ec2Mock.on(ImportSnapshotCommand).resolves({ImportTaskId: 'import-snap-1'})
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-1']})
      .resolvesOnce({ImportSnapshotTasks: [{ImportTaskId: 'import-snap-1', SnapshotTaskDetail: {Status: 'active', Progress: '40'}}]})
      .resolves({ImportSnapshotTasks: [{ImportTaskId: 'import-snap-1', SnapshotTaskDetail: {Status: 'completed', SnapshotId: 'snap-1'}}]})
    ec2Mock.on(RegisterImageCommand).resolves({ImageId: 'ami-1'})

    // When
    const result = await uploadImage(await options())

    // Then the object went up, was imported from its S3 location, and is gone
    expect(store.calls).toEqual([
      'write amd64-usr/4000.0.0/flatcar_production_ami_image.bin',
      'delete amd64-usr/4000.0.0/flatcar_production_ami_image.bin',
    ])
    expect(ec2Mock).toHaveReceivedCommandWith(ImportSnapshotCommand, {
      Description: 'Flatcar-alpha-4000.0.0-hvm',
      DiskContainer: {
        Description: 'Flatcar-alpha-4000.0.0-hvm',
        Format: 'RAW',
        UserBucket: {S3Bucket: 'staging', S3Key: 'amd64-usr/4000.0.0/flatcar_production_ami_image.bin'},
      },
    })
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: ['snap-1'],
      Tags: [
        {Key: 'Name', Value: 'Flatcar-alpha-4000.0.0-hvm'},
        {Key: 'created-by', Value: 'mantle'},
      ],
    })
    expect(ec2Mock).toHaveReceivedCommandWith(RegisterImageCommand, {
      Name: 'Flatcar-alpha-4000.0.0-hvm',
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
      RootDeviceName: '/dev/xvda',
      EnaSupport: true,
      BlockDeviceMappings: [
        {DeviceName: '/dev/xvda', Ebs: {SnapshotId: 'snap-1', DeleteOnTermination: true, VolumeType: 'gp3'}},
        {DeviceName: '/dev/xvdb', VirtualName: 'ephemeral0'},
      ],
    })
    expect(result).toEqual({
      region: 'us-west-2',
      name: 'Flatcar-alpha-4000.0.0-hvm',
      imageId: 'ami-1',
      snapshotId: 'snap-1',
      object: 's3://staging/amd64-usr/4000.0.0/flatcar_production_ami_image.bin',
      objectDeleted: true,
      reusedSnapshot: false,
      reusedImage: false,
    })
  })

  it('deletes the staged object when the import fails half-way, and reports the failure (exit 3)', async () => {
    // Given an import that makes progress and is then deleted by AWS
    ec2Mock.on(ImportSnapshotCommand).resolves({ImportTaskId: 'import-snap-2'})
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-2']})
      .resolvesOnce({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'active', Progress: '50'}}]})
      .resolves({
        ImportSnapshotTasks: [
          {SnapshotTaskDetail: {Status: 'deleted', StatusMessage: 'ClientError: Disk validation failed [Unsupported VMDK File Format]'}},
        ],
      })

    // When
    const error = await uploadImage(await options()).catch((e: unknown) => e)

    // Then
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toMatch(/import of s3:\/\/staging\/.* failed .*Disk validation failed/)
    expect(store.calls.at(-1)).toBe('delete amd64-usr/4000.0.0/flatcar_production_ami_image.bin')
    expect(store.objects.size).toBe(0)
    expect(ec2Mock).not.toHaveReceivedCommand(RegisterImageCommand)
  })

  it('deletes the staged object when ImportSnapshot itself is refused', async () => {
    ec2Mock.on(ImportSnapshotCommand).rejects(awsFault('InvalidParameter', 'The service role vmimport does not exist'))
    const error = await uploadImage(await options()).catch((e: unknown) => e)
    expect((error as Error).message).toBe('ec2 importSnapshot: InvalidParameter: The service role vmimport does not exist')
    expect(store.objects.size).toBe(0)
  })

  it('reuses the AMI when RegisterImage says InvalidAMIName.Duplicate', async () => {
    // Given a snapshot from an earlier run, and an AMI registered concurrently
    ec2Mock.on(DescribeSnapshotsCommand).resolves({Snapshots: [{SnapshotId: 'snap-old', State: 'completed'}]})
    ec2Mock
      .on(DescribeImagesCommand, {Owners: ['self'], Filters: [{Name: 'name', Values: ['Flatcar-alpha-4000.0.0-hvm']}]})
      .resolvesOnce({Images: []})
      .resolves({Images: [{ImageId: 'ami-existing', Name: 'Flatcar-alpha-4000.0.0-hvm'}]})
    ec2Mock
      .on(RegisterImageCommand)
      .rejects(awsFault('InvalidAMIName.Duplicate', 'AMI name Flatcar-alpha-4000.0.0-hvm is already in use by AMI ami-existing'))

    // When
    const result = await uploadImage(await options())

    // Then nothing was uploaded or imported again, and the existing AMI is the answer
    expect(store.calls).toEqual([])
    expect(ec2Mock).not.toHaveReceivedCommand(ImportSnapshotCommand)
    expect(result).toMatchObject({imageId: 'ami-existing', snapshotId: 'snap-old', reusedSnapshot: true, reusedImage: true})
  })

  it('returns an existing AMI of the same name without any work; --force replaces it', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({Images: [{ImageId: 'ami-9', BlockDeviceMappings: [{Ebs: {SnapshotId: 'snap-9'}}]}]})
    const reused = await uploadImage(await options())
    expect(reused).toMatchObject({imageId: 'ami-9', snapshotId: 'snap-9', reusedImage: true})
    expect(ec2Mock).not.toHaveReceivedCommand(RegisterImageCommand)

    ec2Mock.on(ImportSnapshotCommand).resolves({ImportTaskId: 'import-snap-3'})
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-3']})
      .resolves({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'completed', SnapshotId: 'snap-3'}}]})
    ec2Mock.on(RegisterImageCommand).resolves({ImageId: 'ami-10'})
    const replaced = await uploadImage(await options({force: true}))
    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, {ImageId: 'ami-9'})
    expect(replaced).toMatchObject({imageId: 'ami-10', snapshotId: 'snap-3', reusedImage: false})
  })

  it('waits for an import of the same name already in progress instead of uploading again', async () => {
    ec2Mock.on(DescribeImportSnapshotTasksCommand, {}).resolves({
      ImportSnapshotTasks: [
        {ImportTaskId: 'import-snap-4', Description: 'Flatcar-alpha-4000.0.0-hvm', SnapshotTaskDetail: {Status: 'active'}},
      ],
    })
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-4']})
      .resolves({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'completed', SnapshotId: 'snap-4'}}]})
    ec2Mock.on(RegisterImageCommand).resolves({ImageId: 'ami-4'})
    const result = await uploadImage(await options())
    expect(store.calls).toEqual([])
    expect(result).toMatchObject({imageId: 'ami-4', snapshotId: 'snap-4'})
  })

  it('retries a throttled call with backoff and then succeeds', async () => {
    ec2Mock.on(ImportSnapshotCommand).resolves({ImportTaskId: 'import-snap-5'})
    ec2Mock
      .on(DescribeImportSnapshotTasksCommand, {ImportTaskIds: ['import-snap-5']})
      .resolves({ImportSnapshotTasks: [{SnapshotTaskDetail: {Status: 'completed', SnapshotId: 'snap-5'}}]})
    ec2Mock
      .on(RegisterImageCommand)
      .rejectsOnce(awsFault('RequestLimitExceeded', 'Request limit exceeded.', 503))
      .rejectsOnce(awsFault('InternalError', 'An internal error has occurred', 500))
      .resolves({ImageId: 'ami-5'})
    const opts = await options()
    const result = await uploadImage(opts)
    expect(result.imageId).toBe('ami-5')
    expect(ec2Mock).toHaveReceivedCommandTimes(RegisterImageCommand, 3)
    expect(
      (opts.context as ReturnType<typeof testContext>).lines.filter((l) =>
        l.includes('ec2 registerImage: Request limit exceeded.; attempt 2'),
      ),
    ).toHaveLength(1)
  })

  it('fails with one line and exit 2 on a missing file, after nothing was imported', async () => {
    const error = await uploadImage(await options({file: join(dir, 'missing.bin')})).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`cannot read ${join(dir, 'missing.bin')}: ENOENT`)
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand)
    expect(ec2Mock).not.toHaveReceivedCommand(ImportSnapshotCommand)
  })

  it('turns rejected credentials into a usage error (exit 2)', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(awsFault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401))
    const error = await uploadImage(await options()).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(/^ec2 describeImages: AWS rejected the credentials \(AuthFailure/)
  })
})
