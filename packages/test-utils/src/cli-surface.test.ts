import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {binPath, REPO_ROOT, runCli, TOOLS, type Tool} from './cli.js'

/**
 * Table-driven over the oclif manifests that the build ships, so a new command
 * is covered without touching this file.
 */
interface Manifest {
  commands: Record<string, {id: string; examples?: unknown[]; summary?: string}>
}

function manifest(tool: Tool): Manifest {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'packages', tool, 'oclif.manifest.json'), 'utf8')) as Manifest
}

const cases = TOOLS.flatMap((tool) => Object.values(manifest(tool).commands).map((c) => ({tool, id: c.id, command: c})))
const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m

describe('every command of every tool', () => {
  it('the manifests list commands for all five tools', () => {
    for (const tool of TOOLS) expect(Object.keys(manifest(tool).commands)).toContain('version')
  })

  it.each(cases)('$tool $id has a summary and examples', ({command}) => {
    expect(command.summary).toBeTruthy()
    expect(command.examples?.length ?? 0).toBeGreaterThan(0)
  })

  it.each(cases)('$tool $id --help exits 0', async ({tool, id}) => {
    const r = await runCli(tool, [...id.split(':'), '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('USAGE')
  })

  it.each(cases)('$tool $id with an unknown flag exits 2 with one line and no stack trace', async ({tool, id}) => {
    const r = await runCli(tool, [...id.split(':'), '--no-such-flag-xyz'])
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^${tool}: error: .*(no-such-flag-xyz|Missing)`))
    expect(r.stderr).not.toMatch(STACK_FRAME)
  })
})

describe.each(TOOLS)('%s', (tool) => {
  it('--help lists its commands and exits 0', async () => {
    const r = await runCli(tool, ['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/COMMANDS|TOPICS/)
  })

  it('version --json prints valid JSON with the version', async () => {
    const r = await runCli(tool, ['version', '--json'])
    expect(r.code).toBe(0)
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', tool, 'package.json'), 'utf8')) as {version: string}
    expect(JSON.parse(r.stdout)).toMatchObject({name: tool, version: pkg.version})
  })

  it('an unknown command exits 2', async () => {
    const r = await runCli(tool, ['no-such-command'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not found/)
    expect(r.stderr).not.toMatch(STACK_FRAME)
  })
})

/** Debian 12's own Node.js (20): what a user who skipped the setup would run the tools with. */
const OLD_NODE = '/usr/bin/node'
const oldNodeVersion = existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['--version'], {encoding: 'utf8'}).stdout.trim() : ''
const oldNodeMajor = Number(/^v(\d+)\./.exec(oldNodeVersion)?.[1] ?? 99)

describe.each(TOOLS)('%s under an older Node.js', (tool) => {
  it.skipIf(oldNodeMajor >= 22)('says in one line that Node.js 22 is needed, exit 2, no stack trace', () => {
    const r = spawnSync(OLD_NODE, [binPath(tool), '--help'], {encoding: 'utf8'})
    expect(r.status).toBe(2)
    expect(r.stderr.trim()).toBe(`${tool}: error: Node.js 22.12 or newer is required (this is ${oldNodeVersion})`)
  })
})
