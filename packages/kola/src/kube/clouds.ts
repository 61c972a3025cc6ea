/**
 * Credentials and the managed-cluster module of each cloud, for the gke,
 * eks and aks deployers. Resolved once, here, from the command's flags and
 * environment (through @mantle/auth); the deployer only sees the narrow
 * ManagedClusterApi of packages/cloud.
 */
import {azureTokenCredential, resolveAws, resolveAzure, resolveGce} from '@mantle/auth'
import {aws, azure, gcloud, type ManagedClusterApi} from '@mantle/cloud'
import {UsageError} from '@mantle/kit'

import type {KubeFlagValues, KubeSettingsContext} from './options.js'

export async function managedApi(
  cloud: 'gke' | 'eks' | 'aks',
  flags: Omit<KubeFlagValues, 'output-dir'>,
  ctx: KubeSettingsContext,
): Promise<ManagedClusterApi> {
  const base = {env: ctx.env, home: ctx.home, logger: ctx.logger, redactor: ctx.redactor}
  const call = {logger: ctx.logger}
  switch (cloud) {
    case 'gke': {
      if (!flags.location) throw new UsageError('the gke deployer needs --location (a zone or region)')
      const auth = await resolveGce({...base, jsonKey: flags['json-key'], serviceAuth: flags['service-auth']})
      return gcloud.gkeClusters({...call, auth, project: flags.project, location: flags.location})
    }
    case 'eks': {
      const auth = await resolveAws({
        ...base,
        profile: flags.profile,
        credentialsFile: flags['credentials-file'],
        accessKeyId: flags['access-id'],
        secretAccessKey: flags['secret-key'],
        region: flags.region,
      })
      const eks = await aws.eksApi({...call, auth})
      return aws.eksClusters({
        eks,
        roleArn: flags['role-arn'] ?? '',
        nodeRoleArn: flags['node-role-arn'] ?? '',
        subnetIds: (flags.subnets ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      })
    }
    case 'aks': {
      const auth = await resolveAzure({...base, credentialsFile: flags['azure-credentials'], profile: flags['azure-profile']})
      return azure.aksClusters({
        ...call,
        credential: await azureTokenCredential(auth),
        subscriptionId: flags.subscription ?? auth.subscriptionId,
        resourceGroup: flags['resource-group'] ?? '',
        location: flags.location ?? '',
      })
    }
  }
}
