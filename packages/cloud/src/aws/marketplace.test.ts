import {
  DescribeEntityCommand,
  ListChangeSetsCommand,
  MarketplaceCatalogClient,
  StartChangeSetCommand,
} from '@aws-sdk/client-marketplace-catalog'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import {beforeEach, describe, expect, it} from 'vitest'

import {TEST_AWS_AUTH, testContext} from '../testing/fakes.js'
import {addAmiDelivery, amiDeliveryChangeSet, FLATCAR_USAGE_INSTRUCTIONS, marketplaceApi, offersAmi} from './marketplace.js'

const market = mockClient(MarketplaceCatalogClient)
const delivery = {
  productId: 'prod-abc',
  amiId: 'ami-0123',
  accessRoleArn: 'arn:aws:iam::123456789012:role/mp',
  username: 'core',
  version: '4000.0.0',
  instanceType: 't3.medium',
  releaseNotes: 'https://www.flatcar.org/releases/#release-4000.0.0',
  usageInstructions: FLATCAR_USAGE_INSTRUCTIONS,
}

/** The Marketplace Catalog adapter at the SDK boundary (aws-sdk-client-mock). */
describe('aws marketplace', () => {
  const context = testContext()
  const api = () => marketplaceApi({auth: TEST_AWS_AUTH, region: 'us-east-1', ...context})
  beforeEach(() => market.reset())

  it('tells a product that lists the AMI as a version source, from Details or DetailsDocument', async () => {
    market
      .on(DescribeEntityCommand)
      .resolvesOnce({Details: JSON.stringify({Versions: [{Sources: [{Image: 'ami-0123'}]}]})})
      .resolvesOnce({DetailsDocument: {Versions: [{Sources: [{Image: 'ami-9999'}]}]}})
    market.on(ListChangeSetsCommand).resolves({ChangeSetSummaryList: [{ChangeSetName: 'plume 4000.0.0 ami-0123', Status: 'FAILED'}]})
    expect(await offersAmi(await api(), delivery)).toBe(true)
    // a FAILED change set of the version does not count: it is tried again
    expect(await offersAmi(await api(), delivery)).toBe(false)
    expect(market).toHaveReceivedCommandWith(DescribeEntityCommand, {Catalog: 'AWSMarketplace', EntityId: 'prod-abc'})
    expect(market).toHaveReceivedCommandWith(ListChangeSetsCommand, {
      Catalog: 'AWSMarketplace',
      FilterList: [{Name: 'EntityId', ValueList: ['prod-abc']}],
    })
  })

  it('starts the change set Flatcar sends, with a token that repeats for the same product and AMI', async () => {
    market.on(StartChangeSetCommand).resolves({ChangeSetId: 'cs-1'})
    expect(await addAmiDelivery(await api(), delivery, context)).toBe('cs-1')
    const sent = amiDeliveryChangeSet(delivery)
    expect(market).toHaveReceivedCommandWith(StartChangeSetCommand, sent)
    expect(amiDeliveryChangeSet(delivery).ClientRequestToken).toBe(sent.ClientRequestToken)
    expect(amiDeliveryChangeSet({...delivery, amiId: 'ami-4567'}).ClientRequestToken).not.toBe(sent.ClientRequestToken)
  })
})
