import {generateKeyPairSync} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {stackitAuth} from './stackit.js'

// The service account key's shape: stackit-sdk-go core/clients/key_flow.go (ServiceAccountKeyResponse).
const PEM = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs1', format: 'pem'}).toString()
const KEY = {
  id: '8f4bd3f5-9ab2-4b5e-8d7a-3f0c2d1e0a11',
  keyType: 'USER_MANAGED',
  keyAlgorithm: 'RSA_2048',
  active: true,
  credentials: {
    kid: 'kid-1',
    iss: 'sa@sa.stackit.cloud',
    sub: '0f6a1c4e-3b41-4f1a-9b53-1f0a6c5d8e21',
    aud: 'https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud',
  },
}

describe('stackit credentials', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
  })
  afterEach(() => cleanup())
  const resolve = (env: NodeJS.ProcessEnv = {}) => {
    const cap = captureLogger()
    return {cap, result: stackitAuth({}, {env, home, logger: cap.logger, redactor: cap.redactor})}
  }

  it('Given a profile with a key file and a private key file, when resolved, then the key flow gets both, the private key redacted', async () => {
    await writeFile(join(home, 'sa.json'), JSON.stringify(KEY), {mode: 0o600})
    await writeFile(join(home, 'sa.pem'), PEM, {mode: 0o600})
    const profile = {project_id: 'p-1', service_account_key_path: '~/sa.json', private_key_path: '~/sa.pem'}
    await writeFile(join(home, '.config', 'stackit.json'), JSON.stringify({default: profile}), {mode: 0o600})
    const {cap, result} = resolve()
    expect(await result).toEqual({projectId: 'p-1', region: 'eu01', key: {...KEY.credentials, privateKey: PEM, tokenEndpoint: undefined}})
    expect(cap.redactor.redact(PEM)).toBe('***')
  })

  it("Given the SDK's STACKIT_SERVICE_ACCOUNT_TOKEN and STACKIT_PROJECT_ID, when resolved, then the token is used", async () => {
    const r = await resolve({STACKIT_PROJECT_ID: 'p-env', STACKIT_SERVICE_ACCOUNT_TOKEN: 'stackit-env-token-0001', STACKIT_REGION: 'eu02'})
      .result
    expect(r).toEqual({projectId: 'p-env', region: 'eu02', token: 'stackit-env-token-0001'})
  })

  it('Given a key file without a private key and no private_key_path, when resolved, then one line names the key file, exit 2', async () => {
    await writeFile(join(home, 'sa.json'), JSON.stringify(KEY), {mode: 0o600})
    await writeFile(
      join(home, '.config', 'stackit.json'),
      JSON.stringify({default: {project_id: 'p', service_account_key_path: join(home, 'sa.json')}}),
      {
        mode: 0o600,
      },
    )
    const error = await resolve().result.catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      `stackit credentials ${join(home, 'sa.json')}: the key holds no private key: set "private_key_path"`,
    )
  })
})
