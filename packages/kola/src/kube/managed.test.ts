import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
} from '@aws-sdk/client-eks'
import {aws, azure, gcloud, type ManagedClusterApi} from '@mantle/cloud'
import {TEST_AWS_AUTH, testContext, testServiceAccount, useRecordedHttp} from '@mantle/cloud/testing'
import {ExitCode, isMantleError} from '@mantle/kit'
import {mockClient} from 'aws-sdk-client-mock'
import 'aws-sdk-client-mock-vitest/extend'
import nock from 'nock'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ManagedDeployer} from './managed.js'

/**
 * GKE, EKS and AKS cannot run here: the deployer drives the real cloud modules
 * against recorded request shapes. The shapes are those of the public APIs:
 * container.googleapis.com v1 (projects.locations.clusters create/get/delete,
 * Cluster.status, endpoint, masterAuth.clusterCaCertificate), EKS
 * CreateCluster, CreateNodegroup, Describe and Delete of both (as `eksctl` and
 * `aws eks` send them), ARM Microsoft.ContainerService/managedClusters
 * (PUT, GET provisioningState, POST listClusterUserCredential, DELETE).
 */
const NOW = new Date('2026-05-01T12:00:00Z')
const RUN = 'a1b2c3d4e5f6'
const CLUSTER = `kola-${RUN}`
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64')
let out: string

beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), 'kube-managed-'))
})
afterEach(async () => {
  await rm(out, {recursive: true, force: true})
})

function deployer(name: 'gke' | 'eks' | 'aks', api: ManagedClusterApi, context = testContext(NOW)) {
  return new ManagedDeployer({logger: context.logger, runId: RUN, outputDir: out}, name, {api, nodeCount: 2, version: '1.33'})
}

describe('gke deployer (recorded HTTP)', () => {
  useRecordedHttp()
  const GKE = 'https://container.googleapis.com'
  const L = '/v1/projects/mantle-test/locations/us-central1-a'
  const token = () =>
    nock('https://oauth2.googleapis.com')
      .post('/token')
      .reply(200, {access_token: 'gke-test-token', expires_in: 3600, token_type: 'Bearer'})
  const api = async (context = testContext(NOW)) => {
    token()
    return gcloud.gkeClusters({auth: testServiceAccount(), location: 'us-central1-a', pollIntervalMs: 0, now: () => NOW, ...context})
  }
  const running = {
    name: CLUSTER,
    status: 'RUNNING',
    endpoint: '203.0.113.10',
    masterAuth: {clusterCaCertificate: CA},
    resourceLabels: {'created-by': 'mantle', 'kola-run': RUN},
  }

  it('creates a labelled cluster, waits until RUNNING, writes a kubeconfig from the answer, deletes it and waits until it is gone', async () => {
    // Given GKE accepting the cluster, then PROVISIONING, then RUNNING
    const created: unknown[] = []
    nock(GKE)
      .post(`${L}/clusters`, (b) => (created.push(b), true))
      .matchHeader('authorization', 'Bearer gke-test-token')
      .reply(200, {name: 'operation-1', operationType: 'CREATE_CLUSTER', status: 'RUNNING'})
    nock(GKE).get(`${L}/clusters/${CLUSTER}`).reply(200, {name: CLUSTER, status: 'PROVISIONING'})
    nock(GKE).get(`${L}/clusters/${CLUSTER}`).reply(200, running)
    const d = deployer('gke', await api())

    // When the deployer comes up
    const path = await d.up()

    // Then the request carried the node count, version and our labels, and the kubeconfig names the endpoint and CA
    expect(created).toEqual([
      {
        cluster: {
          name: CLUSTER,
          initialNodeCount: 2,
          initialClusterVersion: '1.33',
          resourceLabels: {'created-by': 'mantle', 'created-at': String(NOW.getTime() / 1000), 'kola-run': RUN},
        },
      },
    ])
    const kubeconfig = await readFile(path, 'utf8')
    expect(kubeconfig).toContain('server: https://203.0.113.10')
    expect(kubeconfig).toContain(`certificate-authority-data: ${CA}`)
    expect(kubeconfig).toContain('command: gke-gcloud-auth-plugin')

    // When it goes down: DELETE, then polled until 404
    nock(GKE).delete(`${L}/clusters/${CLUSTER}`).reply(200, {name: 'operation-2', operationType: 'DELETE_CLUSTER', status: 'RUNNING'})
    nock(GKE)
      .get(`${L}/clusters/${CLUSTER}`)
      .reply(200, {...running, status: 'STOPPING'})
    nock(GKE)
      .get(`${L}/clusters/${CLUSTER}`)
      .reply(404, {error: {code: 404, message: 'Not found', status: 'NOT_FOUND'}})
    await d.down()
  })

  it('a cluster that fails half-way (ERROR) is deleted before up reports it (exit 3)', async () => {
    nock(GKE).post(`${L}/clusters`).reply(200, {name: 'operation-1', status: 'RUNNING'})
    nock(GKE)
      .get(`${L}/clusters/${CLUSTER}`)
      .reply(200, {name: CLUSTER, status: 'ERROR', statusMessage: 'Insufficient regional quota to satisfy request: resource "CPUS"'})
    // Deleting it while an operation still runs is refused once, then accepted, then it is gone.
    nock(GKE)
      .delete(`${L}/clusters/${CLUSTER}`)
      .reply(400, {error: {code: 400, message: 'Cluster is running incompatible operation operation-1.', status: 'FAILED_PRECONDITION'}})
    nock(GKE).delete(`${L}/clusters/${CLUSTER}`).reply(200, {name: 'operation-2', status: 'RUNNING'})
    nock(GKE)
      .get(`${L}/clusters/${CLUSTER}`)
      .reply(404, {error: {code: 404, message: 'Not found'}})
    const error = await deployer('gke', await api())
      .up()
      .catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe(
      `gke: cluster ${CLUSTER} is ERROR: Insufficient regional quota to satisfy request: resource "CPUS"`,
    )
  })

  it('retries a throttled create (429) and a 503', async () => {
    nock(GKE)
      .post(`${L}/clusters`)
      .reply(429, {error: {code: 429, message: 'Quota exceeded for quota metric', status: 'RESOURCE_EXHAUSTED'}})
    nock(GKE)
      .post(`${L}/clusters`)
      .reply(503, {error: {code: 503, message: 'backend unavailable'}})
    nock(GKE).post(`${L}/clusters`).reply(200, {name: 'operation-1', status: 'RUNNING'})
    nock(GKE).get(`${L}/clusters/${CLUSTER}`).reply(200, running)
    const context = testContext(NOW)
    await deployer('gke', await api(context), context).up()
    expect(context.lines.filter((l) => l.includes('gke POST')).length).toBe(2)
  })
})

