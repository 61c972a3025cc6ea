// Tests that boot no machine (clusterSize 0), for the harness behaviours that
// need no VM: reruns and flakes, denylists, timeouts, metrics. Loaded with
// --tests-dir by kola's own tests only.
import {existsSync, writeFileSync} from 'node:fs'

export const tests = [
  {
    name: 'nomachine.flaky',
    clusterSize: 0,
    // Fails until the marker file exists: the first attempt creates it.
    run: async (c) => {
      const marker = process.env.KOLA_FLAKE_MARKER
      if (!marker) c.fatal('KOLA_FLAKE_MARKER is not set')
      if (!existsSync(marker)) {
        writeFileSync(marker, 'first attempt\n')
        c.fatal('first attempt fails on purpose')
      }
      c.log('marker found: passing')
    },
  },
  {name: 'nomachine.fails', clusterSize: 0, run: async (c) => c.fatal('fails on purpose')},
  {name: 'nomachine.passes', clusterSize: 0, run: async (c) => c.log('fine')},
]

// A "machine" whose console shows a kernel panic: the signature check after
// the test fails it, unless the test opts out with NoEmergencyShellCheck.
const panicked = async (c) => {
  const {mkdirSync, writeFileSync} = await import('node:fs')
  const dir = `${c.h.outputDir()}/fake-machine`
  mkdirSync(dir, {recursive: true})
  writeFileSync(`${dir}/console.txt`, '[    3.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n')
}
tests.push(
  {name: 'nomachine.panics', clusterSize: 0, run: panicked},
  {name: 'nomachine.panics-ignored', clusterSize: 0, flags: ['NoEmergencyShellCheck'], run: panicked},
)
