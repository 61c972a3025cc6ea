import {randomBytes} from 'node:crypto'
import {open, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {BlobServiceClient, RestError, type ContainerClient} from '@azure/storage-blob'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import type {AzureAuth} from '@mantle/auth'
import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir, serviceEnv} from '@mantle/test-utils'

import {testContext, rejection} from '../testing/fakes.js'
import {makeVhd} from '../testing/vhd.js'
import {pageBlobClient, type PageBlobApi} from './clients.js'
import {uploadVhd} from './page-blob.js'
import {validateVhd} from './vhd.js'

const MiB = 1024 * 1024
const service = serviceEnv(['MANTLE_TEST_AZURE_CONNECTION_STRING'])

describe('VHD validation (real images from qemu-img)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeAll(async () => ({dir, cleanup} = await makeTempDir()))
  afterAll(() => cleanup())

  it('accepts a fixed VHD of whole MiB with a good footer', async () => {
    await makeVhd(join(dir, 'ok.raw'), join(dir, 'ok.vhd'), {size: 4 * MiB, data: [{at: 0, bytes: randomBytes(1024)}]})
    expect(await validateVhd(join(dir, 'ok.vhd'))).toEqual({fileSize: 4 * MiB + 512, currentSize: 4 * MiB, diskType: 'fixed'})
  })

  it('refuses a corrupted footer by its checksum: one line, exit 2', async () => {
    await makeVhd(join(dir, 'bad.raw'), join(dir, 'bad.vhd'), {size: 4 * MiB, data: []})
    // Flip one byte of the footer's original-size field.
    const handle = await open(join(dir, 'bad.vhd'), 'r+')
    await handle.write(Buffer.from([0x7f]), 0, 1, 4 * MiB + 44)
    await handle.close()
    const error = await validateVhd(join(dir, 'bad.vhd')).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(
      /^.*bad\.vhd is not a VHD Azure accepts: footer checksum is 0x[0-9a-f]{8}, its content sums to 0x[0-9a-f]{8}$/,
    )
  })

  it('refuses a dynamic VHD', async () => {
    await makeVhd(join(dir, 'dyn.raw'), join(dir, 'dyn.vhd'), {size: 4 * MiB, data: [], subformat: 'dynamic', forceSize: false})
    expect((await rejection(validateVhd(join(dir, 'dyn.vhd')))).message).toMatch(/a dynamic VHD; Azure needs a fixed one$/)
  })

  it('refuses a fixed VHD whose size qemu-img rounded to a disk geometry (not whole MiB)', async () => {
    await makeVhd(join(dir, 'geo.raw'), join(dir, 'geo.vhd'), {size: 16 * MiB, data: [], forceSize: false})
    expect((await rejection(validateVhd(join(dir, 'geo.vhd')))).message).toMatch(/virtual size \d+ is not a multiple of 1 MiB$/)
  })

  it('refuses a file that is not a VHD, and a missing file', async () => {
    await makeVhd(join(dir, 'plain.raw'), join(dir, 'unused.vhd'), {size: MiB, data: []})
    expect((await rejection(validateVhd(join(dir, 'plain.raw')))).message).toMatch(/no VHD footer \(cookie "conectix"\)/)
    const missing = await validateVhd(join(dir, 'nope.vhd')).catch((e: unknown) => e)
    expect(isMantleError(missing) && missing.exitCode).toBe(ExitCode.Usage)
    expect((missing as Error).message).toBe(`cannot read ${join(dir, 'nope.vhd')}: ENOENT`)
  })
})

