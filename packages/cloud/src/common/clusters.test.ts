import {
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
  ListClustersCommand,
} from '@aws-sdk/client-eks'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import nock from 'nock'
import {beforeEach, describe, expect, it} from 'vitest'

import {eksApi, eksClusters} from '../aws/eks.js'
import {aksClusters} from '../azure/aks.js'
import {gkeClusters} from '../gcloud/clusters.js'
import {TEST_AWS_AUTH, testContext, testServiceAccount} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {gcManagedClusters} from './clusters.js'

/**
 * `ore gcloud|aws|azure gc` of the managed clusters kola kube's deployers
 * leave (created-by=mantle, created-at, kola-run). GKE, EKS and AKS cannot run
 * here: the real cloud modules run against the public APIs' request shapes —
 * container.googleapis.com v1 projects.locations.clusters list (location '-'
 * answers every location, each cluster naming its own `location` and
 * `createTime`) and delete at the cluster's own location; EKS ListClusters,
 * DescribeCluster (createdAt, tags), DeleteNodegroup before DeleteCluster;
 * ARM Microsoft.ContainerService/managedClusters list by resource group and
 * DELETE (AKS keeps no creation time: ours carry the created-at tag).
 * Each cloud: an expired cluster of ours deleted, a young one and one without
 * our label kept; --dry-run deletes nothing.
 */
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000)
const FIVE_HOURS = 5 * 3_600_000

describe('gc of GKE clusters (recorded HTTP)', () => {
  useRecordedHttp()
  const GKE = 'https://container.googleapis.com/v1/projects/mantle-test/locations'
  const token = () =>
    nock('https://oauth2.googleapis.com')
      .post('/token')
      .reply(200, {access_token: 'gke-test-token', expires_in: 3600, token_type: 'Bearer'})
  const listed = {
    clusters: [
      {
        name: 'kola-old',
        location: 'us-central1-a',
        status: 'RUNNING',
        createTime: hoursAgo(6).toISOString(),
        resourceLabels: {'created-by': 'mantle', 'created-at': String(hoursAgo(6).getTime() / 1000), 'kola-run': 'r1'},
      },
      {
        name: 'kola-young',
        location: 'europe-west1',
        status: 'RUNNING',
        createTime: hoursAgo(1).toISOString(),
        resourceLabels: {'created-by': 'mantle', 'kola-run': 'r2'},
      },
      {name: 'prod', location: 'us-central1', status: 'RUNNING', createTime: hoursAgo(900).toISOString(), resourceLabels: {team: 'web'}},
    ],
  }
  const api = (context = testContext(NOW)) => (token(), gkeClusters({auth: testServiceAccount(), location: '-', ...context}))

  it('deletes an expired cluster of ours at its own location and keeps a young one and one without our label', async () => {
    // Given three clusters across locations
    const context = testContext(NOW)
    nock(GKE).get('/-/clusters').matchHeader('authorization', 'Bearer gke-test-token').reply(200, listed)
    nock(GKE)
      .delete('/us-central1-a/clusters/kola-old')
      .reply(200, {name: 'operation-9', operationType: 'DELETE_CLUSTER', status: 'RUNNING'})
    nock(GKE)
      .get('/us-central1-a/clusters/kola-old')
      .reply(200, {...listed.clusters[0], status: 'STOPPING'})
    nock(GKE)
      .get('/us-central1-a/clusters/kola-old')
      .reply(404, {error: {code: 404, status: 'NOT_FOUND'}})

    // When gc runs with the default 5h
    const deleted = await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, context})

    // Then only ours and old is deleted (nock fails on any other request, e.g. a DELETE of kola-young or prod)
    expect(deleted).toEqual(['kola-old'])
  })

  it('--dry-run lists and deletes nothing', async () => {
    const context = testContext(NOW)
    nock(GKE).get('/-/clusters').reply(200, listed)
    expect(await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, dryRun: true, context})).toEqual(['kola-old'])
    expect(context.lines.some((l) => l.includes('would delete GKE cluster kola-old'))).toBe(true)
  })
})

