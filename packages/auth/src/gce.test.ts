import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {UsageError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {googleClientOptions, resolveGce} from './gce.js'

const PRIVATE_KEY =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7testkeymaterial\n-----END PRIVATE KEY-----\n'
const serviceAccount = (email: string) =>
  JSON.stringify({type: 'service_account', project_id: 'proj-1', client_email: email, private_key: PRIVATE_KEY})

describe('resolveGce', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => ({dir: home, cleanup} = await makeTempDir()))
  afterEach(() => cleanup())
  const resolve = (opts: Partial<Parameters<typeof resolveGce>[0]> = {}) => {
    const cap = captureLogger()
    return resolveGce({env: {}, home, logger: cap.logger, redactor: cap.redactor, ...opts})
  }

  it('resolves a service-account key given with --json-key', async () => {
    const file = join(home, 'key.json')
    await writeFile(file, serviceAccount('builder@proj-1.iam.gserviceaccount.com'), {mode: 0o600})
    const auth = await resolve({jsonKey: file})
    expect(auth).toMatchObject({
      kind: 'service-account',
      source: file,
      clientEmail: 'builder@proj-1.iam.gserviceaccount.com',
      projectId: 'proj-1',
    })
    expect(googleClientOptions(auth)).toEqual({
      credentials: {client_email: 'builder@proj-1.iam.gserviceaccount.com', private_key: PRIVATE_KEY},
      projectId: 'proj-1',
    })
  })

  it('falls back to GOOGLE_APPLICATION_CREDENTIALS, then ADC, then ~/.config/gcp.json', async () => {
    await mkdir(join(home, '.config', 'gcloud'), {recursive: true})
    await writeFile(join(home, '.config', 'gcp.json'), serviceAccount('fork@p.iam'), {mode: 0o600})
    expect(await resolve()).toMatchObject({clientEmail: 'fork@p.iam'})
    await writeFile(
      join(home, '.config', 'gcloud', 'application_default_credentials.json'),
      JSON.stringify({
        type: 'authorized_user',
        client_id: 'cid.apps',
        client_secret: 'adc-secret-123456',
        refresh_token: 'refresh-abcdefgh',
      }),
      {mode: 0o600},
    )
    expect(await resolve()).toMatchObject({kind: 'authorized-user', clientId: 'cid.apps'})
    const envFile = join(home, 'env.json')
    await writeFile(envFile, serviceAccount('env@p.iam'), {mode: 0o600})
    expect(await resolve({env: {GOOGLE_APPLICATION_CREDENTIALS: envFile}})).toMatchObject({clientEmail: 'env@p.iam'})
  })

  it('"none" means unauthenticated, --service-auth the metadata server', async () => {
    expect(await resolve({jsonKey: 'none'})).toEqual({kind: 'none', source: 'none'})
    expect(await resolve({serviceAuth: true})).toEqual({kind: 'metadata', source: 'metadata server'})
  })

  it('a missing key file is one usage line naming the file', async () => {
    const file = join(home, 'missing.json')
    const error = await resolve({jsonKey: file}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).toBe(`gce credentials ${file}: file not found`)
  })

  it('malformed JSON and a wrong key type are one usage line each', async () => {
    const file = join(home, 'bad.json')
    await writeFile(file, '{"type": "service_account",', {mode: 0o600})
    await expect(resolve({jsonKey: file})).rejects.toThrow(new RegExp(`^gce credentials ${file}: malformed JSON`))
    await writeFile(file, JSON.stringify({type: 'external_account'}), {mode: 0o600})
    await expect(resolve({jsonKey: file})).rejects.toThrow(`gce credentials ${file}: unsupported key type "external_account"`)
    await writeFile(file, JSON.stringify({type: 'service_account', client_email: 'a@b'}), {mode: 0o600})
    await expect(resolve({jsonKey: file})).rejects.toThrow(`gce credentials ${file}: missing or empty field "private_key"`)
  })

  it('with nothing configured, says what it tried', async () => {
    await expect(resolve()).rejects.toThrow(/gce credentials: none found/)
  })
})
