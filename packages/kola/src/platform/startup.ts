import {CheckFailedError, type Logger} from '@mantle/kit'

import type {Distro} from './distro.js'

import type {SshConnection} from './ssh.js'

/**
 * The check every machine passes before a test gets it, in one SSH round
 * trip: systemd finished booting (`is-system-running --wait`) and says
 * `running`, no unit failed, and /etc/os-release names the OS.
 */
export const STARTUP_CHECK = [
  'state=$(timeout 600 systemctl is-system-running --wait 2>/dev/null)',
  'echo "state=$state"',
  '. /etc/os-release && echo "os=$ID"',
  'systemctl --failed --no-legend --plain 2>/dev/null | awk \'{print "failed=" $1}\'',
].join('; ')

export interface StartupReport {
  state: string
  os: string
  failedUnits: string[]
}

export function parseStartupCheck(stdout: string): StartupReport {
  const report: StartupReport = {state: '', os: '', failedUnits: []}
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.split('=')
    const value = rest.join('=').trim()
    if (key === 'state') report.state = value
    else if (key === 'os') report.os = value
    else if (key === 'failed' && value) report.failedUnits.push(value)
  }
  return report
}

export interface StartupCheckOptions {
  signal?: AbortSignal | undefined
  /** Which checks apply, and the os-release IDs expected. */
  distro?: Pick<Distro, 'name' | 'osIds' | 'checkSystemd'> | undefined
  logger?: Logger | undefined
}

export async function checkStartup(
  connection: SshConnection,
  machineId: string,
  options: StartupCheckOptions = {},
): Promise<StartupReport> {
  const result = await connection.exec(STARTUP_CHECK, {signal: options.signal})
  const report = parseStartupCheck(result.stdout)
  if (!report.os) throw new CheckFailedError(`machine ${machineId}: /etc/os-release has no ID`)
  const distro = options.distro
  if (distro && !distro.osIds.includes(report.os))
    options.logger?.warn(
      `machine ${machineId}: os-release ID is ${report.os}, not what ${distro.name} images report (${distro.osIds.join(', ')}); is --distro right?`,
    )
  if (distro && !distro.checkSystemd) return report
  if (report.state !== 'running' || report.failedUnits.length > 0) {
    const failed = report.failedUnits.length > 0 ? `; failed units: ${report.failedUnits.join(', ')}` : ''
    throw new CheckFailedError(`machine ${machineId}: system is ${report.state || 'unknown'}${failed}`, {
      hint: 'see the machine journal.txt',
    })
  }
  return report
}
