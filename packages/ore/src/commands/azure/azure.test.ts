import {randomBytes} from 'node:crypto'
import {open, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

import {BlobServiceClient} from '@azure/storage-blob'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli, serviceEnv} from '@mantle/test-utils'

const run = promisify(execFile)
const MiB = 1024 * 1024
const service = serviceEnv(['MANTLE_TEST_AZURE_CONNECTION_STRING'])

/** A fixed VHD of `size` bytes of disk with random data at the start, made by qemu-img. */
async function vhd(dir: string, name: string, size: number): Promise<string> {
  const raw = join(dir, `${name}.raw`)
  const handle = await open(raw, 'w')
  await handle.truncate(size)
  await handle.write(randomBytes(8192), 0, 8192, 0)
  await handle.close()
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', raw, join(dir, `${name}.vhd`)])
  return join(dir, `${name}.vhd`)
}

describe('ore azure upload-blob', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeAll(async () => ({dir: home, cleanup} = await makeTempDir()))
  afterAll(() => cleanup())

  const ore = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli('ore', ['azure', 'upload-blob', ...args], {env: isolatedEnv(home, env)})

  it('refuses a corrupted VHD in one line (exit 2) before any credentials are needed', async () => {
    const file = await vhd(home, 'corrupt', 2 * MiB)
    const handle = await open(file, 'r+')
    await handle.write(Buffer.from([0xee]), 0, 1, 2 * MiB + 20)
    await handle.close()
    const r = await ore(['--file', file])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(
      /^ore: error: .*corrupt\.vhd is not a VHD Azure accepts: footer checksum is 0x[0-9a-f]+, its content sums to 0x[0-9a-f]+ \(the file is corrupt or truncated; copy or convert it again\)$/m,
    )
  })

  it('a missing file: exit 2, one line', async () => {
    const r = await ore(['--file', join(home, 'nope.vhd')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`ore: error: cannot read ${join(home, 'nope.vhd')}: ENOENT (check the path given to --file)`)
  })

  it('no storage credentials: exit 2, one line saying what to pass', async () => {
    const file = await vhd(home, 'nocreds', MiB)
    const r = await ore(['--file', file])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ore: error: azure storage: no storage account given \(pass --storage-account/)
  })

  it.skipIf(!service.available)('uploads to Azurite and prints the blob URL as JSON; a rerun leaves it alone', async () => {
    const connection = process.env.MANTLE_TEST_AZURE_CONNECTION_STRING!
    const container = `ore-cli-${Date.now()}`
    await BlobServiceClient.fromConnectionString(connection).getContainerClient(container).create()
    const file = await vhd(home, 'disk', 4 * MiB)
    const env = {AZURE_STORAGE_CONNECTION_STRING: connection}

    const first = await ore(['--file', file, '--container', container, '--blob-name', 'flatcar.vhd', '--json'], env)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    const result = JSON.parse(first.stdout) as {url: string; existed: boolean; uploadedBytes: number; size: number}
    expect(result).toMatchObject({existed: false, uploadedBytes: 8192 + 512, size: 4 * MiB + 512})
    expect(result.url).toMatch(new RegExp(`/${container}/flatcar\\.vhd$`))
    const blob = BlobServiceClient.fromConnectionString(connection).getContainerClient(container).getBlobClient('flatcar.vhd')
    expect((await blob.downloadToBuffer()).equals(await readFile(file))).toBe(true)

    const again = await ore(['--file', file, '--container', container, '--blob-name', 'flatcar.vhd', '--json'], env)
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({existed: true, uploadedBytes: 0})
    await BlobServiceClient.fromConnectionString(connection).getContainerClient(container).delete()
  })
})
