import {CheckFailedError} from '@mantle/kit'

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

export async function checkStartup(connection: SshConnection, machineId: string, signal?: AbortSignal): Promise<StartupReport> {
  const result = await connection.exec(STARTUP_CHECK, {signal})
  const report = parseStartupCheck(result.stdout)
  if (!report.os) throw new CheckFailedError(`machine ${machineId}: /etc/os-release has no ID`)
  if (report.state !== 'running' || report.failedUnits.length > 0) {
    const failed = report.failedUnits.length > 0 ? `; failed units: ${report.failedUnits.join(', ')}` : ''
    throw new CheckFailedError(`machine ${machineId}: system is ${report.state || 'unknown'}${failed}`, {hint: 'see the machine journal.txt'})
  }
  return report
}