describe('gc of EKS clusters (aws-sdk-client-mock)', () => {
  const eks = mockClient(EKSClient)
  beforeEach(() => eks.reset())
  const notFound = () =>
    Object.assign(new Error('No cluster found for name'), {name: 'ResourceNotFoundException', $metadata: {httpStatusCode: 404}})
  const cluster = (name: string, created: Date, tags: Record<string, string>) => ({
    name,
    status: 'ACTIVE' as const,
    createdAt: created,
    tags,
  })
  const api = async (context = testContext(NOW)) => eksClusters({eks: await eksApi({auth: TEST_AWS_AUTH, ...context}), pollIntervalMs: 0})
  const given = () => {
    eks.on(ListClustersCommand).resolves({clusters: ['kola-old', 'kola-young', 'prod']})
    eks.on(DescribeClusterCommand, {name: 'kola-old'}).resolves({
      cluster: cluster('kola-old', hoursAgo(6), {'created-by': 'mantle', 'created-at': hoursAgo(6).toISOString(), 'kola-run': 'r1'}),
    })
    eks
      .on(DescribeClusterCommand, {name: 'kola-young'})
      .resolves({cluster: cluster('kola-young', hoursAgo(1), {'created-by': 'mantle', 'kola-run': 'r2'})})
    eks.on(DescribeClusterCommand, {name: 'prod'}).resolves({cluster: cluster('prod', hoursAgo(900), {team: 'web'})})
  }

  it('credentials without eks:ListClusters: gc collects no cluster, warns once, and does not fail', async () => {
    // Given an account that may not list EKS clusters (the AccessDeniedException EKS answers, as the SDK raises it)
    eks.on(ListClustersCommand).rejects(
      Object.assign(new Error('User: arn:aws:iam::1:user/ci is not authorized to perform: eks:ListClusters'), {
        name: 'AccessDeniedException',
        $metadata: {httpStatusCode: 403},
      }),
    )
    const context = testContext(NOW)

    // When gc runs
    const deleted = await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, context})

    // Then nothing is deleted and the log says why
    expect(deleted).toEqual([])
    expect(eks).toHaveReceivedCommandTimes(DeleteClusterCommand, 0)
    expect(context.lines.filter((l) => /not allowed to list clusters/.test(l))).toHaveLength(1)
  })

  it('deletes the node group, then the cluster, of an expired cluster of ours; keeps a young one and one without our tag', async () => {
    // Given three clusters; the old one's node group and then the cluster go away once deleted
    given()
    eks.on(DeleteNodegroupCommand).resolves({})
    eks.on(DescribeNodegroupCommand).rejects(notFound())
    eks.on(DeleteClusterCommand).callsFake(() => {
      eks.on(DescribeClusterCommand, {name: 'kola-old'}).rejects(notFound())
      return {}
    })
    const context = testContext(NOW)

    // When gc runs
    const deleted = await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, context})

    // Then the old cluster's node group, then the cluster, and nothing else
    expect(deleted).toEqual(['kola-old'])
    expect(eks).toHaveReceivedCommandWith(DeleteNodegroupCommand, {clusterName: 'kola-old', nodegroupName: 'kola-old-nodes'})
    expect(eks).toHaveReceivedCommandWith(DeleteClusterCommand, {name: 'kola-old'})
    expect(eks).toHaveReceivedCommandTimes(DeleteClusterCommand, 1)
    expect(eks).toHaveReceivedCommandTimes(DeleteNodegroupCommand, 1)
    const order = eks.calls().map((c) => c.args[0].constructor.name)
    expect(order.indexOf('DeleteNodegroupCommand')).toBeLessThan(order.indexOf('DeleteClusterCommand'))
  })

  it('--dry-run deletes nothing', async () => {
    given()
    const context = testContext(NOW)
    expect(await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, dryRun: true, context})).toEqual(['kola-old'])
    expect(eks).not.toHaveReceivedCommand(DeleteNodegroupCommand)
    expect(eks).not.toHaveReceivedCommand(DeleteClusterCommand)
  })
})

