import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {makeTempDir} from '@mantle/test-utils'

import {useRecordedHttp} from '../testing/recorded-http.js'
import {testContext} from '../testing/fakes.js'
import {recordingServer} from '../testing/server.js'
import {createBaseVm, esxApi, gcEsx, removeVms, runVmCreated, runVmName} from './index.js'

/** vCenter's Automation REST API (/api) answered with recorded shapes (nock). */
const VC = 'https://vcenter.example.org'
const credentials = {server: 'vcenter.example.org', user: 'administrator@vsphere.local', password: 'esx-test-password-1'}

function session() {
  nock(VC)
    .post('/api/session')
    .matchHeader('authorization', `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`)
    .reply(201, '"session-token-1"', {'content-type': 'application/json'})
}

describe('esx via vCenter (recorded HTTP)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  useRecordedHttp()
  beforeAll(async () => ({dir, cleanup} = await makeTempDir()))
  afterAll(() => cleanup())

  it('creates the base VM: OVA into the content library, then deployed', async () => {
    const ova = join(dir, 'flatcar_production_vmware_ova.ova')
    const data = randomBytes(64 * 1024)
    await writeFile(ova, data)
    session()
    const v = nock(VC).matchHeader('vmware-api-session-id', 'session-token-1')
    const deploy: unknown[] = []
    // The upload URL vCenter hands out is a local server: nock does not reliably intercept streamed bodies.
    const uploads = await recordingServer(() => ({status: 200}))
    v.get('/api/vcenter/vm').query({names: 'flatcar-base'}).reply(200, [])
    v.get('/api/vcenter/datastore')
      .query({})
      .reply(200, [{datastore: 'datastore-11', name: 'ds1'}])
    v.get('/api/vcenter/resource-pool')
      .query({})
      .reply(200, [{resource_pool: 'resgroup-8', name: 'Resources'}])
    v.post('/api/content/library', {name: 'mantle'}).query({action: 'find'}).reply(200, [])
    v.post('/api/content/local-library', {
      name: 'mantle',
      type: 'LOCAL',
      storage_backings: [{type: 'DATASTORE', datastore_id: 'datastore-11'}],
    }).reply(201, '"lib-1"', {'content-type': 'application/json'})
    v.post('/api/content/library/item', {library_id: 'lib-1', name: 'flatcar-base'}).query({action: 'find'}).reply(200, [])
    v.post('/api/content/library/item', {library_id: 'lib-1', name: 'flatcar-base', type: 'ovf'}).reply(201, '"item-1"', {
      'content-type': 'application/json',
    })
    v.post('/api/content/library/item/update-session', {library_item_id: 'item-1'}).reply(201, '"upd-1"', {
      'content-type': 'application/json',
    })
    v.post('/api/content/library/item/update-session/upd-1/file', {
      name: 'flatcar_production_vmware_ova.ova',
      source_type: 'PUSH',
      size: data.length,
    }).reply(200, {upload_endpoint: {uri: `${uploads.url}/cls-data/upd-1/flatcar_production_vmware_ova.ova`}})
    v.get('/api/content/library/item/update-session/upd-1').reply(200, {state: 'ACTIVE'})
    v.get('/api/content/library/item/update-session/upd-1/file').reply(200, [{name: 'flatcar_production_vmware_ova.ova', status: 'READY'}])
    v.post('/api/content/library/item/update-session/upd-1').query({action: 'complete'}).reply(204)
    v.post('/api/vcenter/ovf/library-item/item-1', (b) => (deploy.push(b), true))
      .query({action: 'deploy'})
      .reply(200, {succeeded: true, resource_id: {type: 'VirtualMachine', id: 'vm-42'}})

    const context = testContext()
    const result = await createBaseVm({api: await esxApi({credentials, ...context}), name: 'flatcar-base', file: ova, context})

    expect(result).toEqual({vm: 'vm-42', name: 'flatcar-base', created: true})
    await uploads.close()
    expect(uploads.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /cls-data/upd-1/flatcar_production_vmware_ova.ova'])
    expect(uploads.requests[0]!.headers['vmware-api-session-id']).toBe('session-token-1')
    expect(uploads.requests[0]!.body.equals(data)).toBe(true)
    expect(deploy[0]).toEqual({
      target: {resource_pool_id: 'resgroup-8'},
      deployment_spec: {name: 'flatcar-base', accept_all_EULA: true, default_datastore_id: 'datastore-11', storage_provisioning: 'thin'},
    })
  })

  it('reuses a base VM that exists', async () => {
    const ova = join(dir, 'base.ova')
    await writeFile(ova, 'x')
    session()
    nock(VC)
      .get('/api/vcenter/vm')
      .query({names: 'flatcar-base'})
      .reply(200, [{vm: 'vm-7', name: 'flatcar-base', power_state: 'POWERED_OFF'}])
    const context = testContext()
    expect(await createBaseVm({api: await esxApi({credentials, ...context}), name: 'flatcar-base', file: ova, context})).toEqual({
      vm: 'vm-7',
      name: 'flatcar-base',
      created: false,
    })
  })

  it('removes VMs by prefix, powering off the running ones first', async () => {
    session()
    nock(VC)
      .get('/api/vcenter/vm')
      .query({})
      .reply(200, [
        {vm: 'vm-1', name: 'kola-a', power_state: 'POWERED_ON'},
        {vm: 'vm-2', name: 'kola-b', power_state: 'POWERED_OFF'},
        {vm: 'vm-3', name: 'prod', power_state: 'POWERED_ON'},
      ])
    nock(VC).post('/api/vcenter/vm/vm-1/power').query({action: 'stop'}).reply(204)
    nock(VC).delete('/api/vcenter/vm/vm-1').reply(204)
    nock(VC).delete('/api/vcenter/vm/vm-2').reply(204)
    const context = testContext()
    const result = await removeVms({api: await esxApi({credentials, ...context}), prefix: 'kola-', context})
    expect(result.removed.map((v) => v.name)).toEqual(['kola-a', 'kola-b'])
  })

  it('removes VMs by name: the names filter is the query parameter repeated, as vCenter reads a set', async () => {
    // vSphere Automation API, GET /api/vcenter/vm: names is a set of strings (names=a&names=b); a comma-joined
    // value would be one name no VM has.
    session()
    nock(VC)
      .get('/api/vcenter/vm')
      .query({names: ['kola-a', 'kola-b']})
      .reply(200, [
        {vm: 'vm-1', name: 'kola-a', power_state: 'POWERED_OFF'},
        {vm: 'vm-2', name: 'kola-b', power_state: 'POWERED_OFF'},
      ])
    nock(VC).delete('/api/vcenter/vm/vm-1').reply(204)
    nock(VC).delete('/api/vcenter/vm/vm-2').reply(204)
    const context = testContext()
    const result = await removeVms({api: await esxApi({credentials, ...context}), names: ['kola-a', 'kola-b'], context})
    expect(result.removed.map((v) => v.name)).toEqual(['kola-a', 'kola-b'])
  })

  it("gc removes only kola's run VMs made before the cutoff, as their names tell", async () => {
    const now = new Date('2026-12-06T12:00:00Z')
    const old = runVmName('kola-0a1b2c3d-coreos-basic-0', new Date(now.getTime() - 6 * 3_600_000))
    const fresh = runVmName('kola-0a1b2c3d-coreos-basic-1', new Date(now.getTime() - 3_600_000))
    expect(old).toMatch(/^kola-0a1b2c3d-coreos-basic-0-t[0-9a-z]+$/)
    expect(runVmCreated(old)).toEqual(new Date(now.getTime() - 6 * 3_600_000))
    expect(runVmCreated('kola-base-t0000000')).toBeUndefined()
    session()
    nock(VC)
      .get('/api/vcenter/vm')
      .query({})
      .reply(200, [
        {vm: 'vm-1', name: old, power_state: 'POWERED_ON'},
        {vm: 'vm-2', name: fresh, power_state: 'POWERED_ON'},
        {vm: 'vm-3', name: 'prod-t0000001', power_state: 'POWERED_ON'},
      ])
    nock(VC).post('/api/vcenter/vm/vm-1/power').query({action: 'stop'}).reply(204)
    nock(VC).delete('/api/vcenter/vm/vm-1').reply(204)
    // The images runs uploaded (--esx-ova-path) are library items named by the run, aged by creation_time.
    nock(VC).post('/api/content/library', {name: 'mantle'}).query({action: 'find'}).reply(200, ['lib-1'])
    nock(VC).get('/api/content/library/item').query({library_id: 'lib-1'}).reply(200, ['i1', 'i2', 'i3'])
    nock(VC)
      .get('/api/content/library/item/i1')
      .reply(200, {id: 'i1', name: 'kola-0a1b2c3d', creation_time: new Date(now.getTime() - 6 * 3_600_000).toISOString()})
    nock(VC)
      .get('/api/content/library/item/i2')
      .reply(200, {id: 'i2', name: 'kola-11111111', creation_time: new Date(now.getTime() - 3_600_000).toISOString()})
    nock(VC).get('/api/content/library/item/i3').reply(200, {id: 'i3', name: 'flatcar-base', creation_time: '2020-01-01T00:00:00Z'})
    nock(VC).delete('/api/content/library/item/i1').reply(204)
    const context = testContext(now)
    expect(await gcEsx({api: await esxApi({credentials, ...context}), olderThanMs: 5 * 3_600_000, context})).toEqual({
      removedVms: [old],
      removedLibraryItems: ['kola-0a1b2c3d'],
    })
  })

  it('a password vCenter refuses is a credentials error (exit 2)', async () => {
    nock(VC)
      .post('/api/session')
      .reply(401, {error_type: 'UNAUTHENTICATED', messages: [{default_message: 'Authentication required.'}]})
    const error = await esxApi({credentials, ...testContext()}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toMatch(/^vsphere POST \/api\/session: vsphere refused the credentials \(401/)
  })
})
