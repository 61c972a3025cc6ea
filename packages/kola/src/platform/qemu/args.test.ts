import {captureLogger} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {defaultDistro, distroByName} from '../distro.js'
import {addFile, toIgnition} from '../ignition.js'
import {resolveFirmware} from './flight.js'
import {qemuArgs, type QemuMachineSpec, type QemuSettings} from './machine.js'

const paths = {overlay: '/r/m.qcow2', qmp: '/r/m.qmp', console: '/o/console.txt', config: '/o/ignition.json', vars: '/r/m.vars.fd'}

function spec(qemu: Partial<QemuSettings>, image: QemuMachineSpec['image'] = {path: '/i/disk.img', format: 'raw'}): QemuMachineSpec {
  return {
    id: 'm',
    dir: '/o',
    runDir: '/r',
    config: {ignition: {version: '3.3.0'}},
    image,
    qemu: {binary: 'qemu-system-x86_64', accel: 'tcg', memoryMiB: 1024, cpus: 1, fwCfgName: 'opt/com.coreos/config', ...qemu},
    userMac: '52:54:00:00:00:01',
    identity: {user: 'core', privateKey: '', publicKey: ''},
    sshTimeoutMs: 1000,
    logger: captureLogger().logger,
    distro: distroByName('test'),
  }
}

/** The value following a flag, for each time it occurs. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []))
}

describe('QEMU arguments per distro and firmware', () => {
  it("Given the flatcar distro, when a machine starts, then its Ignition config goes under Flatcar's fw_cfg name", () => {
    // flatcar/mantle platform/machine/qemu: Flatcar's Ignition reads opt/org.flatcar-linux/config
    const args = qemuArgs(spec({fwCfgName: distroByName('flatcar').fwCfgName}), paths)
    expect(values(args, '-fw_cfg')).toEqual(['name=opt/org.flatcar-linux/config,file=/o/ignition.json'])
    expect(values(qemuArgs(spec({fwCfgName: distroByName('fcos').fwCfgName}), paths), '-fw_cfg')).toEqual([
      'name=opt/com.coreos/config,file=/o/ignition.json',
    ])
  })

  it('Given --qemu-firmware uefi and a whole disk, when a machine starts, then OVMF code is read-only flash, its variables a per-machine copy, and no kernel is passed', async () => {
    const firmware = await resolveFirmware('uefi')
    const args = qemuArgs(spec({firmware}), paths)
    expect(values(args, '-drive').filter((d) => d.startsWith('if=pflash'))).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/r/m.vars.fd',
    ])
    expect(args).not.toContain('-kernel')
    expect(args).not.toContain('-machine')
  })

  it('Given uefi-secure, when a machine starts, then it is a q35 with SMM, a secured flash and the Microsoft-keyed variables', async () => {
    const firmware = await resolveFirmware('uefi-secure')
    expect(firmware?.vars).toBe('/usr/share/OVMF/OVMF_VARS_4M.ms.fd')
    const args = qemuArgs(spec({firmware}), paths)
    expect(values(args, '-machine')).toEqual(['q35,smm=on'])
    expect(values(args, '-global')).toEqual(['driver=cfi.pflash01,property=secure,value=on'])
    expect(values(args, '-drive')).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd')
  })

  it('Given bios, nothing or an unreadable file, when the firmware is resolved, then SeaBIOS, SeaBIOS, and a usage error', async () => {
    expect(await resolveFirmware('bios')).toBeUndefined()
    expect(await resolveFirmware(undefined)).toBeUndefined()
    await expect(resolveFirmware('/no/such/firmware.fd')).rejects.toThrow(/no firmware at \/no\/such\/firmware\.fd/)
  })

  it('Given vendor image names, when no --distro is given, then the distro is told from the file name', () => {
    expect(defaultDistro('/x/flatcar_production_qemu_image.img').name).toBe('flatcar')
    expect(defaultDistro('fedora-coreos-41.20250101.3.0-qemu.x86_64.qcow2').name).toBe('fcos')
    expect(defaultDistro('/cache/disk.img').name).toBe('test')
    expect(() => distroByName('rhel')).toThrow(/unknown distribution "rhel"/)
  })

  it("Given each distro, when a test gives no config or a spec 2 one, then the distro's version is written and spec 2 is accepted by Flatcar only", () => {
    expect(toIgnition(undefined, distroByName('fcos')).ignition.version).toBe('3.4.0')
    expect(toIgnition(undefined, distroByName('flatcar')).ignition.version).toBe('3.3.0')
    const v2 = toIgnition('{"ignition":{"version":"2.3.0"}}', distroByName('flatcar'))
    // Spec 2.x files name their file system and have no overwrite (Ignition's config/v2_3/types).
    expect(addFile(v2, '/etc/x', 'y').storage?.files).toEqual([
      {filesystem: 'root', path: '/etc/x', mode: 0o644, contents: {source: 'data:,y'}},
    ])
    expect(() => toIgnition('{"ignition":{"version":"2.3.0"}}', distroByName('fcos'))).toThrow(
      /unsupported Ignition config version "2.3.0" for fcos/,
    )
  })
})
