import {randomBytes} from 'node:crypto'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {infoOfProperties} from './azure.js'
import {azureHeaders, azureRestFor, containerRequestUrl, parseBlobList} from './azure-rest.js'
import {isStorageError} from './errors.js'
import {openBucket} from './open.js'
import {azureSdk} from './sdks.js'
import {BACKENDS, backendAvailable} from './testing/backends.js'
import type {Bucket, ObjectInfo} from './types.js'

/**
 * The requests azure-rest.ts makes without the SDK (List Blobs, Get Blob
 * Properties, Get Blob) against Azurite, which checks Shared Key signatures
 * as Azure does: what they return must be what the SDK's own requests return
 * (@azure/storage-blob, github:Azure/azure-sdk-for-js
 * sdk/storage/storage-blob/src/policies/StorageSharedKeyCredentialPolicy.ts for
 * the signature, src/generated/src/operations/container.ts for List Blobs'
 * query: restype=container&comp=list, prefix, delimiter, marker, maxresults).
 */
const env = process.env
const azure = BACKENDS.find((f) => f.name.startsWith('azure'))!
const run = `ar${Date.now().toString(36)}${randomBytes(2).toString('hex')}/`
const NAMES = ['plain.txt', 'a&b<c>.txt', `q'uote"s.txt`, 'sp ace/ü.txt', 'd/x.txt', 'd/e/y.txt', '100%/z+1.txt']

describe.skipIf(!backendAvailable(azure))('Azure without the SDK: List Blobs, Get Blob Properties, Get Blob (Azurite)', () => {
  let bucket: Bucket
  const container = () =>
    azureSdk()
      .BlobServiceClient.fromConnectionString(env.MANTLE_TEST_AZURE_CONNECTION_STRING!)
      .getContainerClient(env.MANTLE_TEST_AZURE_CONTAINER!)
  const rest = () =>
    azureRestFor({
      account: env.MANTLE_TEST_AZURE_ACCOUNT!,
      container: env.MANTLE_TEST_AZURE_CONTAINER!,
      connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING,
    })!

  beforeAll(async () => {
    bucket = await openBucket(`az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/`, {
      azure: {connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING},
    })
    for (const [i, name] of NAMES.entries()) {
      await bucket.write(run + name, randomBytes(10 + i * 100), {contentType: 'text/plain', ...(i % 2 ? {cacheControl: 'max-age=60'} : {})})
    }
  })
  afterAll(async () => {
    for (const name of NAMES) await bucket.delete(run + name).catch(() => undefined)
  })

  /** What the SDK's own listing says of each blob, in ObjectInfo's terms (as AzureBucket.infoOf maps it). */
  async function sdkListing(delimiter?: string): Promise<{objects: ObjectInfo[]; prefixes: string[]}> {
    const objects: ObjectInfo[] = []
    const prefixes: string[] = []
    const items = delimiter ? container().listBlobsByHierarchy(delimiter, {prefix: run}) : container().listBlobsFlat({prefix: run})
    for await (const item of items) {
      if ('kind' in item && item.kind === 'prefix') {
        prefixes.push(item.name)
        continue
      }
      objects.push(infoOfProperties(item.name, (item as {properties: import('@azure/storage-blob').BlobProperties}).properties))
    }
    return {objects, prefixes}
  }

  async function ourListing(delimiter?: string): Promise<{objects: ObjectInfo[]; prefixes: string[]}> {
    const objects: ObjectInfo[] = []
    const prefixes: string[] = []
    for await (const e of bucket.list({prefix: run, ...(delimiter ? {delimiter} : {})})) {
      if (e.type === 'object') objects.push(e.object)
      else prefixes.push(e.prefix)
    }
    return {objects, prefixes}
  }

  const byKey = (xs: ObjectInfo[]) => [...xs].sort((a, b) => (a.key < b.key ? -1 : 1))

  it('Given blobs with names XML and URLs must escape, when listed flat, then every blob and property is what the SDK lists', async () => {
    const ours = await ourListing()
    const sdk = await sdkListing()
    expect(ours.objects.map((o) => o.key).sort()).toEqual(NAMES.map((n) => run + n).sort())
    expect(byKey(ours.objects)).toEqual(byKey(sdk.objects))
    expect(ours.objects.every((o) => o.md5 && o.generation && o.contentType === 'text/plain')).toBe(true)
  })

  it('Given nested blobs, when listed with a delimiter, then the same blobs and rolled-up prefixes as the SDK', async () => {
    const ours = await ourListing('/')
    const sdk = await sdkListing('/')
    expect(byKey(ours.objects)).toEqual(byKey(sdk.objects))
    expect([...ours.prefixes].sort()).toEqual([...sdk.prefixes].sort())
    expect([...ours.prefixes].sort()).toEqual([`${run}100%/`, `${run}d/`, `${run}sp ace/`])
  })

  it('Given more blobs than a page holds, when the pages are followed by their marker, then each blob comes exactly once', async () => {
    const r = rest()
    const seen: string[] = []
    let marker: string | undefined
    let pages = 0
    do {
      const url = containerRequestUrl(r, {restype: 'container', comp: 'list', prefix: run, ...(marker ? {marker} : {}), maxresults: '2'})
      const response = await fetch(url, {headers: azureHeaders(r, 'GET', url)})
      expect(response.status).toBe(200)
      const page = parseBlobList(await response.text())
      seen.push(...page.blobs.map((b) => b.key))
      marker = page.next
      pages++
    } while (marker)
    expect(pages).toBe(Math.ceil(NAMES.length / 2))
    expect(seen.sort()).toEqual(NAMES.map((n) => run + n).sort())
  })

  it('Given a blob, when stat and read (whole and a range), then the properties and bytes are the SDK’s', async () => {
    const key = run + 'a&b<c>.txt'
    const props = await container().getBlobClient(key).getProperties()
    const info = await bucket.stat(key)
    expect(info).toMatchObject({
      key,
      size: props.contentLength,
      contentType: props.contentType,
      md5: Buffer.from(props.contentMD5!).toString('hex'),
      generation: props.etag,
    })
    const whole = await container().getBlobClient(key).downloadToBuffer()
    const read = async (options: {start?: number; end?: number}) => {
      const {body} = await bucket.read(key, options)
      const chunks: Buffer[] = []
      for await (const c of body) chunks.push(c as Buffer)
      return Buffer.concat(chunks)
    }
    expect((await read({})).equals(whole)).toBe(true)
    expect((await read({start: 3, end: 40})).equals(whole.subarray(3, 41))).toBe(true)
    expect((await read({start: 50})).equals(whole.subarray(50))).toBe(true)
    expect(await bucket.stat(run + 'absent')).toBeUndefined()
  })

  it('Given a wrong account key, when listing, stat and reading, then access-denied: the service checks the signature these requests carry', async () => {
    const cs = env.MANTLE_TEST_AZURE_CONNECTION_STRING!.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString('base64')}`)
    const wrong = await openBucket(`az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/`, {
      azure: {connectionString: cs},
      attempts: 1,
    })
    const denied = (error: unknown) => isStorageError(error, 'access-denied')
    await expect(
      (async () => {
        for await (const e of wrong.list({prefix: run})) void e
      })(),
    ).rejects.toSatisfy(denied)
    await expect(wrong.stat(run + 'plain.txt')).rejects.toSatisfy(denied)
    await expect(wrong.read(run + 'plain.txt')).rejects.toSatisfy(denied)
  })

  it('Given a container that does not exist, when listed, then bucket-not-found as through the SDK', async () => {
    const missing = await openBucket(`az://${env.MANTLE_TEST_AZURE_ACCOUNT}/no-such-${run.slice(0, -1)}/`, {
      azure: {connectionString: env.MANTLE_TEST_AZURE_CONNECTION_STRING},
    })
    await expect(
      (async () => {
        for await (const e of missing.list()) void e
      })(),
    ).rejects.toSatisfy((error: unknown) => isStorageError(error, 'bucket-not-found'))
  })
})