describe('gc of AKS clusters (recorded HTTP)', () => {
  useRecordedHttp()
  const ARM = 'https://management.azure.com'
  const SUB = '00000000-1111-2222-3333-444444444444'
  const MCS = `/subscriptions/${SUB}/resourceGroups/kola/providers/Microsoft.ContainerService/managedClusters`
  const OP = `/subscriptions/${SUB}/providers/Microsoft.ContainerService/locations/westus2/operations/op-del`
  const credential = {getToken: async () => ({token: 'test-arm-token', expiresOnTimestamp: Date.now() + 3_600_000})}
  const mc = (name: string, tags: Record<string, string>) => ({
    id: `${MCS}/${name}`,
    name,
    location: 'westus2',
    tags,
    properties: {provisioningState: 'Succeeded'},
  })
  const listed = {
    value: [
      mc('kola-old', {'created-by': 'mantle', 'created-at': hoursAgo(6).toISOString(), 'kola-run': 'r1'}),
      mc('kola-young', {'created-by': 'mantle', 'created-at': hoursAgo(1).toISOString(), 'kola-run': 'r2'}),
      mc('prod', {team: 'web', 'created-at': hoursAgo(900).toISOString()}),
    ],
  }
  const api = (context = testContext(NOW)) =>
    aksClusters({credential, subscriptionId: SUB, resourceGroup: 'kola', location: 'westus', ...context})

  it('deletes an expired cluster of ours; keeps a young one and one without our tag', async () => {
    const context = testContext(NOW)
    nock(ARM).get(MCS).query(true).matchHeader('authorization', 'Bearer test-arm-token').reply(200, listed)
    nock(ARM).get(`${MCS}/kola-old`).query(true).reply(200, listed.value[0])
    nock(ARM)
      .delete(`${MCS}/kola-old`)
      .query(true)
      .reply(202, undefined, {'azure-asyncoperation': `${ARM}${OP}?api-version=2025-01-01`, location: `${ARM}${OP}?api-version=2025-01-01`})
    nock(ARM).get(OP).query(true).reply(200, {status: 'Succeeded'})

    expect(await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, context})).toEqual(['kola-old'])
  })

  it('--dry-run deletes nothing', async () => {
    const context = testContext(NOW)
    nock(ARM).get(MCS).query(true).reply(200, listed)
    expect(await gcManagedClusters({clusters: await api(context), olderThanMs: FIVE_HOURS, dryRun: true, context})).toEqual(['kola-old'])
  })
})

describe('gc of managed clusters where there can be none', () => {
  useRecordedHttp()

  it('GKE: a project with the Kubernetes Engine API switched off has no clusters (403 SERVICE_DISABLED is not an error)', async () => {
    const context = testContext(NOW)
    nock('https://oauth2.googleapis.com')
      .post('/token')
      .reply(200, {access_token: 'gke-test-token', expires_in: 3600, token_type: 'Bearer'})
    nock('https://container.googleapis.com')
      .get('/v1/projects/mantle-test/locations/-/clusters')
      .reply(403, {
        error: {
          code: 403,
          message:
            'Kubernetes Engine API has not been used in project 123456 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/container.googleapis.com/overview?project=123456 then retry.',
          status: 'PERMISSION_DENIED',
          details: [{'@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'SERVICE_DISABLED'}],
        },
      })
    const clusters = await gkeClusters({auth: testServiceAccount(), location: '-', ...context})
    expect(await gcManagedClusters({clusters, olderThanMs: FIVE_HOURS, context})).toEqual([])
  })

  it('AKS: a resource group that does not exist holds no clusters (404 ResourceGroupNotFound is not an error)', async () => {
    const context = testContext(NOW)
    const SUB = '00000000-1111-2222-3333-444444444444'
    nock('https://management.azure.com')
      .get(`/subscriptions/${SUB}/resourceGroups/kola/providers/Microsoft.ContainerService/managedClusters`)
      .query(true)
      .reply(404, {error: {code: 'ResourceGroupNotFound', message: "Resource group 'kola' could not be found."}})
    const credential = {getToken: async () => ({token: 'test-arm-token', expiresOnTimestamp: Date.now() + 3_600_000})}
    const clusters = await aksClusters({credential, subscriptionId: SUB, resourceGroup: 'kola', location: 'westus', ...context})
    expect(await gcManagedClusters({clusters, olderThanMs: FIVE_HOURS, context})).toEqual([])
  })
})
