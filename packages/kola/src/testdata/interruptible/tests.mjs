// Tests that boot no machine, for the report of an interrupted run: one
// passes at once, one fails at once, and one (with a subtest) waits until the
// run is stopped, after writing KOLA_STARTED_MARKER so the test knows when to
// send the signal. Loaded with --tests-dir by kola's own tests only.
import {writeFileSync} from 'node:fs'

const untilStopped = (h) => new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason), {once: true}))

export const tests = [
  {name: 'stop.passes', clusterSize: 0, run: async (c) => c.log('fine')},
  {name: 'stop.fails', clusterSize: 0, run: async (c) => c.fatal('fails on purpose')},
  {
    name: 'stop.waits',
    clusterSize: 0,
    run: async (c) => {
      await c.h.run('sub', async (h) => {
        writeFileSync(process.env.KOLA_STARTED_MARKER, 'started\n')
        await untilStopped(h)
      })
    },
  },
]