describe('azureRestFor: which credentials the requests without the SDK can carry', () => {
  const base = {account: 'acct', container: 'c'}
  it('Given an account key, a SAS, a public container, an Azure AD token or a development-storage shorthand, then Shared Key, the SAS, nothing, or the SDK', () => {
    const key = Buffer.from('k3y').toString('base64')
    expect(
      azureRestFor({
        ...base,
        connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net`,
      }),
    ).toEqual({containerUrl: 'https://acct.blob.core.windows.net/c', sharedKey: {account: 'acct', key: Buffer.from('k3y')}})
    expect(azureRestFor({...base, connectionString: 'BlobEndpoint=https://x.example/;SharedAccessSignature=sv=1&sig=abc'})).toEqual({
      containerUrl: 'https://x.example/c',
      sas: 'sv=1&sig=abc',
    })
    expect(azureRestFor({...base, sasToken: '?sv=1&sig=abc'})).toEqual({
      containerUrl: 'https://acct.blob.core.windows.net/c',
      sas: 'sv=1&sig=abc',
    })
    expect(azureRestFor({...base})).toEqual({containerUrl: 'https://acct.blob.core.windows.net/c'})
    expect(azureRestFor({...base, tokenCredential: {}})).toBeUndefined()
    expect(azureRestFor({...base, connectionString: 'UseDevelopmentStorage=true'})).toBeUndefined()
  })

  it('Given a List Blobs answer with an Encoded name, entities and an empty MD5, then names, properties and the marker are read as the SDK reads them', () => {
    const page = parseBlobList(
      '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="c"><Blobs>' +
        '<Blob><Name Encoded="true">a%0Ab</Name><Properties><Last-Modified>Sun, 06 Dec 2026 18:00:00 GMT</Last-Modified><Etag>0x1</Etag><Content-Length>3</Content-Length><Content-Type>text/plain</Content-Type><Content-MD5 /><Cache-Control /></Properties></Blob>' +
        '<Blob><Name>x&amp;y&#x20;z</Name><Properties><Etag>"0x2"</Etag><Content-Length>0</Content-Length><Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5></Properties></Blob>' +
        '<BlobPrefix><Name>p&lt;/</Name></BlobPrefix></Blobs><NextMarker>m&amp;1</NextMarker></EnumerationResults>',
    )
    expect(page).toEqual({
      blobs: [
        {
          key: 'a\nb',
          size: 3,
          contentType: 'text/plain',
          cacheControl: undefined,
          md5: undefined,
          generation: '0x1',
          updated: new Date('2026-12-06T18:00:00Z'),
        },
        {
          key: 'x&y z',
          size: 0,
          contentType: undefined,
          cacheControl: undefined,
          md5: 'd41d8cd98f00b204e9800998ecf8427e',
          generation: '"0x2"',
          updated: undefined,
        },
      ],
      prefixes: ['p</'],
      next: 'm&1',
    })
  })
})
