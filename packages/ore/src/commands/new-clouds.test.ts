import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/**
 * ore hetzner, scaleway and akamai with bad input or refused credentials: one line each, the right exit code,
 * before anything is created. The API is a local server answering every request as each cloud refuses a
 * token (Hetzner {"error": {"code": "unauthorized"}}, Scaleway {"type": "denied_authentication"}, Linode
 * {"errors": [{"reason": "Invalid Token"}]}), reached through the clouds' own endpoint variables.
 */
describe('ore hetzner/scaleway/akamai: refusals and bad input', () => {
  let home: string
  let cleanup: () => Promise<void>
  let server: Server
  let url: string
  const requests: string[] = []

  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`)
      const body = req.url?.startsWith('/instance/')
        ? {type: 'denied_authentication', message: 'invalid auth token'}
        : req.url?.startsWith('/v4/')
          ? {errors: [{reason: 'Invalid Token'}]}
          : {error: {code: 'unauthorized', message: 'unable to authenticate'}}
      res.writeHead(401, {'content-type': 'application/json'}).end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await cleanup()
  })

  const env = () =>
    isolatedEnv(home, {
      HCLOUD_TOKEN: 'hcloud-refused-token-0001',
      HCLOUD_ENDPOINT: `${url}/v1`,
      SCW_ACCESS_KEY: 'SCWREFUSED0000000001',
      SCW_SECRET_KEY: 'scw-refused-secret-0001',
      SCW_DEFAULT_PROJECT_ID: 'p',
      SCW_API_URL: url,
      LINODE_TOKEN: 'linode-refused-token-0001',
      LINODE_URL: url,
    })

  it.each([
    [
      'hetzner',
      'hetzner GET /v1/servers: hetzner refused the credentials (401: unauthorized: unable to authenticate) (check the token (--hetzner-profile, --hetzner-config-file or HCLOUD_TOKEN))',
    ],
    [
      'scaleway',
      'scaleway GET /instance/v1/zones/fr-par-1/servers: scaleway refused the credentials (401: denied_authentication: invalid auth token) (check the API key (--scaleway-profile, --scaleway-config-file or SCW_ACCESS_KEY/SCW_SECRET_KEY))',
    ],
    [
      'akamai',
      'akamai GET /v4/linode/instances: akamai refused the credentials (401: Invalid Token) (check the token (--akamai-profile, --akamai-config-file or LINODE_TOKEN))',
    ],
  ])('Given a token %s refuses, when ore gc runs, then one line, exit 2, and no secret in it', async (cloud, message) => {
    const r = await runCli('ore', [cloud, 'gc', '--dry-run'], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([`ore: error: ${message}`])
    expect(r.stderr).not.toMatch(/refused-(token|secret)/)
  })

  it('Given a raw disk, when ore scaleway create-image runs, then exit 2 naming the conversion, before any request', async () => {
    const before = requests.length
    const r = await runCli('ore', ['scaleway', 'create-image', '--file', join(home, 'disk.raw')], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')[0]).toBe(
      `ore: error: scaleway create-image: ${join(home, 'disk.raw')} is not a .qcow2 disk (Scaleway imports qcow2 images; convert with qemu-img convert -O qcow2)`,
    )
    expect(requests.length).toBe(before)
  })

  it('Given a missing disk, when ore akamai create-image runs, then exit 2 naming the file, before any request', async () => {
    const before = requests.length
    const r = await runCli('ore', ['akamai', 'create-image', '--file', join(home, 'none.bin.gz')], {env: env()})
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')[0]).toBe(
      `ore: error: cannot read ${join(home, 'none.bin.gz')}: ENOENT (check the path given to --file)`,
    )
    expect(requests.length).toBe(before)
  })
})
