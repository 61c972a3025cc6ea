import {open} from 'node:fs/promises'

import {UsageError} from '@mantle/kit'

import {requireFile} from '../common/files.js'

export const VHD_FOOTER_SIZE = 512
const MiB = 1024 * 1024
const DISK_TYPES: Record<number, string> = {2: 'fixed', 3: 'dynamic', 4: 'differencing'}

export interface VhdInfo {
  /** Size of the file, footer included. */
  fileSize: number
  /** The disk's size as the footer states it (the file minus the footer, for a fixed VHD). */
  currentSize: number
  diskType: string
}

/**
 * Checks what Azure requires of an uploaded disk before spending an upload
 * on it: a fixed VHD whose footer checksum is right and whose virtual size is
 * a whole number of MiB. Each refusal is one line saying how to fix it.
 */
export async function validateVhd(file: string): Promise<VhdInfo> {
  const fileSize = await requireFile(file)
  const bad = (problem: string, hint: string) => new UsageError(`${file} is not a VHD Azure accepts: ${problem}`, {hint})
  if (fileSize < VHD_FOOTER_SIZE)
    throw bad(`only ${fileSize} bytes`, 'convert the image with: qemu-img convert -O vpc -o subformat=fixed,force_size=on')
  const footer = Buffer.alloc(VHD_FOOTER_SIZE)
  const handle = await open(file, 'r')
  try {
    await handle.read(footer, 0, VHD_FOOTER_SIZE, fileSize - VHD_FOOTER_SIZE)
  } finally {
    await handle.close()
  }
  if (footer.toString('latin1', 0, 8) !== 'conectix') {
    throw bad(
      'no VHD footer (cookie "conectix") in its last 512 bytes',
      'convert the image with: qemu-img convert -O vpc -o subformat=fixed,force_size=on',
    )
  }
  const stored = footer.readUInt32BE(64)
  const computed = vhdChecksum(footer)
  if (stored !== computed) {
    throw bad(
      `footer checksum is 0x${hex(stored)}, its content sums to 0x${hex(computed)}`,
      'the file is corrupt or truncated; copy or convert it again',
    )
  }
  const type = footer.readUInt32BE(60)
  const diskType = DISK_TYPES[type] ?? `unknown (${type})`
  if (type !== 2)
    throw bad(`a ${diskType} VHD; Azure needs a fixed one`, 'convert it with: qemu-img convert -O vpc -o subformat=fixed,force_size=on')
  const currentSize = Number(footer.readBigUInt64BE(48))
  if (currentSize + VHD_FOOTER_SIZE !== fileSize) {
    throw bad(
      `the footer says ${currentSize} bytes of disk, the file holds ${fileSize - VHD_FOOTER_SIZE}`,
      'the file is truncated or padded; copy or convert it again',
    )
  }
  if (currentSize % MiB !== 0) {
    throw bad(`virtual size ${currentSize} is not a multiple of 1 MiB`, 'resize the raw image to whole MiB and convert with force_size=on')
  }
  return {fileSize, currentSize, diskType}
}

/** One's complement of the byte sum of the footer, its checksum field counted as zero. */
export function vhdChecksum(footer: Buffer): number {
  let sum = 0
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) if (i < 64 || i >= 68) sum += footer[i]!
  return ~sum >>> 0
}

const hex = (n: number) => n.toString(16).padStart(8, '0')
