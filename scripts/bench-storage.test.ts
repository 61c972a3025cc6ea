import {spawnSync} from 'node:child_process'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

// bench/storage.mjs without its emulators: it used to print an empty table and exit 0.
const BENCH = fileURLToPath(new URL('../bench/storage.mjs', import.meta.url))

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-storage-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('bash bench/run.sh storage', () => {
  it('Given emulators that are not running and cannot start, then it names them and exits 1 before measuring anything', async () => {
    // Given service scripts whose start fails (radosgw) or writes no .env (azurite), and no .env files
    await writeFile(join(dir, 'radosgw.sh'), '#!/bin/sh\necho "radosgw: ceph-mon is not installed" >&2\nexit 1\n')
    await writeFile(join(dir, 'azurite.sh'), '#!/bin/sh\nexit 0\n')
    for (const f of ['radosgw.sh', 'azurite.sh']) await chmod(join(dir, f), 0o755)

    // When the benchmark runs for S3 and Azure
    const run = spawnSync(process.execPath, [BENCH], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {...process.env, STORAGE_BENCH_SERVICES: dir, STORAGE_BENCH_STATE: join(dir, 'state'), STORAGE_BENCH_ONLY: 's3,azure'},
    })

    // Then it says which are missing and why, prints no table, and exits 1
    expect(run.stderr.trim()).toBe(
      `storage bench: emulators not running and not startable: radosgw (scripts/services/radosgw.sh start failed: radosgw: ceph-mon is not installed); azurite (scripts/services/azurite.sh start it wrote no ${join(dir, 'state', 'azurite.env')})`,
    )
    expect(run.stdout).toBe('')
    expect(run.status).toBe(1)
  })
})
