import {constants} from 'node:fs'
import {access, readFile} from 'node:fs/promises'

export type Accel = 'kvm' | 'tcg'
export type AccelChoice = Accel | 'auto'

export interface AccelDecision {
  accel: Accel
  reason: string
}

export interface AccelProbe {
  cpuinfo?: string
  kvmUsable?: boolean
}

/**
 * KVM only when /dev/kvm opens read-write AND the CPU advertises vmx or svm:
 * a nested, paravirtual /dev/kvm without them hangs stock kernels. Else TCG.
 */
export async function chooseAccel(choice: AccelChoice, probe: AccelProbe = {}): Promise<AccelDecision> {
  if (choice !== 'auto') return {accel: choice, reason: 'asked for'}
  const cpuinfo = probe.cpuinfo ?? (await readFile('/proc/cpuinfo', 'utf8').catch(() => ''))
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? []
  const virt = flags.includes('vmx') || flags.includes('svm')
  const kvm =
    probe.kvmUsable ??
    (await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    ))
  if (kvm && virt) return {accel: 'kvm', reason: '/dev/kvm is usable and the CPU has hardware virtualisation'}
  if (!kvm) return {accel: 'tcg', reason: '/dev/kvm is not usable'}
  return {accel: 'tcg', reason: 'the CPU has no vmx/svm flag (nested KVM without it hangs guests)'}
}
