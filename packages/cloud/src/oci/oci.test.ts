import {createPublicKey, createVerify} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import nock from 'nock'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {testContext} from '../testing/fakes.js'
import {OCI_DOC_TEST_KEY} from '../testing/oci-key.js'
import {useRecordedHttp} from '../testing/recorded-http.js'
import {recordingServer} from '../testing/server.js'
import {createOciImage, gcOci, ociApi, type OciCredentials} from './index.js'
import {ociSigningString} from './signer.js'

/*
 * OCI's Core Services and Object Storage answered with the shapes of Oracle's
 * API reference (LaunchInstance, CreateImage with an objectStorageTuple
 * source, ListImages paged by opc-next-page, {code, message} errors) and of
 * flatcar/mantle platform/api/oraclecloud/api.go (read with fetch). Every
 * recorded answer first verifies the request's signature with the public
 * half of the key, as OCI does: a wrong signature or signed-header list fails.
 */
const KEY = OCI_DOC_TEST_KEY
const CREDS: OciCredentials = {
  tenancy: 'ocid1.tenancy.oc1..aaaa',
  user: 'ocid1.user.oc1..bbbb',
  fingerprint: '20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34',
  key: KEY,
  region: 'us-phoenix-1',
  compartment: 'ocid1.compartment.oc1..cccc',
}
const IAAS = 'https://iaas.us-phoenix-1.oraclecloud.com'
const IDENTITY = 'https://identity.us-phoenix-1.oci.oraclecloud.com'
const NOW = new Date('2026-05-01T12:00:00Z')
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString()
const TAGS = {'created-by': 'mantle', 'managed-by': 'mantle'}
const PUBLIC = createPublicKey(KEY)

