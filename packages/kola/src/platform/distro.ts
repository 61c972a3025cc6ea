import {basename} from 'node:path'

import {UsageError} from '@mantle/kit'

/** What differs between the distributions kola boots. */
export interface Distro {
  /** `flatcar`, `fcos` or `test` (our Debian test image). */
  name: DistroName
  /** The fw_cfg name QEMU passes the Ignition config under: each distro's Ignition reads only its own. */
  fwCfgName: string
  /** The spec version of the configs kola writes when a test gives none. */
  ignitionVersion: string
  /** Ignition spec major versions the distro's Ignition accepts. */
  ignitionMajors: readonly number[]
  /** The user kola logs in as (and gives its SSH key to). */
  user: string
  /** os-release IDs the distro's machines report; another ID is logged as a warning. */
  osIds: readonly string[]
  /** Start-up checks: systemd finished booting with no failed unit. */
  checkSystemd: boolean
}

export const DISTRO_NAMES = ['flatcar', 'fcos', 'test'] as const
export type DistroName = (typeof DISTRO_NAMES)[number]

/**
 * Flatcar's Ignition reads `opt/org.flatcar-linux/config` (flatcar/mantle
 * platform/machine/qemu and Flatcar's ignition fork), Fedora CoreOS and
 * Debian's Ignition `opt/com.coreos/config`.
 */
const DISTROS: Record<DistroName, Distro> = {
  flatcar: {
    name: 'flatcar',
    fwCfgName: 'opt/org.flatcar-linux/config',
    ignitionVersion: '3.3.0',
    ignitionMajors: [2, 3],
    user: 'core',
    osIds: ['flatcar'],
    checkSystemd: true,
  },
  fcos: {
    name: 'fcos',
    fwCfgName: 'opt/com.coreos/config',
    ignitionVersion: '3.4.0',
    ignitionMajors: [3],
    user: 'core',
    osIds: ['fedora'],
    checkSystemd: true,
  },
  test: {
    name: 'test',
    fwCfgName: 'opt/com.coreos/config',
    ignitionVersion: '3.3.0',
    ignitionMajors: [3],
    user: 'core',
    osIds: ['debian'],
    checkSystemd: true,
  },
}

export function distroByName(name: string): Distro {
  const distro = (DISTROS as Record<string, Distro | undefined>)[name === 'cl' ? 'flatcar' : name]
  if (!distro) throw new UsageError(`unknown distribution "${name}"`, {hint: `--distro takes ${DISTRO_NAMES.join(', ')}`})
  return distro
}

/**
 * The distribution when --distro is not given, told from the image's file
 * name where the vendors' names say it (flatcar_production_qemu_image.img,
 * fedora-coreos-<version>-qemu.x86_64.qcow2); otherwise our test image.
 */
export function defaultDistro(image: string | undefined): Distro {
  const file = basename(image ?? '').toLowerCase()
  if (file.startsWith('flatcar')) return DISTROS.flatcar
  if (file.startsWith('fedora-coreos') || file.startsWith('fcos')) return DISTROS.fcos
  return DISTROS.test
}
