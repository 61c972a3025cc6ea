import nock from 'nock'
import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {rejection, testContext} from '../testing/fakes.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {deleteHetznerImages, gcHetzner, hetznerApi, waitAction} from './index.js'

// Hetzner Cloud API v1 answered with the shapes of its reference (docs.hetzner.cloud: list
// responses with meta.pagination, {"error": {"code", "message"}}, actions with status
// running/success/error) and of hcloud-go as flatcar/mantle platform/api/hetzner/api.go uses it
// (label_selector lists, DeleteWithResult then Action.WaitFor).
const HC = 'https://api.hetzner.cloud'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
const page = (next: number | null) => ({pagination: {page: 1, per_page: 50, previous_page: null, next_page: next, last_page: 1}})
const ours = {'created-by': 'mantle'}

describe('hetzner (recorded HTTP)', () => {
  useRecordedHttp()
  const api = (context = testContext(NOW)) => hetznerApi({credentials: {token: 'hcloud-test-token-0001'}, ...context})

  it('Given our servers, images, keys and volumes of several ages, when gc runs, then it deletes only the expired marked ones and waits for each server', async () => {
    nock(HC)
      .get('/v1/servers')
      .query({label_selector: 'created-by=mantle', page: '1', per_page: '50'})
      .matchHeader('authorization', 'Bearer hcloud-test-token-0001')
      .reply(200, {
        servers: [{id: 1, name: 'kola-old', created: hoursAgo(6), labels: ours, status: 'running', public_net: {}}],
        meta: page(2),
      })
    nock(HC)
      .get('/v1/servers')
      .query({label_selector: 'created-by=mantle', page: '2', per_page: '50'})
      .reply(200, {
        servers: [{id: 2, name: 'kola-new', created: hoursAgo(1), labels: ours, status: 'running', public_net: {}}],
        meta: page(null),
      })
    nock(HC)
      .delete('/v1/servers/1')
      .reply(200, {action: {id: 91, command: 'delete_server', status: 'running', error: null}})
    nock(HC)
      .get('/v1/actions/91')
      .reply(200, {action: {id: 91, command: 'delete_server', status: 'success', error: null}})
    nock(HC)
      .get('/v1/images')
      .query({label_selector: 'created-by=mantle', type: 'snapshot', page: '1', per_page: '50'})
      .reply(200, {images: [{id: 5, description: 'flatcar-old', created: hoursAgo(30), labels: ours, type: 'snapshot'}], meta: page(null)})
    nock(HC).delete('/v1/images/5').reply(204)
    nock(HC)
      .get('/v1/ssh_keys')
      .query({label_selector: 'created-by=mantle', page: '1', per_page: '50'})
      .reply(200, {ssh_keys: [{id: 7, name: 'kola-1234abcd', created: hoursAgo(6), labels: ours}], meta: page(null)})
    nock(HC).delete('/v1/ssh_keys/7').reply(204)
    nock(HC)
      .get('/v1/volumes')
      .query({label_selector: 'created-by=mantle', page: '1', per_page: '50'})
      .reply(200, {volumes: [{id: 8, name: 'unknown-age', created: 'garbage', labels: ours}], meta: page(null)})
    const context = testContext(NOW)
    expect(await gcHetzner({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual({
      servers: [1],
      images: [5],
      sshKeys: [7],
      volumes: [],
    })
  })

  it('Given --dry-run, when gc runs, then it lists what it would delete and deletes nothing', async () => {
    nock(HC)
      .get('/v1/servers')
      .query(true)
      .reply(200, {
        servers: [{id: 1, name: 'kola-old', created: hoursAgo(6), labels: ours, status: 'running', public_net: {}}],
        meta: page(null),
      })
    for (const kind of ['images', 'ssh_keys', 'volumes'])
      nock(HC)
        .get(`/v1/${kind}`)
        .query(true)
        .reply(200, {[kind]: [], meta: page(null)})
    const context = testContext(NOW)
    expect(await gcHetzner({api: await api(context), olderThanMs: 3_600_000, dryRun: true, context})).toMatchObject({servers: [1]})
    expect(context.lines.join('\n')).toContain('would delete server kola-old (1)')
  })

  it('Given throttling (429 rate_limit_exceeded) and a 503, when an image is deleted, then the calls are retried and succeed', async () => {
    nock(HC)
      .get('/v1/images/42')
      .reply(429, {error: {code: 'rate_limit_exceeded', message: 'limit of 3600 requests per hour reached'}})
    nock(HC)
      .get('/v1/images/42')
      .reply(503, {error: {code: 'unavailable', message: 'service unavailable'}})
    nock(HC)
      .get('/v1/images/42')
      .reply(200, {image: {id: 42, description: 'flatcar', labels: ours, created: hoursAgo(1), type: 'snapshot'}})
    nock(HC).delete('/v1/images/42').reply(204)
    const context = testContext(NOW)
    expect(await deleteHetznerImages({api: await api(context), images: ['42'], context})).toEqual({deleted: [42]})
    expect(context.lines.filter((l) => /attempt [23]/.test(l))).toHaveLength(2)
  })

  it('Given a token Hetzner refuses, when gc runs, then one line and exit 2', async () => {
    nock(HC)
      .get('/v1/servers')
      .query(true)
      .reply(401, {error: {code: 'unauthorized', message: 'unable to authenticate'}})
    const context = testContext(NOW)
    const error = await rejection(gcHetzner({api: await api(context), olderThanMs: 1, context}))
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect(error.message).toBe('hetzner GET /v1/servers: hetzner refused the credentials (401: unauthorized: unable to authenticate)')
  })

  it('Given an exhausted server quota (403 resource_limit_exceeded), when a server is created, then exit 3, not a credentials error', async () => {
    nock(HC)
      .post('/v1/servers')
      .reply(403, {error: {code: 'resource_limit_exceeded', message: 'server limit exceeded'}})
    const context = testContext(NOW)
    const error = await rejection(
      (await api(context)).createServer({
        name: 'x',
        server_type: 'cx22',
        image: '1',
        location: 'fsn1',
        user_data: '{}',
        ssh_keys: [],
        labels: ours,
        start_after_create: true,
      }),
    )
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect(error.message).toBe('hetzner POST /v1/servers: 403 resource_limit_exceeded: server limit exceeded')
  })

  it('Given an action that ends in error, when it is waited for, then exit 3 naming its code', async () => {
    nock(HC)
      .get('/v1/actions/3')
      .reply(200, {action: {id: 3, command: 'create_server', status: 'error', error: {code: 'server_error', message: 'boom'}}})
    const context = testContext(NOW)
    const error = await rejection(waitAction(await api(context), {id: 3, command: 'create_server', status: 'running'}, context))
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect(error.message).toBe('hetzner: create_server failed: server_error: boom')
  })
})
