// Writes oclif.manifest.json for each CLI, so `--help` and command lookup do
// not import every command at startup.
import {execFileSync} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const oclif = join(root, 'node_modules', 'oclif', 'bin', 'run.js')
for (const tool of ['gangue', 'cork', 'ore', 'plume', 'kola']) {
  execFileSync(process.execPath, [oclif, 'manifest'], {cwd: join(root, 'packages', tool), stdio: ['ignore', 'ignore', 'inherit']})
}
