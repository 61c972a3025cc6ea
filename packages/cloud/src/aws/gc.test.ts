import {
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import {beforeEach, describe, expect, it} from 'vitest'

import {TEST_AWS_AUTH, testContext} from '../testing/fakes.js'
import {ec2Api} from './clients.js'
import {gcAws} from './gc.js'

const ec2Mock = mockClient(EC2Client)
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000)
const OURS = [{Key: 'created-by', Value: 'mantle'}]

describe('aws gc', () => {
  beforeEach(() => {
    ec2Mock.reset()
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({SecurityGroups: []})
  })

  it('terminates only our instances older than the duration, across pages, and our old key pairs', async () => {
    // Given old and new instances, ours and not ours, on two pages
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {InstanceId: 'i-old-ours', LaunchTime: hoursAgo(6), Tags: OURS},
              {InstanceId: 'i-new-ours', LaunchTime: hoursAgo(1), Tags: OURS},
            ],
          },
        ],
        NextToken: 'page2',
      })
      .resolves({
        Reservations: [
          {
            Instances: [
              {InstanceId: 'i-old-theirs', LaunchTime: hoursAgo(30), Tags: [{Key: 'created-by', Value: 'someone'}]},
              {InstanceId: 'i-old-ours-2', LaunchTime: hoursAgo(5.5), Tags: OURS},
            ],
          },
        ],
      })
    ec2Mock.on(DescribeKeyPairsCommand).resolves({
      KeyPairs: [
        {KeyPairId: 'key-old', KeyName: 'kola-1', CreateTime: hoursAgo(8), Tags: OURS},
        {KeyPairId: 'key-new', CreateTime: hoursAgo(2), Tags: OURS},
      ],
    })
    const context = testContext(NOW)

    // When
    const result = await gcAws({ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}), olderThanMs: 5 * 3_600_000, context})

    // Then
    expect(result).toEqual({
      region: 'us-west-2',
      terminatedInstances: ['i-old-ours', 'i-old-ours-2'],
      deletedKeyPairs: ['key-old'],
      deletedSecurityGroups: [],
    })
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        {Name: 'tag:created-by', Values: ['mantle']},
        {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']},
      ],
    })
    expect(ec2Mock).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 2, {NextToken: 'page2'})
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1)
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {InstanceIds: ['i-old-ours', 'i-old-ours-2']})
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteKeyPairCommand, 1)
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteKeyPairCommand, {KeyPairId: 'key-old'})
  })

  it('deletes nothing with dryRun', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({Reservations: [{Instances: [{InstanceId: 'i-old', LaunchTime: hoursAgo(9), Tags: OURS}]}]})
    ec2Mock.on(DescribeKeyPairsCommand).resolves({KeyPairs: []})
    const context = testContext(NOW)
    const result = await gcAws({ec2: await ec2Api({auth: TEST_AWS_AUTH, ...context}), olderThanMs: 3_600_000, dryRun: true, context})
    expect(result.terminatedInstances).toEqual(['i-old'])
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand)
  })
})
