import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {execFileSync} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {makeTestKey, signDetached} from '@mantle/kit/verify/testing'
import {isolatedEnv, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {useLocalWorld} from '../testing/use-world.js'
import {worldRun} from '../testing/world.js'
import {planStages} from './stages.js'

describe('plan of a two-board channel', () => {
  const t = useLocalWorld('plume-plan-')

  it("lists each board's own images with the settings that decide how they boot, and no GCE for arm64", async () => {
    const arm = await worldRun(t.world, {}, {board: 'arm64-usr'})
    try {
      const todo = async (options: typeof t.run.options) =>
        (await planStages(options)).flatMap((s) => s.actions.flatMap((a) => a.actions.map((x) => `${a.id}: ${x}`)))
      const amd64 = await todo(t.run.options)
      const arm64 = await todo(arm.options)
      expect(amd64).toContain(
        'aws/AWS/us-east-1/image: import s3://staging/amd64-usr/1.2.3/flatcar_production_ami_image.bin as a snapshot and register AMI Flatcar-test-1.2.3-hvm in us-east-1 (x86_64, boot mode uefi-preferred, root 16 GiB gp2)',
      )
      expect(arm64).toContain(
        'aws/AWS/us-east-1/image: import s3://staging/arm64-usr/1.2.3/flatcar_production_ami_image.bin as a snapshot and register AMI Flatcar-test-1.2.3-arm64-hvm in us-east-1 (arm64, boot mode uefi-preferred, root 16 GiB gp2)',
      )
      expect(arm64).toContain(
        'azure/AzurePublicCloud/gallery-version: create version 1.2.3 of flatcar_test/flatcar-linux-arm64 (Arm64, V2, DiskControllerTypes NVMe,SCSI, SecurityType TrustedLaunchAndConfidentialVMSupported, IsAcceleratedNetworkSupported true) from flatcar-linux-1.2.3-test-arm64.vhd, replicated to westeurope, northeurope',
      )
      expect(amd64.filter((a) => a.includes('flatcar-linux-1.2.3-test-amd64.vhd to flatcartest/'))).toHaveLength(2)
      expect(arm64.filter((a) => a.includes('amd64') || a.startsWith('gce/'))).toEqual([])
    } finally {
      arm.restore()
    }
  })
})

/** `plume plan -B all` through the CLI, on the shipped local configuration (no clouds): one plan per board. */
describe('plume plan -B all', () => {
  let dir: string
  const plume = (...args: string[]) =>
    runCli('plume', [...args, '-V', '1.2.3', '--verify-key', 'key.asc'], {env: isolatedEnv(dir), cwd: dir})
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-plan-all-'))
    const key = await makeTestKey()
    await writeFile(join(dir, 'key.asc'), key.publicArmored)
    for (const board of ['amd64-usr', 'arm64-usr']) {
      const build = join(dir, 'build', 'boards', board, '1.2.3')
      await mkdir(build, {recursive: true})
      const image = execFileSync('bzip2', ['-c'], {input: Buffer.alloc(4096, board.length)})
      await writeFile(join(build, 'flatcar_production_image.bin.bz2'), image)
      await writeFile(join(build, 'flatcar_production_image.bin.bz2.sig'), await signDetached(image, key.privateKey))
      await writeFile(join(build, 'version.txt'), 'FLATCAR_VERSION=1.2.3\nFLATCAR_VERSION_ID=1.2.3\n')
    }
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('plans every board, and says which are complete', async () => {
    // Given amd64-usr released and arm64-usr not
    for (const stage of ['pre-release', 'release']) expect((await plume(stage, '-B', 'amd64-usr')).code).toBe(0)
    // When planning every board
    const r = await plume('plan', '-B', 'all')
    // Then amd64-usr has nothing to do, and arm64-usr's release is listed
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('nothing to do: pre-release and release of user/amd64-usr/1.2.3 are complete')
    expect(
      lines
        .slice(1)
        .filter((l) => l.startsWith('todo'))
        .every((l) => !l.includes('amd64-usr')),
    ).toBe(true)
    expect(lines.at(-1)).toMatch(/^release user\/arm64-usr\/1\.2\.3: \d+ of \d+ steps still to do$/)
    expect(JSON.parse((await plume('plan', '-B', 'all', '--json')).stdout)).toMatchObject({
      complete: false,
      stages: [{board: 'amd64-usr'}, {board: 'amd64-usr'}, {board: 'arm64-usr'}, {board: 'arm64-usr'}],
    })
  }, 120_000)
})
