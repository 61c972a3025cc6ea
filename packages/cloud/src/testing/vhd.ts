import {execFile} from 'node:child_process'
import {open, writeFile} from 'node:fs/promises'
import {promisify} from 'node:util'

const run = promisify(execFile)

/**
 * A real disk image for the tests: `size` bytes, zero except for the given
 * blocks of data, converted by qemu-img to a VHD of the given subformat.
 */
export async function makeVhd(
  raw: string,
  vhd: string,
  options: {size: number; data: Array<{at: number; bytes: Buffer}>; subformat?: 'fixed' | 'dynamic'; forceSize?: boolean},
): Promise<void> {
  await writeFile(raw, '')
  const handle = await open(raw, 'r+')
  try {
    await handle.truncate(options.size)
    for (const d of options.data) await handle.write(d.bytes, 0, d.bytes.length, d.at)
  } finally {
    await handle.close()
  }
  const opts = [`subformat=${options.subformat ?? 'fixed'}`, ...(options.forceSize === false ? [] : ['force_size=on'])].join(',')
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', opts, raw, vhd])
}
