/**
 * The process the kill-anywhere test kills: runs one stage of a test world
 * (with its fake control planes) and SIGKILLs itself at the named step
 * boundary, exactly as a crash or `kill -9` would stop a release there.
 *
 *   node dist/testing/kill-child.js <world dir> <pre-release|release> <boundary> [board]
 */
import {runStage, type StageName} from '../services/stages.js'
import {readWorld, worldRun} from './world.js'

const [dir, stage, killAt, board] = process.argv.slice(2)
if (!dir || (stage !== 'pre-release' && stage !== 'release') || !killAt) {
  process.stderr.write('usage: kill-child <world dir> <pre-release|release> <boundary> [board]\n')
  process.exit(2)
}
const world = await readWorld(dir)
const {options} = await worldRun(
  world,
  {
    onBoundary: (point) => {
      if (point === killAt) process.kill(process.pid, 'SIGKILL')
    },
  },
  {board: board ?? world.board},
)
await runStage(stage as StageName, options)
// Reaching the end means the boundary was never passed: the test treats that as a failure.
process.stdout.write(`finished without passing ${killAt}\n`)
