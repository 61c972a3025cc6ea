import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext} from '../testing/fakes.js'
import {createPacketDevice, deletePacketKeys, gcPacket, packetApi} from './index.js'

/** Equinix Metal's API answered with recorded shapes (nock). */
const EM = 'https://api.equinix.com'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()

describe('packet (recorded HTTP)', () => {
  useRecordedHttp()
  const api = (context = testContext(NOW)) => packetApi({credentials: {api_key: 'packet-test-key-123', project: 'proj-1'}, ...context})

  it('creates a device tagged as ours, hourly, and waits until it is active', async () => {
    const bodies: unknown[] = []
    nock(EM)
      .post('/metal/v1/projects/proj-1/devices', (b) => (bodies.push(b), true))
      .matchHeader('x-auth-token', 'packet-test-key-123')
      .reply(201, {id: 'dev-1', hostname: 'kola-1', state: 'queued', created_at: hoursAgo(0)})
    nock(EM)
      .get('/metal/v1/devices/dev-1')
      .reply(200, {id: 'dev-1', hostname: 'kola-1', state: 'provisioning', created_at: hoursAgo(0)})
    nock(EM)
      .get('/metal/v1/devices/dev-1')
      .reply(200, {
        id: 'dev-1',
        hostname: 'kola-1',
        state: 'active',
        created_at: hoursAgo(0),
        ip_addresses: [{address: '198.51.100.4', public: true, address_family: 4}],
      })
    const context = testContext(NOW)
    const device = await createPacketDevice({
      api: await api(context),
      input: {
        hostname: 'kola-1',
        plan: 'c3.small.x86',
        metro: 'da',
        operating_system: 'custom_ipxe',
        ipxe_script_url: 'https://example.org/ipxe',
        userdata: '{}',
      },
      context,
    })
    expect(device.state).toBe('active')
    expect(bodies[0]).toEqual({
      hostname: 'kola-1',
      plan: 'c3.small.x86',
      metro: 'da',
      operating_system: 'custom_ipxe',
      ipxe_script_url: 'https://example.org/ipxe',
      userdata: '{}',
      billing_cycle: 'hourly',
      tags: ['mantle'],
    })
  })

  it('deletes a device that fails to provision and says so (exit 3)', async () => {
    nock(EM)
      .post('/metal/v1/projects/proj-1/devices')
      .reply(201, {id: 'dev-2', hostname: 'kola-2', state: 'queued', created_at: hoursAgo(0)})
    nock(EM)
      .get('/metal/v1/devices/dev-2')
      .reply(200, {id: 'dev-2', hostname: 'kola-2', state: 'failed', created_at: hoursAgo(0)})
    nock(EM).delete('/metal/v1/devices/dev-2').reply(204)
    const context = testContext(NOW)
    const error = await createPacketDevice({
      api: await api(context),
      input: {hostname: 'kola-2', plan: 'p', metro: 'da', operating_system: 'flatcar_stable'},
      context,
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('packet: device dev-2 failed to provision')
  })

  it('gc deletes only our devices older than the duration, across pages', async () => {
    nock(EM)
      .get('/metal/v1/projects/proj-1/devices')
      .query({page: '1', per_page: '100'})
      .reply(200, {
        devices: [{id: 'a', hostname: 'kola-old', state: 'active', created_at: hoursAgo(9), tags: ['mantle']}],
        meta: {next: {href: '/projects/proj-1/devices?page=2'}},
      })
    nock(EM)
      .get('/metal/v1/projects/proj-1/devices')
      .query({page: '2', per_page: '100'})
      .reply(200, {
        devices: [
          {id: 'b', hostname: 'kola-new', state: 'active', created_at: hoursAgo(1), tags: ['mantle']},
          {id: 'c', hostname: 'prod', state: 'active', created_at: hoursAgo(99), tags: []},
        ],
        meta: {next: null},
      })
    nock(EM).delete('/metal/v1/devices/a').reply(204)
    const context = testContext(NOW)
    expect(await gcPacket({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual({deletedDevices: ['a']})
  })

  it('deletes keys by label prefix; a refused key is exit 2', async () => {
    nock(EM)
      .get('/metal/v1/projects/proj-1/ssh-keys')
      .reply(200, {
        ssh_keys: [
          {id: 'k1', label: 'kola-abc'},
          {id: 'k2', label: 'admin'},
        ],
      })
    nock(EM).delete('/metal/v1/ssh-keys/k1').reply(204)
    const context = testContext(NOW)
    expect((await deletePacketKeys({api: await api(context), prefix: 'kola-', context})).deleted).toEqual([{id: 'k1', label: 'kola-abc'}])

    nock(EM)
      .get('/metal/v1/projects/proj-1/ssh-keys')
      .reply(401, {errors: ['Invalid authentication token']})
    const error = await deletePacketKeys({api: await api(context), prefix: 'x', context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      'packet GET /metal/v1/projects/proj-1/ssh-keys: packet refused the credentials (401: Invalid authentication token)',
    )
  })
})
