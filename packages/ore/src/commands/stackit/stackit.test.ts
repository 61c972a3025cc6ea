import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {recordingServer} from '@mantle/cloud/testing'
import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/*
 * ore stackit against a local stand-in for the IaaS API v2 (--stackit-endpoint):
 * the {items: [...]} lists of stackit-sdk-go services/iaas/v2api and its 401
 * answer to a token it does not know. Only the token of the profile is accepted.
 */
const OLD = '2020-01-01T00:00:00Z'
const LABELS = {'created-by': 'mantle'}
const P = '/v2/projects/p-1/regions/eu01'

describe('ore stackit', () => {
  let home: string
  let cleanup: () => Promise<void>
  let url: string
  let close: () => Promise<void>
  const calls: string[] = []
  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
    await writeFile(
      join(home, '.config', 'stackit.json'),
      JSON.stringify({
        default: {project_id: 'p-1', service_account_token: 'stackit-token-0001'},
        wrong: {project_id: 'p-1', service_account_token: 'nope'},
      }),
      {mode: 0o600},
    )
    const server = await recordingServer((req) => {
      calls.push(`${req.method} ${req.path}`)
      if (req.headers.authorization !== 'Bearer stackit-token-0001') return {status: 401, json: {code: 401, msg: 'Unauthorized'}}
      if (req.method === 'DELETE') return {status: 204}
      const lists: Record<string, unknown[]> = {
        [`${P}/servers`]: [
          {id: 's-old', name: 'kola-1', createdAt: OLD, labels: LABELS},
          {id: 's-theirs', createdAt: OLD},
        ],
        [`${P}/images`]: [],
        [`${P}/volumes`]: [{id: 'v-old', createdAt: OLD, labels: LABELS}],
        '/v2/keypairs': [{name: 'kola-k', createdAt: OLD, labels: LABELS}],
        [`${P}/public-ips`]: [],
      }
      return lists[req.path]
        ? {status: 200, json: {items: lists[req.path]}}
        : {status: 404, json: {code: 404, msg: `unexpected ${req.path}`}}
    })
    ;({url, close} = server)
  })
  afterAll(async () => {
    await close()
    await cleanup()
  })
  const ore = (args: string[]) => runCli('ore', ['stackit', ...args, '--stackit-endpoint', url], {env: isolatedEnv(home)})

  it('Given expired resources of ours, when gc --dry-run runs, then it lists them and deletes nothing; without it, it deletes them', async () => {
    calls.length = 0
    const expected = {servers: ['s-old'], images: [], volumes: ['v-old'], keypairs: ['kola-k'], publicIps: []}
    const dry = await ore(['gc', '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.stdout)).toEqual(expected)
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([])
    const real = await ore(['gc', '--json'])
    expect(JSON.parse(real.stdout)).toEqual(expected)
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([
      `DELETE ${P}/servers/s-old`,
      `DELETE ${P}/volumes/v-old`,
      'DELETE /v2/keypairs/kola-k',
    ])
  })

  it('Given a token STACKIT refuses, when create-image runs, then one line, exit 2, and no image record is created', async () => {
    calls.length = 0
    const file = join(home, 'disk.img')
    await writeFile(file, 'qcow2')
    const r = await ore(['create-image', '--name', 'flatcar-x', '--file', file, '--stackit-profile', 'wrong'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('stackit refused the credentials (401')
    expect(calls.filter((c) => !c.startsWith('GET'))).toEqual([])
  })
})
