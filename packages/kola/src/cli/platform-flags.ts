
import {Flags} from '@mantle/kit'
import type {QemuFlightOptions} from '../platform/qemu/flight.js'

/** Flags of every command that boots machines. */
export const platformFlags = {
  platform: Flags.option({char: 'p', options: ['qemu'] as const, default: 'qemu' as const, summary: 'Platform to boot machines on.', helpGroup: 'PLATFORM'})(),
  'qemu-image': Flags.string({summary: 'Disk image (raw or qcow2) machines boot overlays of. Default: $KOLA_TEST_IMAGE.', helpGroup: 'PLATFORM'}),
  'qemu-kernel': Flags.string({summary: 'Kernel for direct boot (vmlinux or bzImage). Default: $KOLA_TEST_KERNEL.', helpGroup: 'PLATFORM'}),
  'qemu-initrd': Flags.string({summary: 'Initramfs for direct boot. Default: $KOLA_TEST_INITRD.', helpGroup: 'PLATFORM'}),
  'qemu-append': Flags.string({summary: 'Kernel command line for direct boot.', helpGroup: 'PLATFORM'}),
  'qemu-accel': Flags.option({options: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const, summary: 'Accelerator: auto picks KVM only when /dev/kvm works and the CPU has vmx/svm.', helpGroup: 'PLATFORM'})(),
  'qemu-memory': Flags.integer({default: 1024, min: 256, summary: 'Memory per machine, in MiB.', helpGroup: 'PLATFORM'}),
  'qemu-cpus': Flags.integer({default: 1, min: 1, summary: 'Virtual CPUs per machine.', helpGroup: 'PLATFORM'}),
  'qemu-binary': Flags.string({summary: 'QEMU binary (default qemu-system-x86_64 on PATH).', helpGroup: 'PLATFORM'}),
  'qemu-options': Flags.string({summary: 'Extra QEMU arguments, space separated.', helpGroup: 'PLATFORM'}),
  'ssh-timeout': Flags.integer({default: 300, min: 1, summary: 'Seconds a machine has to answer SSH after it starts.', helpGroup: 'PLATFORM'}),
}

type PlatformFlagValues = {
  'qemu-image'?: string | undefined
  'qemu-kernel'?: string | undefined
  'qemu-initrd'?: string | undefined
  'qemu-append'?: string | undefined
  'qemu-accel': 'auto' | 'kvm' | 'tcg'
  'qemu-memory': number
  'qemu-cpus': number
  'qemu-binary'?: string | undefined
  'qemu-options'?: string | undefined
  'ssh-timeout': number
}

/** Flags and environment to the QEMU flight's options; the image defaults come from .services/test-image.env's variables. */
export function qemuOptionsFrom(flags: PlatformFlagValues, env: NodeJS.ProcessEnv): Omit<QemuFlightOptions, 'logger'> {
  const image = flags['qemu-image'] ?? env.KOLA_TEST_IMAGE ?? ''
  // The test image's kernel only goes with the test image.
  const defaultBoot = flags['qemu-image'] === undefined
  return {
    image,
    kernel: flags['qemu-kernel'] ?? (defaultBoot ? env.KOLA_TEST_KERNEL : undefined),
    initrd: flags['qemu-initrd'] ?? (defaultBoot ? env.KOLA_TEST_INITRD : undefined),
    append: flags['qemu-append'],
    accel: flags['qemu-accel'],
    memoryMiB: flags['qemu-memory'],
    cpus: flags['qemu-cpus'],
    sshTimeoutMs: flags['ssh-timeout'] * 1000,
    binary: flags['qemu-binary'],
    extraArgs: flags['qemu-options']?.split(/\s+/).filter(Boolean),
    path: env.PATH ?? '',
  }
}
