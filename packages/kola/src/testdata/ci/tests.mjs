// VM tests for the CI features of kola run, loaded with --tests-dir by kola's
// own integration tests only.
import {existsSync, writeFileSync} from 'node:fs'

export const tests = [
  {
    name: 'kolaci.flaky',
    description: 'Fails on its first attempt (no marker file yet), passes on the next',
    clusterSize: 1,
    run: async (c) => {
      const marker = process.env.KOLA_FLAKE_MARKER
      const [m] = c.machines
      await c.mustSsh(m, 'true')
      if (!existsSync(marker)) {
        writeFileSync(marker, 'first attempt\n')
        c.fatal('first attempt fails on purpose')
      }
    },
  },
  {
    name: 'kolaci.hangs',
    description: 'Sleeps far past its 90 s timeout',
    clusterSize: 1,
    timeoutMs: 90_000,
    run: async (c) => {
      await c.mustSsh(c.machines[0], 'sleep 3600')
    },
  },
]
