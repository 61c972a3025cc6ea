import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {azure} from '@mantle/cloud'
import {Logger, Redactor} from '@mantle/kit'
import {serviceEnv} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {azureImagesApi, UPLOADED_SUFFIX} from './azure-api.js'

const need = ['MANTLE_TEST_AZURE_CONNECTION_STRING', 'MANTLE_TEST_AZURE_CONTAINER']
const {available} = serviceEnv(need)

/** The blob half of plume's Azure calls, on Azurite: a page blob counts as uploaded only once the upload finished. */
describe.skipIf(!available)('azureImagesApi blobs (Azurite)', () => {
  let dir: string
  let vhd: string
  const container = process.env.MANTLE_TEST_AZURE_CONTAINER!
  const blob = `plume-${Date.now().toString(36)}/flatcar-linux-1.2.3-test.vhd`
  const context = {logger: new Logger({level: 'error', stream: process.stderr, redactor: new Redactor()}), pollIntervalMs: 0}
  const session = azure.connectAzure({
    auth: {principal: undefined, subscriptionId: 'sub', cloud: undefined, source: 'test', storage: {connectionString: process.env.MANTLE_TEST_AZURE_CONNECTION_STRING!}},
    context,
  })
  const spec = {name: 'flatcar-linux', image: 'x.vhd.bz2', storageAccount: 'devstoreaccount1', resourceGroup: 'rg', container, environments: [{name: 'AzurePublicCloud'}]}
  const api = azureImagesApi(session, spec, 'test', context)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-azure-'))
    vhd = join(dir, 'disk.vhd')
    // A fixed VHD, as the Azure image of a build is.
    const raw = Buffer.alloc(2 * 1024 * 1024)
    raw.write('plume test disk', 4096)
    await writeFile(join(dir, 'disk.raw'), raw)
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', join(dir, 'disk.raw'), vhd])
  })
  afterAll(async () => {
    for (const name of [blob, blob + UPLOADED_SUFFIX]) await (await session.pageBlob(container, name)).delete().catch(() => undefined)
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('is absent, then partial when a page blob exists without the marker, then complete after an upload', async () => {
    expect(await api.blobState(container, blob)).toBe('absent')
    // Given a page blob at full size, as an upload killed half-way leaves it
    await (await session.pageBlob(container, blob)).create(2 * 1024 * 1024 + 512)
    expect(await api.blobState(container, blob)).toBe('partial')
    // When the VHD is uploaded
    await api.uploadVhd(container, blob, vhd)
    // Then the blob is complete and holds the VHD's bytes
    expect(await api.blobState(container, blob)).toBe('complete')
    const props = await (await session.pageBlob(container, blob)).getProperties()
    expect(props.contentLength).toBe((await readFile(vhd)).length)
    expect(await api.blobUrl(container, blob)).toMatch(new RegExp(`/${container}/`))
  })
})