describe('eks deployer (aws-sdk-client-mock)', () => {
  const eks = mockClient(EKSClient)
  beforeEach(() => eks.reset())
  const api = async (context = testContext(NOW)) =>
    aws.eksClusters({
      eks: await aws.eksApi({auth: TEST_AWS_AUTH, ...context}),
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      nodeRoleArn: 'arn:aws:iam::123456789012:role/eks-nodes',
      subnetIds: ['subnet-a', 'subnet-b'],
      pollIntervalMs: 0,
      now: () => NOW,
    })
  const active = {
    name: CLUSTER,
    status: 'ACTIVE' as const,
    endpoint: 'https://ABCDEF.gr7.us-west-2.eks.amazonaws.com',
    certificateAuthority: {data: CA},
    tags: {'created-by': 'mantle', 'kola-run': RUN},
  }
  const notFound = () =>
    Object.assign(new Error('No cluster found for name'), {name: 'ResourceNotFoundException', $metadata: {httpStatusCode: 404}})
  const tags = {'created-by': 'mantle', 'created-at': NOW.toISOString(), 'kola-run': RUN}

  it('creates the cluster, then its node group once ACTIVE, builds the kubeconfig, and deletes node group then cluster', async () => {
    eks.on(CreateClusterCommand).resolves({cluster: {name: CLUSTER, status: 'CREATING'}})
    eks
      .on(DescribeClusterCommand)
      .resolvesOnce({cluster: {name: CLUSTER, status: 'CREATING'}})
      .resolves({cluster: active})
    eks.on(CreateNodegroupCommand).resolves({nodegroup: {nodegroupName: `${CLUSTER}-nodes`, status: 'CREATING'}})
    eks
      .on(DescribeNodegroupCommand)
      .resolvesOnce({nodegroup: {status: 'CREATING'}})
      .resolves({nodegroup: {status: 'ACTIVE'}})
    const d = deployer('eks', await api())

    const path = await d.up()

    expect(eks).toHaveReceivedCommandWith(CreateClusterCommand, {
      name: CLUSTER,
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: {subnetIds: ['subnet-a', 'subnet-b'], endpointPublicAccess: true},
      version: '1.33',
      tags,
    })
    expect(eks).toHaveReceivedCommandWith(CreateNodegroupCommand, {
      clusterName: CLUSTER,
      nodegroupName: `${CLUSTER}-nodes`,
      nodeRole: 'arn:aws:iam::123456789012:role/eks-nodes',
      subnets: ['subnet-a', 'subnet-b'],
      scalingConfig: {minSize: 2, maxSize: 2, desiredSize: 2},
      instanceTypes: ['t3.medium'],
      tags,
    })
    const kubeconfig = await readFile(path, 'utf8')
    expect(kubeconfig).toContain('server: https://ABCDEF.gr7.us-west-2.eks.amazonaws.com')
    expect(kubeconfig).toContain(`certificate-authority-data: ${CA}`)
    expect(kubeconfig).toMatch(
      /command: aws\n\s+args:\n\s+- "eks"\n\s+- "get-token"\n\s+- "--cluster-name"\n\s+- "kola-a1b2c3d4e5f6"\n\s+- "--region"\n\s+- "us-west-2"/,
    )

    eks.on(DeleteNodegroupCommand).resolves({})
    eks.on(DescribeNodegroupCommand).rejects(notFound())
    eks.on(DeleteClusterCommand).resolves({})
    eks.on(DescribeClusterCommand).rejects(notFound())
    await d.down()
    expect(eks).toHaveReceivedCommandWith(DeleteNodegroupCommand, {clusterName: CLUSTER, nodegroupName: `${CLUSTER}-nodes`})
    expect(eks).toHaveReceivedCommandWith(DeleteClusterCommand, {name: CLUSTER})
  })

  it('a node group that fails to create: node group and cluster are deleted before up reports it (exit 3)', async () => {
    eks.on(CreateClusterCommand).resolves({})
    eks.on(DescribeClusterCommand).resolves({cluster: active})
    eks.on(CreateNodegroupCommand).resolves({})
    eks
      .on(DescribeNodegroupCommand)
      .resolvesOnce({
        nodegroup: {
          status: 'CREATE_FAILED',
          health: {
            issues: [{code: 'AsgInstanceLaunchFailures', message: 'Could not launch On-Demand Instances. InsufficientInstanceCapacity'}],
          },
        },
      })
      .rejects(notFound())
    eks.on(DeleteNodegroupCommand).resolves({})
    eks.on(DeleteClusterCommand).callsFake(() => {
      eks.on(DescribeClusterCommand).rejects(notFound())
      return {}
    })
    const error = await deployer('eks', await api())
      .up()
      .catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe(
      `eks: node group ${CLUSTER}-nodes is CREATE_FAILED: AsgInstanceLaunchFailures: Could not launch On-Demand Instances. InsufficientInstanceCapacity`,
    )
    expect(eks).toHaveReceivedCommandWith(DeleteNodegroupCommand, {clusterName: CLUSTER, nodegroupName: `${CLUSTER}-nodes`})
    expect(eks).toHaveReceivedCommandWith(DeleteClusterCommand, {name: CLUSTER})
  })

  it('retries a throttled CreateCluster', async () => {
    eks
      .on(CreateClusterCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), {name: 'ThrottlingException', $metadata: {httpStatusCode: 400}}))
      .resolves({})
    eks.on(DescribeClusterCommand).resolves({cluster: active})
    eks.on(CreateNodegroupCommand).resolves({})
    eks.on(DescribeNodegroupCommand).resolves({nodegroup: {status: 'ACTIVE'}})
    await deployer('eks', await api()).up()
    expect(eks).toHaveReceivedCommandTimes(CreateClusterCommand, 2)
  })
})

