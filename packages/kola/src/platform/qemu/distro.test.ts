import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {runCli, serviceEnv} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {IMAGE_VARS, kolaEnv, qemuProcesses, useTempDir} from '../../testing/vm.js'

// Real VMs from the test image's variants (scripts/test-image/build.sh):
// initrd-flatcar.img reads Ignition only from Flatcar's fw_cfg name, and
// disk-uefi.img is a whole GPT disk with an EFI system partition and
// systemd-boot. Three boots under TCG: one per claim, no more.
const VARIANTS = ['KOLA_TEST_FLATCAR_INITRD', 'KOLA_TEST_UEFI_DISK']
const image = serviceEnv([...IMAGE_VARS, ...VARIANTS])
const tempDir = useTempDir()

interface Report {
  platform: string
  tests: Array<{name: string; result: string}>
}

async function report(out: string): Promise<Report> {
  return JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as Report
}

describe.skipIf(!image.available)('distros and firmware on real VMs (test image variants)', () => {
  it(
    "Given the image variant that reads Flatcar's fw_cfg name, when kola runs coreos.basic with --distro flatcar, then it passes; with the default distro the machine never gets its config",
    {timeout: 20 * 60_000},
    async () => {
      const dir = tempDir()
      const initrd = process.env.KOLA_TEST_FLATCAR_INITRD as string
      const flatcar = join(dir, '_flatcar_temp')
      const plain = join(dir, '_plain_temp')

      // When the same image boots once with each distro's fw_cfg name
      const [withFlatcar, withDefault] = await Promise.all([
        runCli('kola', ['run', 'coreos.basic', '--distro', 'flatcar', '--qemu-initrd', initrd, '--output-dir', flatcar], {
          env: kolaEnv(dir),
        }),
        runCli('kola', ['run', 'coreos.basic', '--qemu-initrd', initrd, '--ssh-timeout', '150', '--output-dir', plain], {
          env: kolaEnv(dir),
        }),
      ])

      // Then under Flatcar's name Ignition applied the config (kola's key let it in) and the test passed
      expect(withFlatcar.stderr).not.toMatch(/internal error/)
      expect(withFlatcar.code).toBe(0)
      expect((await report(flatcar)).tests.find((t) => t.name === 'coreos.basic')?.result).toBe('PASS')
      // And under the default name the variant found no config: no key, no login, exit 3
      expect(withDefault.code).toBe(3)
      const consoles = await Promise.all(
        (await import('node:fs'))
          .readdirSync(join(plain, 'coreos.basic'))
          .map((m) => readFile(join(plain, 'coreos.basic', m, 'console.txt'), 'utf8').catch(() => '')),
      )
      expect(consoles.join('\n')).toContain('no Ignition config at fw_cfg opt/org.flatcar-linux/config')
      expect(qemuProcesses(dir)).toEqual([])
    },
  )

  it(
    'Given the whole UEFI disk, when kola runs coreos.basic with --qemu-firmware uefi and no kernel, then OVMF and systemd-boot boot it and the test passes',
    {timeout: 20 * 60_000},
    async () => {
      const dir = tempDir()
      const out = join(dir, '_uefi_temp')

      const r = await runCli(
        'kola',
        ['run', 'coreos.basic', '--qemu-image', process.env.KOLA_TEST_UEFI_DISK as string, '--qemu-firmware', 'uefi', '--output-dir', out],
        {env: kolaEnv(dir)},
      )

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      expect((await report(out)).tests.find((t) => t.name === 'coreos.basic')?.result).toBe('PASS')
      const [machine] = (await import('node:fs')).readdirSync(join(out, 'coreos.basic')).filter((m) => m.includes('-'))
      const console = await readFile(join(out, 'coreos.basic', machine as string, 'console.txt'), 'utf8')
      // OVMF's boot manager loaded the disk's boot loader; the kernel came from the ESP, not from QEMU.
      expect(console).toMatch(/BdsDxe: (loading|starting) Boot/)
      expect(console).toContain('EFI stub')
    },
  )
})
