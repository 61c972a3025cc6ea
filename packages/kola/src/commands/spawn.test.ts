import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {binPath, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {kolaEnv, qemuProcesses, testImage, useTempDir} from '../testing/vm.js'

// Boots real VMs from the test image (scripts/services/test-image.sh start).
const image = testImage()
const tempDir = useTempDir()

describe.skipIf(!image.available)('kola spawn on real VMs (test image)', () => {
  it(
    '--exec runs a script that reaches the machine with only the exported environment, and exits with its code',
    {timeout: 10 * 60_000},
    async () => {
      const dir = tempDir()
      // Given a script that uses nothing but KOLA_* variables and exits 7
      const script = join(dir, 'check.sh')
      const seen = join(dir, 'seen.txt')
      await writeFile(
        script,
        [
          '#!/bin/sh',
          'set -e',
          `ssh -F "$KOLA_SSH_CONFIG" m0 '. /etc/os-release; echo "$ID"; id -un' > ${seen}`,
          `ssh -i "$KOLA_SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p "\${KOLA_MACHINE_ADDRESSES##*:}" "$KOLA_SSH_USER@127.0.0.1" 'echo by-key' >> ${seen}`,
          'exit 7',
          '',
        ].join('\n'),
      )
      await chmod(script, 0o755)
      const out = join(dir, '_spawn_temp')

      // When kola spawn runs it
      const result = await runCli('kola', ['spawn', '--exec', script, '--output-dir', out], {env: kolaEnv(dir)})

      // Then the script reached the machine both ways, kola exits 7, and the machine is gone
      expect(result.stderr).not.toMatch(/internal error/)
      expect(await readFile(seen, 'utf8')).toBe('debian\ncore\nby-key\n')
      expect(result.code).toBe(7)
      expect(qemuProcesses(out)).toEqual([])
    },
  )

  it('--interactive keeps the machine up until SIGTERM, then removes it and exits 0', {timeout: 10 * 60_000}, async () => {
    const dir = tempDir()
    // Given kola spawn --interactive
    const out = join(dir, '_interactive_temp')
    const child = spawn(process.execPath, [binPath('kola'), 'spawn', '--interactive', '--output-dir', out], {
      env: kolaEnv(dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        if (stdout.includes('ssh_config')) resolve()
      })
      child.once('close', () => reject(new Error(`kola spawn exited early: ${stderr}`)))
    })

    // When the machine is up and SIGTERM arrives
    const running = qemuProcesses(out)
    expect(readFileSync(join(out, 'machines.env'), 'utf8')).toMatch(/^KOLA_SSH_CONFIG=/m)
    child.kill('SIGTERM')

    // Then kola removes the machine and exits 0
    expect(await exited).toBe(0)
    expect(running).toHaveLength(1)
    expect(qemuProcesses(out)).toEqual([])
  })
})