describe('aks deployer (recorded HTTP)', () => {
  useRecordedHttp()
  const ARM = 'https://management.azure.com'
  const SUB = '00000000-1111-2222-3333-444444444444'
  const MC = `/subscriptions/${SUB}/resourceGroups/kube-tests/providers/Microsoft.ContainerService/managedClusters/${CLUSTER}`
  const OP = `/subscriptions/${SUB}/providers/Microsoft.ContainerService/locations/westus2/operations/op-1`
  const credential = {getToken: async () => ({token: 'test-arm-token', expiresOnTimestamp: Date.now() + 3_600_000})}
  const api = (context = testContext(NOW)) =>
    azure.aksClusters({
      credential,
      subscriptionId: SUB,
      resourceGroup: 'kube-tests',
      location: 'westus2',
      pollIntervalMs: 0,
      now: () => NOW,
      ...context,
    })
  const KUBECONFIG =
    'apiVersion: v1\nkind: Config\nclusters:\n- name: kola\n  cluster:\n    server: https://kola-dns.hcp.westus2.azmk8s.io:443\n'
  const cluster = (state: string) => ({
    id: MC,
    name: CLUSTER,
    location: 'westus2',
    tags: {'created-by': 'mantle', 'kola-run': RUN},
    properties: {provisioningState: state, fqdn: 'kola-dns.hcp.westus2.azmk8s.io'},
  })

  it('PUTs the cluster with our tags, polls until Succeeded, takes the kubeconfig AKS hands out, deletes it', async () => {
    const bodies: unknown[] = []
    nock(ARM)
      .put(MC, (b) => (bodies.push(b), true))
      .query(true)
      .matchHeader('authorization', 'Bearer test-arm-token')
      .reply(201, cluster('Creating'), {'azure-asyncoperation': `${ARM}${OP}?api-version=2025-01-01`})
    nock(ARM).get(MC).query(true).reply(200, cluster('Creating'))
    nock(ARM).get(MC).query(true).reply(200, cluster('Succeeded'))
    nock(ARM)
      .post(`${MC}/listClusterUserCredential`)
      .query(true)
      .reply(200, {kubeconfigs: [{name: 'clusterUser', value: Buffer.from(KUBECONFIG).toString('base64')}]})
    const d = deployer('aks', await api())

    const path = await d.up()

    expect(bodies).toEqual([
      {
        location: 'westus2',
        tags: {'created-by': 'mantle', 'created-at': NOW.toISOString(), 'kola-run': RUN},
        identity: {type: 'SystemAssigned'},
        properties: {
          dnsPrefix: CLUSTER,
          kubernetesVersion: '1.33',
          agentPoolProfiles: [{name: 'nodes', mode: 'System', count: 2, vmSize: 'Standard_D2s_v3', osType: 'Linux'}],
        },
      },
    ])
    expect(await readFile(path, 'utf8')).toBe(KUBECONFIG)

    nock(ARM).get(MC).query(true).reply(200, cluster('Succeeded'))
    nock(ARM)
      .delete(MC)
      .query(true)
      .reply(202, undefined, {
        'azure-asyncoperation': `${ARM}${OP}-del?api-version=2025-01-01`,
        location: `${ARM}${OP}-del?api-version=2025-01-01`,
      })
    nock(ARM).get(`${OP}-del`).query(true).reply(200, {status: 'Succeeded'})
    await d.down()
  })

  it('a cluster whose provisioning Failed is deleted before up reports it (exit 3)', async () => {
    nock(ARM).put(MC).query(true).reply(201, cluster('Creating'))
    nock(ARM).get(MC).query(true).reply(200, cluster('Failed'))
    nock(ARM).get(MC).query(true).reply(200, cluster('Failed'))
    nock(ARM).delete(MC).query(true).reply(200)
    const error = await deployer('aks', await api())
      .up()
      .catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe(`aks: cluster ${CLUSTER} provisioning Failed`)
  })

  it('retries a throttled PUT (429)', async () => {
    nock(ARM)
      .put(MC)
      .query(true)
      .reply(429, {error: {code: 'TooManyRequests', message: 'slow down'}}, {'retry-after': '0'})
    nock(ARM).put(MC).query(true).reply(201, cluster('Creating'))
    nock(ARM).get(MC).query(true).reply(200, cluster('Succeeded'))
    nock(ARM)
      .post(`${MC}/listClusterUserCredential`)
      .query(true)
      .reply(200, {kubeconfigs: [{name: 'clusterUser', value: Buffer.from(KUBECONFIG).toString('base64')}]})
    const context = testContext(NOW)
    await deployer('aks', await api(context), context).up()
    expect(context.lines.some((l) => l.includes('aks managedClusters.beginCreateOrUpdate') && l.includes('attempt 2'))).toBe(true)
  })
})
