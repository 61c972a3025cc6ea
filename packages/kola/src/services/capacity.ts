export interface Capacity {
  /** Memory the system can give new processes (MemAvailable), in MiB. */
  availableMiB: number
  /** CPUs this process may use. */
  cores: number
}

export interface MachineSize {
  memoryMiB: number
  cpus: number
}

/** What QEMU itself takes beyond the guest's memory, in MiB (measured: 150-250 under TCG). */
export const QEMU_OVERHEAD_MIB = 256
/** Left for kola, the host and everything else. */
export const HOST_RESERVE_MIB = 1024

/**
 * `--parallel auto`: how many machines may run at once, bounded by memory
 * (each takes its guest memory plus QEMU's own) and by cores (each vCPU is a
 * busy thread under TCG), and never below one.
 */
export function autoParallel(capacity: Capacity, machine: MachineSize): {machines: number; reason: string} {
  const byMemory = Math.floor((capacity.availableMiB - HOST_RESERVE_MIB) / (machine.memoryMiB + QEMU_OVERHEAD_MIB))
  const byCores = Math.floor(capacity.cores / machine.cpus)
  const machines = Math.max(1, Math.min(byMemory, byCores))
  const reason = `${Math.round(capacity.availableMiB)} MiB available allows ${Math.max(0, byMemory)}, ${capacity.cores} core(s) allow ${byCores}`
  return {machines, reason}
}
