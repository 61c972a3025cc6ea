import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {recordingServer} from '@mantle/cloud/testing'
import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/*
 * ore brightbox against a local stand-in for Brightbox's API 1.0
 * (--brightbox-endpoint): the OAuth2 client-credentials token (RFC 6749 4.4,
 * 401 invalid_client for an unknown client) and the list shapes gobrightbox
 * v2 reads. Only the profile's client gets a token.
 */
const OLD = '2020-01-01T00:00:00Z'
const BASIC = `Basic ${Buffer.from('cli-kola1:bb-secret-0001').toString('base64')}`

describe('ore brightbox', () => {
  let home: string
  let cleanup: () => Promise<void>
  let url: string
  let close: () => Promise<void>
  const calls: string[] = []
  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
    const profiles = {
      default: {client_id: 'cli-kola1', client_secret: 'bb-secret-0001'},
      wrong: {client_id: 'cli-kola1', client_secret: 'nope-0001'},
    }
    await writeFile(join(home, '.config', 'brightbox.json'), JSON.stringify(profiles), {mode: 0o600})
    const server = await recordingServer((req) => {
      calls.push(`${req.method} ${req.path}`)
      if (req.path === '/token')
        return req.headers.authorization === BASIC
          ? {status: 200, json: {access_token: 'bb-access-1', token_type: 'Bearer', expires_in: 7200}}
          : {status: 401, json: {error: 'invalid_client'}}
      if (req.headers.authorization !== 'Bearer bb-access-1') return {status: 401, json: {error: 'invalid_token'}}
      const lists: Record<string, unknown[]> = {
        '/1.0/servers': [{id: 'srv-old01', name: 'kola-1-coreos-basic-0', status: 'active', created_at: OLD}],
        '/1.0/images': [{id: 'img-old01', status: 'available', created_at: OLD, description: 'created-by=mantle'}],
        '/1.0/volumes': [],
        '/1.0/cloud_ips': [{id: 'cip-left1', name: 'kola-1-coreos-basic-0', status: 'unmapped'}],
      }
      return lists[req.path] ? {status: 200, json: lists[req.path]} : {status: 404, json: {error: `unexpected ${req.method} ${req.path}`}}
    })
    ;({url, close} = server)
  })
  afterAll(async () => {
    await close()
    await cleanup()
  })
  const ore = (args: string[]) => runCli('ore', ['brightbox', ...args, '--brightbox-endpoint', url], {env: isolatedEnv(home)})

  it('Given expired resources of ours, when gc --dry-run runs, then it lists them and deletes nothing', async () => {
    calls.length = 0
    const r = await ore(['gc', '--dry-run', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({servers: ['srv-old01'], images: ['img-old01'], volumes: [], cloudIps: ['cip-left1']})
    expect(calls.filter((c) => !c.startsWith('GET') && c !== 'POST /token')).toEqual([])
  })

  it('Given a client secret Brightbox refuses, when create-image runs, then one line, exit 2, and no image is registered', async () => {
    calls.length = 0
    const r = await ore(['create-image', '--name', 'flatcar-x', '--url', 'https://orbit.example/x.img', '--brightbox-profile', 'wrong'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('brightbox token refused the credentials (401: invalid_client)')
    expect(calls).toEqual(['POST /token'])
  })
})
