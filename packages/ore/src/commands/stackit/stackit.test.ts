import {mkdir, writeFile} from 'node:fs/promises'
import {createServer, type IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

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
    const server = createServer((req: IncomingMessage, res) => {
      req.resume()
      req.on('end', () => {
        const path = req.url ?? ''
        calls.push(`${req.method} ${path}`)
        const json = (status: number, body: unknown) =>
          res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
        if (req.headers.authorization !== 'Bearer stackit-token-0001') return json(401, {code: 401, msg: 'Unauthorized'})
        if (req.method === 'DELETE') return res.writeHead(204).end()
        if (path === `${P}/servers`)
          return json(200, {
            items: [
              {id: 's-old', name: 'kola-1', createdAt: OLD, labels: LABELS},
              {id: 's-theirs', createdAt: OLD},
            ],
          })
        if (path === `${P}/images`) return json(200, {items: []})
        if (path === `${P}/volumes`) return json(200, {items: [{id: 'v-old', createdAt: OLD, labels: LABELS}]})
        if (path === '/v2/keypairs') return json(200, {items: [{name: 'kola-k', createdAt: OLD, labels: LABELS}]})
        return json(404, {code: 404, msg: `unexpected ${req.method} ${path}`})
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () => new Promise((r) => server.close(() => r()))
  })
  afterAll(async () => {
    await close()
    await cleanup()
  })
  const ore = (args: string[]) => runCli('ore', ['stackit', ...args, '--stackit-endpoint', url], {env: isolatedEnv(home)})

  it('Given expired resources of ours, when gc --dry-run runs, then it lists them and deletes nothing; without it, it deletes them', async () => {
    calls.length = 0
    const expected = {servers: ['s-old'], images: [], volumes: ['v-old'], keypairs: ['kola-k']}
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
