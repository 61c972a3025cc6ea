import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  type DescribeImagesCommandInput,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import {beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {TEST_AWS_AUTH, testContext} from '../testing/fakes.js'
import {ec2Api} from './clients.js'
import {copyImage, deleteImage, listRegions} from './images.js'

const ec2Mock = mockClient(EC2Client)
const SOURCE = {
  ImageId: 'ami-src',
  Name: 'Flatcar-stable-4000.0.0-hvm',
  Description: 'Flatcar stable',
  Tags: [
    {Key: 'Channel', Value: 'stable'},
    {Key: 'aws:internal', Value: 'x'},
  ],
}

async function regionOf(getClient: () => EC2Client): Promise<string> {
  return getClient().config.region()
}

describe('aws copyImage', () => {
  const context = testContext()
  const client = (region: string) => ec2Api({auth: TEST_AWS_AUTH, region, ...context})
  beforeEach(() => {
    ec2Mock.reset()
    ec2Mock
      .on(DescribeRegionsCommand)
      .resolves({Regions: ['us-west-2', 'us-east-1', 'eu-west-1', 'ap-south-1'].map((RegionName) => ({RegionName}))})
  })

  it('copies in parallel to the regions that lack the image and skips the one that has it', async () => {
    // Given eu-west-1 already has the image
    const copiesStarted: string[] = []
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input: DescribeImagesCommandInput, getClient: () => EC2Client) => {
      const region = await regionOf(getClient)
      if (input.ImageIds?.[0] === 'ami-src' && region === 'us-west-2') return {Images: [SOURCE]}
      if (region === 'eu-west-1') return {Images: [{ImageId: 'ami-eu', Name: SOURCE.Name}]}
      return {Images: []}
    })
    ec2Mock.on(CopyImageCommand).callsFake(async (_input, getClient: () => EC2Client) => {
      const region = await regionOf(getClient)
      copiesStarted.push(region)
      return {ImageId: `ami-${region}`}
    })

    // When
    const result = await copyImage({
      ec2: await client('us-west-2'),
      imageId: 'ami-src',
      regions: ['us-east-1', 'eu-west-1', 'ap-south-1'],
      clientFor: client,
      context,
    })

    // Then
    expect(result).toEqual([
      {region: 'us-east-1', imageId: 'ami-us-east-1', copied: true},
      {region: 'eu-west-1', imageId: 'ami-eu', copied: false},
      {region: 'ap-south-1', imageId: 'ami-ap-south-1', copied: true},
    ])
    expect(copiesStarted.sort()).toEqual(['ap-south-1', 'us-east-1'])
    expect(ec2Mock).toHaveReceivedCommandWith(CopyImageCommand, {
      Name: SOURCE.Name,
      Description: SOURCE.Description,
      SourceImageId: 'ami-src',
      SourceRegion: 'us-west-2',
    })
    // Tags follow the copy; AWS's reserved aws: tags cannot be set and are left out.
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {Resources: ['ami-us-east-1'], Tags: [{Key: 'Channel', Value: 'stable'}]})
  })

  it('has copies to several regions in flight together, at most `concurrency` at once', async () => {
    // Given CopyImage answers that wait until as many copies as the bound allow (or all that are left) have been asked for
    const regions = ['us-east-1', 'eu-west-1', 'ap-south-1', 'us-west-1', 'eu-central-1']
    ec2Mock.on(DescribeRegionsCommand).resolves({Regions: ['us-west-2', ...regions].map((RegionName) => ({RegionName}))})
    ec2Mock
      .on(DescribeImagesCommand)
      .callsFake(async (input: DescribeImagesCommandInput) => (input.ImageIds?.[0] === 'ami-src' ? {Images: [SOURCE]} : {Images: []}))
    let inFlight = 0
    let started = 0
    let most = 0
    const held: Array<() => void> = []
    ec2Mock.on(CopyImageCommand).callsFake(async (_input, getClient: () => EC2Client) => {
      const region = await regionOf(getClient)
      inFlight++
      started++
      most = Math.max(most, inFlight)
      await new Promise<void>((resolve) => {
        held.push(resolve)
        if (inFlight === 2 || started === regions.length) held.splice(0).forEach((r) => r())
      })
      inFlight--
      return {ImageId: `ami-${region}`}
    })
    // When copying with a bound of 2 (one at a time, the first copy would wait forever)
    const result = await copyImage({
      ec2: await client('us-west-2'),
      imageId: 'ami-src',
      regions,
      clientFor: client,
      concurrency: 2,
      context,
    })
    // Then two copies were in flight together, never more, and every region got its copy
    expect(most).toBe(2)
    expect(result.map((r) => r.imageId)).toEqual(regions.map((r) => `ami-${r}`))
  }, 20_000)

  it('with wait: waits for each copy, then tags it and its snapshot like the source, only with what they lack', async () => {
    // Given a source whose snapshot is tagged, and copies that are pending on the first look
    const looks = new Map<string, number>()
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input: DescribeImagesCommandInput, getClient: () => EC2Client) => {
      const region = await regionOf(getClient)
      if (input.ImageIds?.[0] === 'ami-src')
        return {Images: [{...SOURCE, BlockDeviceMappings: [{DeviceName: '/dev/xvda', Ebs: {SnapshotId: 'snap-src'}}]}]}
      if (input.Filters) return {Images: (looks.get(region) ?? 0) > 0 ? [{ImageId: `ami-${region}`, Name: SOURCE.Name}] : []}
      const n = (looks.get(region) ?? 0) + 1
      looks.set(region, n)
      // Pending, then available with its own snapshot and the Channel tag already there
      return {
        Images: [
          {
            ImageId: `ami-${region}`,
            State: n < 2 ? 'pending' : 'available',
            Tags: n < 2 ? [] : [{Key: 'Channel', Value: 'stable'}],
            BlockDeviceMappings: [{DeviceName: '/dev/xvda', Ebs: {SnapshotId: `snap-${region}`}}],
          },
        ],
      }
    })
    ec2Mock.on(DescribeSnapshotsCommand).callsFake(async (input: {SnapshotIds?: string[]}) =>
      input.SnapshotIds?.[0] === 'snap-src'
        ? {
            Snapshots: [
              {
                SnapshotId: 'snap-src',
                Tags: [
                  {Key: 'Name', Value: SOURCE.Name},
                  {Key: 'Version', Value: '4000.0.0'},
                ],
              },
            ],
          }
        : {Snapshots: [{SnapshotId: input.SnapshotIds?.[0], Tags: []}]},
    )
    ec2Mock.on(CopyImageCommand).callsFake(async (_input, getClient: () => EC2Client) => ({ImageId: `ami-${await regionOf(getClient)}`}))
    // When copying with wait
    await copyImage({ec2: await client('us-west-2'), imageId: 'ami-src', regions: ['us-east-1'], clientFor: client, wait: true, context})
    // Then the copy was waited for (looked at twice), its image tag already there was not written again, and its snapshot got the source snapshot's tags
    expect(looks.get('us-east-1')).toBe(2)
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Resources: ['snap-us-east-1'],
        Tags: [
          {Key: 'Name', Value: SOURCE.Name},
          {Key: 'Version', Value: '4000.0.0'},
        ],
      },
    ])
  })

  it('reports a second AMI of the name in a region, naming both, instead of picking one', async () => {
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input: DescribeImagesCommandInput, getClient: () => EC2Client) => {
      const region = await regionOf(getClient)
      if (input.ImageIds?.[0] === 'ami-src') return {Images: [SOURCE]}
      return {
        Images:
          region === 'us-east-1'
            ? [
                {ImageId: 'ami-1', Name: SOURCE.Name},
                {ImageId: 'ami-2', Name: SOURCE.Name},
              ]
            : [],
      }
    })
    const error = await copyImage({
      ec2: await client('us-west-2'),
      imageId: 'ami-src',
      regions: ['us-east-1'],
      clientFor: client,
      context,
    }).catch((e: unknown) => e)
    expect((error as Error).message).toBe(
      `aws: copy failed in 1 of 1 regions: us-east-1: aws: 2 AMIs named ${SOURCE.Name} in us-east-1: ami-1, ami-2`,
    )
    expect(ec2Mock).not.toHaveReceivedCommand(CopyImageCommand)
  })

  it('refuses an unknown region before copying anything (exit 2)', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({Images: [SOURCE]})
    const error = await copyImage({
      ec2: await client('us-west-2'),
      imageId: 'ami-src',
      regions: ['us-east-1', 'mars-north-1'],
      clientFor: client,
      context,
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe('aws: unknown region mars-north-1')
    expect(ec2Mock).not.toHaveReceivedCommand(CopyImageCommand)
  })

  it('lists regions sorted by name', async () => {
    expect((await listRegions(await client('us-west-2'))).map((r) => r.name)).toEqual(['ap-south-1', 'eu-west-1', 'us-east-1', 'us-west-2'])
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeRegionsCommand, {AllRegions: false})
  })
})

describe('aws deleteImage', () => {
  const context = testContext()
  beforeEach(() => ec2Mock.reset())

  it('deregisters the AMI and deletes its snapshots', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: 'ami-1',
          BlockDeviceMappings: [
            {DeviceName: '/dev/xvda', Ebs: {SnapshotId: 'snap-1'}},
            {DeviceName: '/dev/xvdb', VirtualName: 'ephemeral0'},
          ],
        },
      ],
    })
    const result = await deleteImage({ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}), imageId: 'ami-1', context})
    expect(result).toEqual({region: 'us-west-2', imageId: 'ami-1', snapshotIds: ['snap-1']})
    expect(ec2Mock).toHaveReceivedCommandWith(DeregisterImageCommand, {ImageId: 'ami-1'})
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSnapshotCommand, {SnapshotId: 'snap-1'})
  })

  it('says which image is missing (exit 2)', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({Images: []})
    const error = await deleteImage({ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}), imageId: 'ami-gone', context}).catch(
      (e: unknown) => e,
    )
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe('aws: no image ami-gone in us-west-2')
  })
})
