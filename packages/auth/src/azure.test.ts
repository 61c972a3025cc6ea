import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {resolveAzure} from './azure.js'

const principal = (appId: string) => ({appId, password: `${appId}-password-xyz`, subscription: `sub-${appId}`, tenant: 'tenant-1'})

describe('resolveAzure', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => ({dir: home, cleanup} = await makeTempDir()))
  afterEach(() => cleanup())
  const resolve = (opts: Partial<Parameters<typeof resolveAzure>[0]> = {}) => {
    const cap = captureLogger()
    return resolveAzure({env: {}, home, logger: cap.logger, redactor: cap.redactor, ...opts})
  }

  it('reads a single-principal azureCreds.json', async () => {
    const file = join(home, 'azureCreds.json')
    await writeFile(file, JSON.stringify(principal('app-1')), {mode: 0o600})
    const auth = await resolve({credentialsFile: file})
    expect(auth.principal).toEqual({
      tenantId: 'tenant-1',
      clientId: 'app-1',
      clientSecret: 'app-1-password-xyz',
      subscriptionId: 'sub-app-1',
    })
    expect(auth.subscriptionId).toBe('sub-app-1')
  })

  it('reads the default and a named profile of a profile map', async () => {
    const file = join(home, 'azureCreds.json')
    await writeFile(file, JSON.stringify({default: principal('app-d'), prod: principal('app-p')}), {mode: 0o600})
    expect((await resolve({credentialsFile: file})).principal?.clientId).toBe('app-d')
    expect((await resolve({credentialsFile: file, profile: 'prod'})).principal?.clientId).toBe('app-p')
    await expect(resolve({credentialsFile: file, profile: 'dev'})).rejects.toThrow(
      `azure credentials ${file} (profile "dev"): profile not found (profiles in file: default, prod)`,
    )
  })

  it('a missing or malformed file is one usage line', async () => {
    const file = join(home, 'azureCreds.json')
    await expect(resolve({credentialsFile: file})).rejects.toThrow(`azure credentials ${file}: file not found`)
    await writeFile(file, '{nope', {mode: 0o600})
    await expect(resolve({credentialsFile: file})).rejects.toThrow(new RegExp(`^azure credentials ${file}: malformed JSON`))
    await writeFile(file, JSON.stringify({appId: 'a', tenant: 't'}), {mode: 0o600})
    await expect(resolve({credentialsFile: file})).rejects.toThrow(`azure credentials ${file}: missing or empty field "password"`)
  })

  it("reads an SDK auth file (az ad sp create-for-rbac --sdk-auth, mantle's --azure-auth) with the cloud's endpoints", async () => {
    const file = join(home, 'azureAuth.json')
    const sdkAuth = {
      clientId: 'app-s',
      clientSecret: 'sdk-secret-abcdef',
      subscriptionId: 'sub-s',
      tenantId: 'tenant-s',
      activeDirectoryEndpointUrl: 'https://login.microsoftonline.us/',
      resourceManagerEndpointUrl: 'https://management.usgovcloudapi.net/',
      managementEndpointUrl: 'https://management.core.usgovcloudapi.net/',
      activeDirectoryGraphResourceId: 'https://graph.windows.net/',
    }
    await writeFile(file, JSON.stringify(sdkAuth), {mode: 0o600})
    const cap = captureLogger()
    const auth = await resolveAzure({credentialsFile: file, env: {}, home, logger: cap.logger, redactor: cap.redactor})
    expect(auth).toMatchObject({
      principal: {tenantId: 'tenant-s', clientId: 'app-s', clientSecret: 'sdk-secret-abcdef', subscriptionId: 'sub-s'},
      subscriptionId: 'sub-s',
      authorityHost: 'https://login.microsoftonline.us',
      armEndpoint: 'https://management.usgovcloudapi.net',
      armAudience: 'https://management.core.usgovcloudapi.net',
    })
    expect(cap.redactor.redact('key sdk-secret-abcdef')).not.toContain('sdk-secret-abcdef')
    await writeFile(file, JSON.stringify({...sdkAuth, resourceManagerEndpointUrl: 'http://plain.example'}), {mode: 0o600})
    await expect(resolve({credentialsFile: file})).rejects.toThrow(
      `azure credentials ${file}: resourceManagerEndpointUrl is not an https URL`,
    )
  })

  it('uses the service-principal environment, else DefaultAzureCredential', async () => {
    const env = {AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 'env-secret-abcdef', AZURE_SUBSCRIPTION_ID: 's'}
    expect(await resolve({env})).toMatchObject({source: 'environment', subscriptionId: 's', principal: {clientId: 'c'}})
    expect(await resolve()).toMatchObject({source: 'DefaultAzureCredential', principal: undefined})
  })

  it('takes storage access from a connection string or an account key', async () => {
    const cs =
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0a2V5c2VjcmV0a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1'
    expect((await resolve({connectionString: cs})).storage).toEqual({connectionString: cs})
    expect((await resolve({env: {AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: 'k3y-abcdefgh'}})).storage).toEqual({
      accountName: 'acct',
      accountKey: 'k3y-abcdefgh',
    })
    await expect(resolve({connectionString: 'garbage'})).rejects.toThrow(/connection string has no AccountName/)
  })
})
