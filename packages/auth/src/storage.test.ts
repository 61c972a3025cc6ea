import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {isStorageError, UsageError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {storageAuthInput, storageOptions} from './storage.js'

describe('storageOptions', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
  })
  afterEach(async () => {
    await cleanup()
  })
  const ctx = (env: NodeJS.ProcessEnv = {}) => ({...captureLogger(), env, home, cwd: home})

  it('Given only local and https URLs, when resolved, then no credentials are read and none are needed', async () => {
    const options = await storageOptions(['/srv/mirror', 'https://mirror.example.com/x'], {}, ctx())
    expect(options.gcs).toBeUndefined()
    expect(options.s3).toBeUndefined()
    expect(options.azure).toBeUndefined()
    expect(options.cwd).toBe(home)
  })

  it('Given a malformed URL, when resolved, then invalid-url (exit 2) before any credential is looked for', async () => {
    const error = await storageOptions(['gs:/x'], {}, ctx()).catch((e: unknown) => e)
    expect(isStorageError(error, 'invalid-url')).toBe(true)
    expect((error as UsageError).exitCode).toBe(2)
  })

  it('Given an s3 URL with static keys and --s3-endpoint, when resolved, then only AWS is resolved, path-style on that endpoint', async () => {
    const options = await storageOptions(
      's3://bucket/p/',
      {aws: {accessKeyId: 'AKIATEST', secretAccessKey: 'secret-secret-123'}, endpoints: {s3: 'http://127.0.0.1:7480'}},
      ctx(),
    )
    expect(options.s3).toEqual({
      credentials: {accessKeyId: 'AKIATEST', secretAccessKey: 'secret-secret-123'},
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
    })
    expect(options.gcs).toBeUndefined()
  })

  it('Given a gs URL and STORAGE_EMULATOR_HOST without a key, when resolved, then the emulator is used without credentials', async () => {
    const options = await storageOptions('gs://bkt/', {}, ctx({STORAGE_EMULATOR_HOST: '127.0.0.1:9199'}))
    expect(options.gcs).toEqual({apiEndpoint: 'http://127.0.0.1:9199', clientOptions: {projectId: 'emulator'}})
  })

  it('Given "--json-key none", when resolved, then anonymous access without a token', async () => {
    const options = await storageOptions('gs://public/', {gce: {jsonKey: 'none'}}, ctx())
    expect(options.gcs).toEqual({apiEndpoint: 'https://storage.googleapis.com', clientOptions: {useAuthWithCustomEndpoint: false}})
  })

  it('Given a gs URL and no Google credentials anywhere, when resolved, then a one-line usage error (exit 2)', async () => {
    const error = await storageOptions('gs://bkt/', {}, ctx()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).toMatch(/^gce credentials: none found/)
  })

  it('Given an az URL and a connection string, when resolved, then the connection string is used and redacted', async () => {
    const cs =
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;'
    const c = ctx()
    const options = await storageOptions('az://devstoreaccount1/c/x', {azure: {connectionString: cs}}, c)
    expect(options.azure).toEqual({connectionString: cs})
    expect(c.redactor.redact(`oops ${cs}`)).toBe('oops ***')
  })

  it('Given a service-account key file, when a gs URL is resolved, then its client options carry the key', async () => {
    const key = join(home, 'key.json')
    await writeFile(
      key,
      JSON.stringify({
        type: 'service_account',
        client_email: 'ci@p.iam.gserviceaccount.com',
        private_key: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n',
        project_id: 'p',
      }),
      {mode: 0o600},
    )
    const options = await storageOptions('gs://bkt/', {gce: {jsonKey: key}}, ctx())
    expect(options.gcs?.clientOptions).toMatchObject({credentials: {client_email: 'ci@p.iam.gserviceaccount.com'}, projectId: 'p'})
  })

  it('Given AWS_ENDPOINT_URL and no --s3-endpoint, when an s3 URL is resolved, then that endpoint is used path-style', async () => {
    const env = {AWS_ENDPOINT_URL: 'http://127.0.0.1:7480', AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'secret-secret-123'}
    const options = await storageOptions('s3://bucket/', {}, ctx(env))
    expect(options.s3).toMatchObject({endpoint: 'http://127.0.0.1:7480', forcePathStyle: true})
  })

  it('Given AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL, when resolved, then the S3-specific variable wins, and a flag wins over both', async () => {
    const env = {
      AWS_ENDPOINT_URL_S3: 'http://s3.local',
      AWS_ENDPOINT_URL: 'http://all.local',
      AWS_ACCESS_KEY_ID: 'AKIATEST',
      AWS_SECRET_ACCESS_KEY: 'secret-secret-123',
    }
    expect((await storageOptions('s3://bkt/', {}, ctx(env))).s3?.endpoint).toBe('http://s3.local')
    expect((await storageOptions('s3://bkt/', {endpoints: {s3: 'http://flag.local'}}, ctx(env))).s3?.endpoint).toBe('http://flag.local')
  })
})

describe('storageAuthInput', () => {
  it('Given parsed storage flags, when mapped, then every credential and endpoint flag lands in its typed field', () => {
    const input = storageAuthInput({
      profile: 'p',
      'credentials-file': '/c',
      'access-id': 'AKIA',
      'secret-key': 's',
      region: 'r',
      'json-key': '/k.json',
      'service-auth': false,
      'azure-credentials': '/a.json',
      'azure-profile': 'ap',
      'azure-connection-string': 'cs',
      'azure-storage-account': 'acct',
      'gcs-endpoint': 'http://g',
      's3-endpoint': 'http://s',
      'azure-blob-endpoint': 'http://a',
    })
    expect(input).toEqual({
      aws: {profile: 'p', credentialsFile: '/c', accessKeyId: 'AKIA', secretAccessKey: 's', region: 'r'},
      gce: {jsonKey: '/k.json', serviceAuth: false},
      azure: {credentialsFile: '/a.json', profile: 'ap', connectionString: 'cs', storageAccount: 'acct'},
      endpoints: {gcs: 'http://g', s3: 'http://s', azureBlob: 'http://a'},
    })
  })
})
