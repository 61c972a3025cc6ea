import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

import {UsageError} from '@mantle/kit'

const run = promisify(execFile)

/** The virtual size of a disk image in bytes, as qemu-img reads it (raw, vmdk, vpc, qcow2). */
export async function virtualSize(file: string): Promise<number> {
  try {
    const {stdout} = await run('qemu-img', ['info', '--output=json', file])
    const size = (JSON.parse(stdout) as {'virtual-size'?: number})['virtual-size']
    if (typeof size !== 'number') throw new Error('no virtual-size in its answer')
    return size
  } catch (error) {
    const e = error as NodeJS.ErrnoException & {stderr?: string}
    if (e.code === 'ENOENT') throw new UsageError('qemu-img is not installed', {hint: 'apt-get install qemu-utils'})
    throw new UsageError(`cannot inspect ${file}: ${(e.stderr ?? e.message).trim().split('\n')[0]}`)
  }
}