describe.skipIf(!service.available)('azure page-blob upload to Azurite', () => {
  const env = process.env
  const auth: AzureAuth = {
    principal: undefined,
    subscriptionId: undefined,
    cloud: undefined,
    source: 'test',
    storage: {connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING!},
  }
  let dir: string
  let cleanup: () => Promise<void>
  let container: ContainerClient
  let vhd: string
  const containerName = `ore-test-${Date.now()}`

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    container = BlobServiceClient.fromConnectionString(env.MANTLE_TEST_AZURE_CONNECTION_STRING!).getContainerClient(containerName)
    await container.createIfNotExists()
    // 8 MiB of disk with data in three places: the rest must not be sent.
    vhd = join(dir, 'disk.vhd')
    await makeVhd(join(dir, 'disk.raw'), vhd, {
      size: 8 * MiB,
      data: [
        {at: 0, bytes: randomBytes(4096)},
        {at: 3 * MiB + 512, bytes: randomBytes(700)},
        {at: 8 * MiB - 1024, bytes: randomBytes(1024)},
      ],
    })
  })
  afterAll(async () => {
    await container.deleteIfExists()
    await cleanup()
  })

  /** Counts the Put Page calls and can fail the first ones, as a throttling service would. */
  function counting(blob: PageBlobApi, failFirst = 0): PageBlobApi & {puts: number; creates: number} {
    let failures = failFirst
    const wrapped = {
      puts: 0,
      creates: 0,
      get url() {
        return blob.url
      },
      exists: blob.exists.bind(blob),
      getProperties: blob.getProperties.bind(blob),
      delete: blob.delete.bind(blob),
      create: (...args: Parameters<PageBlobApi['create']>) => {
        wrapped.creates++
        return blob.create(...args)
      },
      uploadPages: (...args: Parameters<PageBlobApi['uploadPages']>) => {
        wrapped.puts++
        if (failures-- > 0) return Promise.reject(new RestError('Server busy', {statusCode: 503, code: 'ServerBusy'}))
        return blob.uploadPages(...args)
      },
    }
    return wrapped as PageBlobApi & {puts: number; creates: number}
  }

  let name = 0
  let blobName: string
  beforeEach(() => {
    blobName = `flatcar-${++name}.vhd`
  })

  it('uploads only the pages holding data; the blob reads back byte for byte', async () => {
    const blob = counting(await pageBlobClient({auth}, containerName, blobName))
    const result = await uploadVhd({blob, file: vhd, chunkSize: MiB, context: testContext()})

    const size = (await stat(vhd)).size
    expect(result).toMatchObject({size, existed: false})
    // Three data runs plus the VHD footer; everything else is zero and was skipped.
    expect(result.uploadedBytes).toBe(4096 + 1024 + 1024 + 512)
    expect(result.skippedZeroBytes).toBe(size - result.uploadedBytes)
    const download = await container.getBlobClient(blobName).downloadToBuffer()
    expect(download.equals(await readFile(vhd))).toBe(true)
    const props = await container.getBlobClient(blobName).getProperties()
    expect(props.blobType).toBe('PageBlob')
    expect(props.metadata).toEqual({createdby: 'mantle'})
  })

  it('leaves an existing blob alone unless told to overwrite', async () => {
    await uploadVhd({blob: await pageBlobClient({auth}, containerName, blobName), file: vhd, context: testContext()})

    const again = counting(await pageBlobClient({auth}, containerName, blobName))
    expect(await uploadVhd({blob: again, file: vhd, context: testContext()})).toMatchObject({existed: true, uploadedBytes: 0})
    expect(again.creates + again.puts).toBe(0)

    const replaced = counting(await pageBlobClient({auth}, containerName, blobName))
    expect(await uploadVhd({blob: replaced, file: vhd, overwrite: true, context: testContext()})).toMatchObject({existed: false})
    expect(replaced.creates).toBe(1)
  })

  it('retries a throttled Put Page and completes', async () => {
    const blob = counting(await pageBlobClient({auth}, containerName, blobName), 2)
    const context = testContext()
    const result = await uploadVhd({blob, file: vhd, chunkSize: MiB, concurrency: 1, context})
    expect(result.uploadedBytes).toBe(6656)
    expect(context.lines.some((l) => l.includes('azure uploadPages: Server busy; attempt 2'))).toBe(true)
    expect((await container.getBlobClient(blobName).downloadToBuffer()).equals(await readFile(vhd))).toBe(true)
  })

  it('refuses a corrupted VHD before creating any blob', async () => {
    const bad = join(dir, 'corrupt.vhd')
    await makeVhd(join(dir, 'corrupt.raw'), bad, {size: 2 * MiB, data: []})
    const handle = await open(bad, 'r+')
    await handle.write(Buffer.from('X'), 0, 1, 2 * MiB + 70)
    await handle.close()
    const blob = counting(await pageBlobClient({auth}, containerName, blobName))
    const error = await uploadVhd({blob, file: bad, context: testContext()}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect(blob.creates).toBe(0)
    expect(await container.getBlobClient(blobName).exists()).toBe(false)
  })

  it('says a wrong account key is a credentials problem (exit 2)', async () => {
    const wrong: AzureAuth = {
      ...auth,
      storage: {
        connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING!.replace(
          /AccountKey=[^;]+/,
          `AccountKey=${Buffer.from('wrong-key-wrong-key').toString('base64')}`,
        ),
      },
    }
    const error = await uploadVhd({
      blob: await pageBlobClient({auth: wrong}, containerName, blobName),
      file: vhd,
      context: testContext(),
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(/^azure exists .*: Azure refused the credentials \(/)
  })
})
