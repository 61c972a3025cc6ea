// kola's shared machines: six non-exclusive external tests of about 5 s each
// on one machine, against the same six as exclusive tests (a machine each),
// both at --parallel 1 on the test image (scripts/services/test-image.sh
// start; reads .services/test-image.env). Wall time of the whole `kola run`,
// the two runs alternating `rounds` times so both see the same machine load.
// Goal: shared <= 0.35x exclusive (medians). A test's timeout covers its boot, so both are
// generous: on a loaded host (load ~30 on 2 cores) one TCG boot took over 10 minutes.
//
//   node bench/kola-shared.mjs [rounds=1]
import {spawnSync} from 'node:child_process'
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {testImageEnv} from './test-image-env.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const kola = join(root, 'packages', 'kola', 'bin', 'run.cjs')
const rounds = Number(process.argv[2] ?? 1)
const env = testImageEnv(root, 'kola-shared')

const work = await mkdtemp(join(tmpdir(), 'kola-shared-bench-'))
/** A tests/kola tree of six 5-second tests, exclusive or not. */
async function tree(name, exclusive) {
  const dir = join(work, name, 'tests', 'kola', 'sleep')
  await mkdir(dir, {recursive: true})
  await writeFile(join(dir, 'kola.json'), JSON.stringify({exclusive}))
  for (let i = 1; i <= 6; i++) {
    const file = join(dir, `t${i}`)
    await writeFile(file, `#!/bin/sh\nsleep 5\necho "test ${i} done on $(cat /proc/sys/kernel/random/boot_id)"\n`)
    await chmod(file, 0o755)
  }
  return join(work, name)
}

function run(project, label) {
  const out = join(work, `_${label}_temp`)
  const started = performance.now()
  const r = spawnSync(
    process.execPath,
    [kola, 'run', '-E', project, '--parallel', '1', '--ssh-timeout', '1800', '--timeout', '3600', '--output-dir', out, 'ext.*'],
    {env, encoding: 'utf8'},
  )
  const seconds = (performance.now() - started) / 1000
  if (r.status !== 0) throw new Error(`${label}: kola exited ${r.status}: ${r.stderr.slice(-2000)}`)
  return seconds
}

try {
  const shared = await tree('shared', false)
  const exclusive = await tree('exclusive', true)
  const times = {shared: [], exclusive: []}
  for (let i = 0; i < rounds; i++) {
    times.exclusive.push(run(exclusive, 'exclusive'))
    times.shared.push(run(shared, 'shared'))
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const ratio = median(times.shared) / median(times.exclusive)
  console.log('kola shared machines: six ~5 s external tests, --parallel 1')
  console.log(`  exclusive (6 machines): ${times.exclusive.map((s) => s.toFixed(1)).join(', ')} s`)
  console.log(`  shared    (1 machine):  ${times.shared.map((s) => s.toFixed(1)).join(', ')} s`)
  console.log(`  shared / exclusive = ${ratio.toFixed(2)}x (goal <= 0.35x) ${ratio <= 0.35 ? 'MET' : 'NOT MET'}`)
} finally {
  await rm(work, {recursive: true, force: true})
}
