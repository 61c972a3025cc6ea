import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BOARDS, createWorld, worldRun, type WorldDescriptor, type WorldRun} from '../testing/world.js'
import {planStages, runStage} from './stages.js'

/**
 * The optional AWS Marketplace update of a two-board release: each board's
 * public us-east-1 AMI becomes a new version of that board's AMI product,
 * with the change set Flatcar's UpdateProduct sends (platform/api/aws/marketplace.go).
 */
describe('AWS Marketplace delivery of a two-board release', () => {
  let root: string
  let world: WorldDescriptor
  const runs = new Map<string, WorldRun>()

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'plume-market-'))
    world = await createWorld(root, undefined)
    // Given a channel with a Marketplace product per architecture
    const config = join(root, 'channels.yaml')
    const marketplace = [
      '      marketplace:',
      '        productIds: {amd64: [prod-flatcar-amd64], arm64: [prod-flatcar-arm64]}',
      '        accessRoleArn: arn:aws:iam::123456789012:role/marketplace-ami-access',
      '      partitions:',
    ].join('\n')
    await writeFile(config, (await readFile(config, 'utf8')).replace('      partitions:', marketplace))
    for (const board of BOARDS) runs.set(board, await worldRun(world, {}, {board}))
    for (const stage of ['pre-release', 'release'] as const) for (const board of BOARDS) await runStage(stage, runs.get(board)!.options)
  }, 300_000)
  afterAll(async () => {
    for (const run of runs.values()) run.restore()
    if (root) await rm(root, {recursive: true, force: true})
  })

  it("adds each board's public us-east-1 AMI to its own product, with Flatcar's change set", () => {
    const ec2 = runs.get('amd64-usr')!.ec2.read()
    const market = runs.get('amd64-usr')!.marketplace.read()
    for (const [board, product, instanceType, name] of [
      ['amd64-usr', 'prod-flatcar-amd64', 't3.medium', 'Flatcar-test-1.2.3-hvm'],
      ['arm64-usr', 'prod-flatcar-arm64', 'm6g.medium', 'Flatcar-test-1.2.3-arm64-hvm'],
    ] as const) {
      const ami = ec2.images.find((i) => i.region === 'us-east-1' && i.name === name)!
      expect({board, versions: market.products[product]!.versions}).toEqual({board, versions: [{title: '1.2.3', amiId: ami.id}]})
      const set = market.changeSets.find((c) => c.request.ChangeSet[0]!.Entity.Identifier === product)!
      expect({...set.request, ChangeSet: set.request.ChangeSet.map((c) => ({...c, Details: JSON.parse(c.Details) as unknown}))}).toEqual({
        Catalog: 'AWSMarketplace',
        ChangeSetName: `plume 1.2.3 ${ami.id}`,
        ClientRequestToken: set.token,
        ChangeSet: [
          {
            // platform/api/aws/marketplace.go UpdateProduct: AddDeliveryOptions on AmiProduct@1.0
            ChangeType: 'AddDeliveryOptions',
            Entity: {Identifier: product, Type: 'AmiProduct@1.0'},
            Details: {
              Version: {VersionTitle: '1.2.3', ReleaseNotes: 'https://www.flatcar.org/releases/#release-1.2.3'},
              DeliveryOptions: [
                {
                  Details: {
                    AmiDeliveryOptionDetails: {
                      AmiSource: {
                        AmiId: ami.id,
                        AccessRoleArn: 'arn:aws:iam::123456789012:role/marketplace-ami-access',
                        UserName: 'core',
                        OperatingSystemName: 'OTHERLINUX',
                        OperatingSystemVersion: '1.2.3',
                      },
                      UsageInstructions:
                        'You can spin up single instances of Flatcar Container Linux using the instructions here: https://www.flatcar.org/docs/latest/installing/cloud/aws-ec2/\n\nFlatcar Container Linux supports a declarative provisioning using the Config format. Learn more from https://www.flatcar.org/docs/latest/provisioning/',
                      // cmd/plume/release.go doAWS: t3.medium, m6g.medium for arm64-usr
                      RecommendedInstanceType: instanceType,
                      SecurityGroups: [{IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: ['0.0.0.0/0']}],
                    },
                  },
                },
              ],
            },
          },
        ],
      })
      expect(set.token).toMatch(/^[0-9a-f]{36}$/)
    }
    expect(market.writes).toHaveLength(2)
  })

  it('a second release adds nothing, and plan has nothing left', async () => {
    for (const board of BOARDS) {
      const again = await runStage('release', runs.get(board)!.options)
      expect(again.actions).toEqual([])
      expect(again.done).toContain(`aws/marketplace/prod-flatcar-${board.slice(0, 5)}`)
      expect((await planStages(runs.get(board)!.options)).map((s) => s.actions)).toEqual([[], []])
    }
    expect(runs.get('amd64-usr')!.marketplace.read().writes).toHaveLength(2)
  })
})
