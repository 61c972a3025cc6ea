import {generateKeyPairSync} from 'node:crypto'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {recordingServer} from '@mantle/cloud/testing'
import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/*
 * ore oci against a local stand-in for Core Services, Identity and Object
 * Storage (--oci-endpoint): the list shapes of Oracle's API reference
 * (ListInstances, ListImages, ListVolumes, ListBootVolumes,
 * ListAvailabilityDomains) and its 401 NotAuthenticated answer. The server
 * refuses any request that is not signed with the profile's key id.
 */
const TENANCY = 'ocid1.tenancy.oc1..t'
const USER = 'ocid1.user.oc1..u'
const FP = '11:22:33'
const OLD = '2020-01-01T00:00:00.000Z'
const TAGS = {'created-by': 'mantle'}

describe('ore oci', () => {
  let home: string
  let cleanup: () => Promise<void>
  let url: string
  let close: () => Promise<void>
  let refuse = false
  const calls: string[] = []
  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
    const {privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
    await writeFile(join(home, 'api.pem'), privateKey.export({type: 'pkcs1', format: 'pem'}), {mode: 0o600})
    const profile = {
      tenancy: TENANCY,
      user: USER,
      fingerprint: FP,
      region: 'eu-frankfurt-1',
      key_file: '~/api.pem',
      compartment: 'ocid1.compartment.oc1..c',
    }
    await writeFile(join(home, '.config', 'oci.json'), JSON.stringify({default: profile}), {mode: 0o600})
    const server = await recordingServer((req) => {
      calls.push(`${req.method} ${req.path.split('?')[0]}`)
      if (refuse || !String(req.headers.authorization).includes(`keyId="${TENANCY}/${USER}/${FP}"`))
        return {
          status: 401,
          json: {
            code: 'NotAuthenticated',
            message: 'The required information to complete authentication was not provided or was incorrect.',
          },
        }
      if (req.method === 'DELETE') return {status: 204}
      const lists: Record<string, unknown[]> = {
        '/20160918/instances': [
          {id: 'i-old', displayName: 'kola-1', lifecycleState: 'RUNNING', timeCreated: OLD, freeformTags: TAGS},
          {id: 'i-theirs', lifecycleState: 'RUNNING', timeCreated: OLD, freeformTags: {}},
        ],
        '/20160918/images': [{id: 'img-old', lifecycleState: 'AVAILABLE', timeCreated: OLD, freeformTags: TAGS}],
        '/20160918/volumes': [],
        '/20160918/availabilityDomains': [{name: 'AD-1'}],
        '/20160918/bootVolumes': [{id: 'bv-old', lifecycleState: 'AVAILABLE', timeCreated: OLD, freeformTags: TAGS}],
      }
      const list = lists[req.path.split('?')[0]!]
      return list
        ? {status: 200, json: list}
        : {status: 404, json: {code: 'NotAuthorizedOrNotFound', message: `unexpected ${req.method} ${req.path}`}}
    })
    ;({url, close} = server)
  })
  afterAll(async () => {
    await close()
    await cleanup()
  })
  const ore = (args: string[]) => runCli('ore', ['oci', ...args, '--oci-endpoint', url], {env: isolatedEnv(home)})

  it('Given expired resources of ours, when gc --dry-run runs, then it lists them and deletes nothing; without it, it deletes them', async () => {
    calls.length = 0
    const dry = await ore(['gc', '--dry-run', '--json'])
    expect(dry.code).toBe(0)
    const expected = {instances: ['i-old'], images: ['img-old'], volumes: [], bootVolumes: ['bv-old']}
    expect(JSON.parse(dry.stdout)).toEqual(expected)
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([])
    const real = await ore(['gc', '--json'])
    expect(JSON.parse(real.stdout)).toEqual(expected)
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([
      'DELETE /20160918/instances/i-old',
      'DELETE /20160918/images/img-old',
      'DELETE /20160918/bootVolumes/bv-old',
    ])
  })

  it('Given credentials OCI refuses, when create-image runs, then one line, exit 2, and nothing is uploaded or created', async () => {
    refuse = true
    calls.length = 0
    const file = join(home, 'disk.qcow2')
    await writeFile(file, 'qcow2')
    const r = await ore(['create-image', '--name', 'flatcar-x', '--bucket', 'b', '--file', file])
    refuse = false
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('oci iaas refused the credentials (401: NotAuthenticated')
    expect(calls.filter((c) => !c.startsWith('GET'))).toEqual([])
  })

  it('Given no OCI profile, when gc runs, then one line names the file, exit 2', async () => {
    const r = await runCli('ore', ['oci', 'gc', '--oci-config-file', join(home, 'none.json')], {env: isolatedEnv(home)})
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `ore: error: oci credentials ${join(home, 'none.json')} (profile "default"): file not found (create it or pass --oci-config-file)`,
    )
  })
})