/** What OCI checks: the keyId, the signed-header list for the method, and the RSA-SHA256 signature over the signing string. */
function verify(method: string, url: string, headers: Record<string, string>, bodyExpected: boolean): string[] {
  const auth = String(headers.authorization ?? '')
  const params = Object.fromEntries([...auth.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
  expect(auth.startsWith('Signature version="1",')).toBe(true)
  expect(params.keyId).toBe(`${CREDS.tenancy}/${CREDS.user}/${CREDS.fingerprint}`)
  const signed = params.headers!.split(' ')
  expect(signed).toEqual(
    bodyExpected
      ? ['date', '(request-target)', 'host', 'content-length', 'content-type', 'x-content-sha256']
      : ['date', '(request-target)', 'host'],
  )
  const text = ociSigningString({method, url}, headers, signed)
  expect(createVerify('RSA-SHA256').update(text).verify(PUBLIC, params.signature!, 'base64')).toBe(true)
  return signed
}

/** A nock reply (nock 15 hands it the fetch Request) that first verifies the signature. */
function signed(status: number, body: unknown, bodyExpected = false, headers: Record<string, string> = {}) {
  return (req: Request): [number, unknown, Record<string, string>] => {
    verify(req.method, req.url, Object.fromEntries(req.headers), bodyExpected)
    return [status, body, {'content-type': 'application/json', ...headers}]
  }
}

describe('oci (recorded HTTP, signatures verified)', () => {
  useRecordedHttp()
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-'))
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))
  const api = (context = testContext(NOW), objectStorage?: string) => ociApi({credentials: CREDS, ...context, endpoints: {objectStorage}})

  it('uploads the disk, imports it as a tagged image, waits until AVAILABLE and deletes the object', async () => {
    // Given a qcow2 disk and a compartment whose image list has two pages
    const file = join(dir, 'flatcar_production_oraclecloud_image.qcow2')
    await writeFile(file, Buffer.alloc(4096, 7))
    const bodies: unknown[] = []
    nock(IAAS)
      .get('/20160918/images')
      .query({compartmentId: CREDS.compartment!})
      .reply(signed(200, [{id: 'ocid1.image.1', displayName: 'other', lifecycleState: 'AVAILABLE'}], false, {'opc-next-page': 'p2'}))
    nock(IAAS).get('/20160918/images').query({compartmentId: CREDS.compartment!, page: 'p2'}).reply(signed(200, []))
    // Object Storage is a local server: the disk goes up as a stream, which nock does not reliably intercept.
    const objectStorage = await recordingServer((req) => {
      verify(req.method, `https://${String(req.headers.host)}${req.path}`, req.headers as Record<string, string>, false)
      if (req.method === 'GET' && req.path === '/n/') return {status: 200, json: 'flatcarns'}
      return {status: req.method === 'DELETE' ? 204 : 200}
    })
    nock(IAAS)
      .post('/20160918/images', (b) => (bodies.push(b), true))
      .reply(signed(200, {id: 'ocid1.image.new', displayName: 'flatcar-4000', lifecycleState: 'PROVISIONING'}, true))
    nock(IAAS)
      .get('/20160918/images/ocid1.image.new')
      .reply(signed(200, {id: 'ocid1.image.new', lifecycleState: 'IMPORTING'}))
    nock(IAAS)
      .get('/20160918/images/ocid1.image.new')
      .reply(signed(200, {id: 'ocid1.image.new', lifecycleState: 'AVAILABLE'}))
    // When the image is created
    const context = testContext(NOW)
    const result = await createOciImage({api: await api(context, objectStorage.url), name: 'flatcar-4000', file, bucket: 'images', context})
    await objectStorage.close()
    // Then the request shapes are the API's, the upload signed no body headers, and the object is gone
    expect(result).toEqual({id: 'ocid1.image.new', name: 'flatcar-4000', created: true})
    expect(bodies[0]).toEqual({
      compartmentId: CREDS.compartment,
      displayName: 'flatcar-4000',
      freeformTags: TAGS,
      imageSourceDetails: {
        sourceType: 'objectStorageTuple',
        namespaceName: 'flatcarns',
        bucketName: 'images',
        objectName: 'flatcar_production_oraclecloud_image.qcow2',
        operatingSystem: 'Flatcar',
        operatingSystemVersion: 'Container Linux',
        sourceImageType: 'QCOW2',
      },
      launchMode: 'PARAVIRTUALIZED',
    })
    const object = '/n/flatcarns/b/images/o/flatcar_production_oraclecloud_image.qcow2'
    expect(objectStorage.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /n/', `PUT ${object}`, `DELETE ${object}`])
    const put = objectStorage.requests[1]!
    expect(put.body.equals(Buffer.alloc(4096, 7))).toBe(true)
    expect(put.headers['x-content-sha256']).toBeUndefined()
  })

  it('a failed import is one line, exit 3, and the uploaded object is deleted', async () => {
    const file = join(dir, 'disk.vmdk')
    await writeFile(file, 'vmdk')
    const bodies: {imageSourceDetails: {sourceImageType: string}}[] = []
    nock(IAAS).get('/20160918/images').query(true).reply(signed(200, []))
    const objectStorage = await recordingServer((req) => ({status: req.method === 'DELETE' ? 204 : 200}))
    nock(IAAS)
      .post('/20160918/images', (b) => (bodies.push(b), true))
      .reply(signed(200, {id: 'ocid1.image.bad', lifecycleState: 'PROVISIONING'}, true))
    nock(IAAS)
      .get('/20160918/images/ocid1.image.bad')
      .reply(signed(200, {id: 'ocid1.image.bad', lifecycleState: 'DELETED'}))
    const context = testContext(NOW)
    const error = await createOciImage({
      api: await api(context, objectStorage.url),
      name: 'bad',
      file,
      bucket: 'images',
      namespace: 'ns',
      context,
    }).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Infra)
    expect((error as Error).message).toBe('oci: import of image bad failed: the image is DELETED')
    expect(bodies[0]?.imageSourceDetails.sourceImageType).toBe('VMDK')
    await objectStorage.close()
    expect(objectStorage.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /n/ns/b/images/o/disk.vmdk',
      'DELETE /n/ns/b/images/o/disk.vmdk',
    ])
  })

  it('retries 429 and 500 (each attempt signed afresh), then succeeds', async () => {
    nock(IAAS)
      .get('/20160918/images')
      .query(true)
      .reply(signed(429, {code: 'TooManyRequests', message: 'Too many requests for the user'}))
    nock(IAAS)
      .get('/20160918/images')
      .query(true)
      .reply(signed(500, {code: 'InternalServerError', message: 'Internal error'}))
    nock(IAAS)
      .get('/20160918/images')
      .query(true)
      .reply(signed(200, [{id: 'ocid1.image.x', displayName: 'flatcar-4000', lifecycleState: 'AVAILABLE'}]))
    nock(IAAS)
      .get('/20160918/images/ocid1.image.x')
      .reply(signed(200, {id: 'ocid1.image.x', lifecycleState: 'AVAILABLE'}))
    const file = join(dir, 'again.qcow2')
    await writeFile(file, 'qcow2')
    const context = testContext(NOW)
    const result = await createOciImage({api: await api(context), name: 'flatcar-4000', file, bucket: 'b', context})
    expect(result).toEqual({id: 'ocid1.image.x', name: 'flatcar-4000', created: false})
    expect(context.lines.filter((l) => /attempt [23]/.test(l))).toHaveLength(2)
  })

  it('gc deletes only our instances, images, volumes and boot volumes older than the duration; --dry-run deletes nothing', async () => {
    const listings = () => {
      nock(IAAS)
        .get('/20160918/instances')
        .query({compartmentId: CREDS.compartment!})
        .reply(
          signed(200, [
            {
              id: 'i-old',
              displayName: 'kola-old',
              lifecycleState: 'RUNNING',
              timeCreated: hoursAgo(6),
              freeformTags: {'managed-by': 'mantle'},
            },
            {id: 'i-new', lifecycleState: 'RUNNING', timeCreated: hoursAgo(1), freeformTags: TAGS},
            {id: 'i-gone', lifecycleState: 'TERMINATED', timeCreated: hoursAgo(9), freeformTags: TAGS},
            {id: 'i-theirs', lifecycleState: 'RUNNING', timeCreated: hoursAgo(30), freeformTags: {}},
          ]),
        )
      nock(IAAS)
        .get('/20160918/images')
        .query(true)
        .reply(signed(200, [{id: 'img-old', lifecycleState: 'AVAILABLE', timeCreated: hoursAgo(7), freeformTags: TAGS}]))
      nock(IAAS)
        .get('/20160918/volumes')
        .query(true)
        .reply(signed(200, [{id: 'vol-old', lifecycleState: 'AVAILABLE', timeCreated: hoursAgo(7), freeformTags: TAGS}]))
      nock(IDENTITY)
        .get('/20160918/availabilityDomains')
        .query({compartmentId: CREDS.compartment!})
        .reply(signed(200, [{name: 'Pjwf:PHX-AD-1'}]))
      nock(IAAS)
        .get('/20160918/bootVolumes')
        .query({compartmentId: CREDS.compartment!, availabilityDomain: 'Pjwf:PHX-AD-1'})
        .reply(signed(200, [{id: 'bv-old', lifecycleState: 'AVAILABLE', timeCreated: hoursAgo(7), freeformTags: TAGS}]))
    }
    const expected = {instances: ['i-old'], images: ['img-old'], volumes: ['vol-old'], bootVolumes: ['bv-old']}
    // Given a dry run: listings only
    listings()
    const context = testContext(NOW)
    expect(await gcOci({api: await api(context), olderThanMs: 5 * 3_600_000, dryRun: true, context})).toEqual(expected)
    // When run for real: the deletes, with OCI's own parameters
    listings()
    nock(IAAS).delete('/20160918/instances/i-old').query({preserveBootVolume: 'false'}).reply(signed(204, ''))
    nock(IAAS).delete('/20160918/images/img-old').reply(signed(204, ''))
    nock(IAAS).delete('/20160918/volumes/vol-old').reply(signed(204, ''))
    nock(IAAS).delete('/20160918/bootVolumes/bv-old').reply(signed(204, ''))
    expect(await gcOci({api: await api(context), olderThanMs: 5 * 3_600_000, context})).toEqual(expected)
  })

  it('credentials OCI refuses are one line and exit 2', async () => {
    nock(IAAS)
      .get('/20160918/instances')
      .query(true)
      .reply(
        401,
        {code: 'NotAuthenticated', message: 'The required information to complete authentication was not provided or was incorrect.'},
        {'content-type': 'application/json'},
      )
    const context = testContext(NOW)
    const error = await gcOci({api: await api(context), olderThanMs: 1, context}).catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(
      'oci iaas GET /20160918/instances: oci iaas refused the credentials (401: NotAuthenticated: The required information to complete authentication was not provided or was incorrect.)',
    )
  })
})
