import {writeFile} from 'node:fs/promises'
import {resolve} from 'node:path'

import {CheckFailedError, type Logger} from '@mantle/kit'

import {prepareOutputDir} from '../harness/output-dir.js'
import type {Flight} from '../platform/platform.js'

export interface BootchartOptions {
  /** The platform's name, for the output directory. */
  platform: string
  createFlight: () => Promise<Flight>
  userData?: string | undefined
  /** Where the SVG goes. */
  output: string
  outputDir?: string | undefined
  cwd: string
  logger: Logger
  signal: AbortSignal
}

export interface BootchartResult {
  svg: string
  /** `systemd-analyze time`'s line. */
  startup: string
  outputDir: string
}

/** `kola bootchart`: boots one machine and saves `systemd-analyze plot` of its boot as SVG. */
export async function bootchart(options: BootchartOptions): Promise<BootchartResult> {
  const outputDir = await prepareOutputDir({outputDir: options.outputDir, platform: `${options.platform}-bootchart`, cwd: options.cwd})
  const flight = await options.createFlight()
  try {
    const cluster = await flight.newCluster({name: 'bootchart', outputDir, signal: options.signal})
    const machine = await cluster.newMachine({userData: options.userData})
    const plot = await machine.ssh('systemd-analyze plot', {signal: options.signal})
    if (plot.code !== 0 || !plot.stdout.includes('<svg'))
      throw new CheckFailedError(`systemd-analyze plot failed: ${plot.stderr.trim() || `exit ${plot.code}`}`)
    const time = await machine.ssh('systemd-analyze time', {signal: options.signal})
    const svg = resolve(options.cwd, options.output)
    await writeFile(svg, plot.stdout)
    return {svg, startup: time.stdout.split('\n')[0]?.trim() ?? '', outputDir}
  } finally {
    await flight.destroy()
  }
}
