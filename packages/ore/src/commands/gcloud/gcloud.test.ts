import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openBucket} from '@mantle/kit'
import {isolatedEnv, makeTempDir, runCli, serviceEnv} from '@mantle/test-utils'

const service = serviceEnv(['MANTLE_TEST_GCS_ENDPOINT', 'MANTLE_TEST_GCS_BUCKET'])

describe('ore gcloud', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeAll(async () => ({dir: home, cleanup} = await makeTempDir()))
  afterAll(() => cleanup())
  const ore = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli('ore', ['gcloud', ...args], {env: isolatedEnv(home, env)})

  it('a missing key file: exit 2, one line naming it', async () => {
    const r = await ore(['list-images', '--json-key', join(home, 'nope.json')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `ore: error: gce credentials ${join(home, 'nope.json')}: file not found (check the path given to --json-key)`,
    )
  })

  it('no credentials at all: exit 2, one line', async () => {
    const r = await ore(['gc'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ore: error: gce credentials: none found/)
  })

  it('a key without a project and no --project: exit 2', async () => {
    const key = join(home, 'key.json')
    await writeFile(
      key,
      JSON.stringify({
        type: 'service_account',
        client_email: 'ci@x.iam.gserviceaccount.com',
        private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
      }),
      {mode: 0o600},
    )
    const r = await ore(['list-instances', '--json-key', key])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('ore: error: gce: no project given (pass --project, or use a key file that names its project_id)')
  })

  it('share-image without credentials: exit 2, one line, before any call', async () => {
    const r = await ore(['share-image', 'flatcar-stable-4000-0-0-v20260501'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ore: error: gce credentials: none found/)
  })

  it('a missing file to upload: exit 2 before anything else', async () => {
    const r = await ore(['upload', '--bucket', 'gs://b', '--file', join(home, 'missing.tar.gz')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`ore: error: cannot read ${join(home, 'missing.tar.gz')}: ENOENT (check the path given to --file)`)
  })

  it.skipIf(!service.available)('uploads to the GCS emulator and prints the object URL as JSON', async () => {
    const file = join(home, 'flatcar_production_gce.tar.gz')
    await writeFile(file, randomBytes(100_000))
    const prefix = `ore-cli-${Date.now()}`
    const bucketUrl = `gs://${process.env.MANTLE_TEST_GCS_BUCKET}`
    const r = await ore(['upload', '--bucket', `${bucketUrl}/${prefix}`, '--board', 'arm64-usr', '--file', file, '--json'], {
      STORAGE_EMULATOR_HOST: process.env.MANTLE_TEST_GCS_ENDPOINT,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      url: `${bucketUrl}/${prefix}/arm64-usr/flatcar_production_gce.tar.gz`,
      size: 100_000,
      uploaded: true,
    })
    const bucket = await openBucket(`${bucketUrl}/`, {
      gcs: {apiEndpoint: process.env.MANTLE_TEST_GCS_ENDPOINT, clientOptions: {projectId: 'mantle-test'}},
    })
    expect((await bucket.stat(`${prefix}/arm64-usr/flatcar_production_gce.tar.gz`))?.size).toBe(100_000)
    await bucket.delete(`${prefix}/arm64-usr/flatcar_production_gce.tar.gz`)
  })
})
