import {join} from 'node:path'

import {isolatedEnv, runCli} from '@mantle/test-utils'
import {describe, expect, it} from 'vitest'

import {useTempDir} from '../testing/vm.js'

// Hostile flag values and arguments found by an outside audit (issue 18): each must end as a usage
// error in one line (exit 2), in bounded time (the runner kills a child after 60 s), never exit 4 or a hang.
const tempDir = useTempDir()

describe('kola on hostile input', () => {
  it.each([
    [['run', '--parallel', '{"a":'], /^kola: error: --parallel wants a positive number or "auto", got "\{\\"a\\":"$/],
    [['run', '--parallel', '0'], /^kola: error: --parallel wants a positive number or "auto", got "0"$/],
    [
      ['check-console', '/dev/zero'],
      /^kola: error: the console log \/dev\/zero is larger than 64 MiB, the most kola reads \(pass console\.txt files or a run output directory\)$/,
    ],
    [
      ['spawn', '--output-dir', '/dev/zero'],
      /^kola: error: the output directory \/dev\/zero exists and is not a directory \(pass a new or existing directory to --output-dir\)$/,
    ],
    [
      ['run', '--denylist', '/dev/zero'],
      /^kola: error: the denylist \/dev\/zero is larger than 1 MiB, the most kola reads \(pass an existing YAML file to --denylist\)$/,
    ],
    [
      ['spawn', '--userdata', '/dev/zero'],
      /^kola: error: the Ignition config \/dev\/zero is larger than 16 MiB, the most kola reads \(pass an Ignition config file to --userdata\)$/,
    ],
    [
      ['bootchart', '--userdata', '/dev/zero'],
      /^kola: error: the Ignition config \/dev\/zero is larger than 16 MiB, the most kola reads \(pass an Ignition config file to --userdata\)$/,
    ],
  ])('kola %j: one line, exit 2', {timeout: 90_000}, async (args, message) => {
    const dir = tempDir()
    const result = await runCli('kola', args, {env: isolatedEnv(join(dir, 'home')), cwd: dir, timeoutMs: 60_000})
    expect(result.signal).toBeNull()
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(result.stderr.trimEnd()).toMatch(message)
    expect(result.code).toBe(2)
  })
})
