import {createHmac} from 'node:crypto'
import type {IncomingHttpHeaders} from 'node:http'

import type {ObjectInfo} from './types.js'

/**
 * Azure Blob requests made without the SDK, for what a sync of many small
 * blobs repeats: List Blobs, Get Blob Properties and Get Blob. Loading the
 * SDK alone took 0.25 s of a re-sync whose whole goal is 0.25 s, its generic
 * XML deserialiser 0.4 s for a 5,000-blob page, and its pipeline (a SAS
 * made per read) 0.37 s of CPU per 5,000 reads, on the two cores the
 * emulator shares. Writes, copies and deletes stay with the SDK.
 *
 * The requests are the SDK's own (the bundled @azure/storage-blob, read in
 * github:Azure/azure-sdk-for-js sdk/storage/storage-blob/src/policies/
 * StorageSharedKeyCredentialPolicy.ts and src/generated/src/operations/container.ts):
 * the same service version, x-ms-date, and the Shared Key signature over the
 * same string; or a SAS appended to the query; or nothing (a public container).
 */

/** The service version the bundled SDK speaks (vendor/azure-storage-blob.cjs, SERVICE_VERSION): both paths get the same answers. */
export const AZURE_SERVICE_VERSION = '2026-10-06'

export interface AzureRest {
  /** The container's URL, without a trailing slash: https://<account>.blob.core.windows.net/<container>. */
  containerUrl: string
  /** Account name and decoded key, for a Shared Key signature. */
  sharedKey?: {account: string; key: Buffer} | undefined
  /** A SAS query, without the "?". */
  sas?: string | undefined
}

export interface AzureRestSource {
  container: string
  account: string
  connectionString?: string | undefined
  accountName?: string | undefined
  accountKey?: string | undefined
  sasToken?: string | undefined
  endpoint?: string | undefined
  urlEndpoint?: string | undefined
  tokenCredential?: unknown
}

/**
 * How to reach the container without the SDK, or undefined where only the
 * SDK knows how (an Azure AD token, a development-storage shorthand, a
 * connection string of another shape).
 */
export function azureRestFor(o: AzureRestSource): AzureRest | undefined {
  const at = (endpoint: string, rest: Omit<AzureRest, 'containerUrl'>): AzureRest => ({
    containerUrl: `${endpoint.replace(/\/$/, '')}/${o.container}`,
    ...rest,
  })
  if (o.connectionString) {
    const parts = new Map<string, string>()
    for (const element of o.connectionString.split(';')) {
      const eq = element.indexOf('=')
      if (eq > 0) parts.set(element.slice(0, eq).trim().toLowerCase(), element.slice(eq + 1).trim())
    }
    if (parts.has('usedevelopmentstorage')) return undefined
    const account = parts.get('accountname')
    const key = parts.get('accountkey')
    const protocol = parts.get('defaultendpointsprotocol')?.toLowerCase()
    const suffix = parts.get('endpointsuffix')
    const endpoint =
      parts.get('blobendpoint') ??
      (account && (protocol === 'https' || protocol === 'http') && suffix ? `${protocol}://${account}.blob.${suffix}` : undefined)
    if (!endpoint) return undefined
    if (account && key) return at(endpoint, {sharedKey: {account, key: Buffer.from(key, 'base64')}})
    const sas = parts.get('sharedaccesssignature')
    return sas ? at(endpoint, {sas: sas.replace(/^\?/, '')}) : undefined
  }
  const endpoint = o.endpoint ?? o.urlEndpoint ?? `https://${o.account}.blob.core.windows.net`
  if (o.accountKey) return at(endpoint, {sharedKey: {account: o.accountName ?? o.account, key: Buffer.from(o.accountKey, 'base64')}})
  if (o.sasToken) return at(endpoint, {sas: o.sasToken.replace(/^\?/, '')})
  if (o.tokenCredential) return undefined
  return at(endpoint, {})
}

/** A blob's URL: each path segment percent-encoded, as the SDK's escapeURLPath leaves "/" alone. */
export function blobUrl(rest: AzureRest, key: string, query: Record<string, string> = {}): string {
  return requestUrl(`${rest.containerUrl}/${key.split('/').map(encodeURIComponent).join('/')}`, rest, query)
}

/** The container's URL with a query (List Blobs). */
export function containerRequestUrl(rest: AzureRest, query: Record<string, string>): string {
  return requestUrl(rest.containerUrl, rest, query)
}

function requestUrl(base: string, rest: AzureRest, query: Record<string, string>): string {
  const q = Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
  if (rest.sas) q.push(rest.sas)
  return q.length > 0 ? `${base}?${q.join('&')}` : base
}

/**
 * The headers of one request made now: x-ms-date, x-ms-version and, with the
 * account key, Authorization: SharedKey over the string the SDK's
 * StorageSharedKeyCredentialPolicy.signRequest builds (the standard headers
 * in its order, Content-Length empty when 0, the x-ms-* headers sorted, then
 * /<account><path> and each query parameter, lower-cased and sorted, decoded).
 * `headers` must be lower-case.
 */
export function azureHeaders(rest: AzureRest, method: string, url: string, headers: Record<string, string> = {}): Record<string, string> {
  const all: Record<string, string> = {'x-ms-date': new Date().toUTCString(), 'x-ms-version': AZURE_SERVICE_VERSION, ...headers}
  if (!rest.sharedKey) return all
  const value = (name: string): string => (name === 'content-length' && all[name] === '0' ? '' : (all[name] ?? ''))
  const standard = [
    'content-language',
    'content-encoding',
    'content-length',
    'content-md5',
    'content-type',
    'date',
    'if-modified-since',
    'if-match',
    'if-none-match',
    'if-unmodified-since',
    'range',
  ].map(value)
  const msHeaders = Object.keys(all)
    .filter((k) => k.startsWith('x-ms-'))
    .sort()
    .map((k) => `${k}:${all[k]!.trimStart()}\n`)
    .join('')
  const queryAt = url.indexOf('?')
  const path = new URL(url).pathname || '/'
  let resource = `/${rest.sharedKey.account}${path}`
  if (queryAt >= 0) {
    const params = url
      .slice(queryAt + 1)
      .split('&')
      .map((p) => p.split('='))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== '' && kv[1] !== '')
      .map(([k, v]) => [k.toLowerCase(), decodeURIComponent(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    for (const [k, v] of params) resource += `\n${k}:${v}`
  }
  const toSign = `${method}\n${standard.join('\n')}\n${msHeaders}${resource}`
  const signature = createHmac('sha256', rest.sharedKey.key).update(toSign, 'utf8').digest('base64')
  return {...all, authorization: `SharedKey ${rest.sharedKey.account}:${signature}`}
}

/** The error code Azure puts in a header of every failed answer (a HEAD has no body to carry it). */
export function azureErrorCode(headers: IncomingHttpHeaders): string | undefined {
  const code = headers['x-ms-error-code']
  return Array.isArray(code) ? code[0] : code
}

export interface BlobListPage {
  blobs: ObjectInfo[]
  prefixes: string[]
  next: string | undefined
}

const ENTITIES: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}

function unescapeXml(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : ENTITIES[e]!,
  )
}

/** A <Name>: percent-encoded when the service marks it Encoded="true" (names with characters XML cannot carry). */
function nameOf(body: string): string | undefined {
  const m = /<Name( Encoded="true")?>([^<]*)<\/Name>/.exec(body)
  if (!m) return undefined
  const text = unescapeXml(m[2]!)
  return m[1] ? decodeURIComponent(text) : text
}

/**
 * One List Blobs answer (an EnumerationResults document), read with two
 * regular expressions instead of a generic XML deserialiser: the blobs with
 * the properties ObjectInfo holds, the rolled-up prefixes, and the marker of
 * the next page. No metadata, tags or snapshots are asked for, so a <Blob>
 * holds only its name and <Properties>, each a flat element of text.
 */
export function parseBlobList(xml: string): BlobListPage {
  const blobs: ObjectInfo[] = []
  const prefixes: string[] = []
  for (const m of xml.matchAll(/<(Blob|BlobPrefix)>([\s\S]*?)<\/\1>/g)) {
    const body = m[2]!
    const name = nameOf(body)
    if (name === undefined) continue
    if (m[1] === 'BlobPrefix') {
      prefixes.push(name)
      continue
    }
    const props = new Map<string, string>()
    const at = body.indexOf('<Properties>')
    if (at >= 0) for (const p of body.slice(at).matchAll(/<([A-Za-z0-9-]+)>([^<]*)<\/\1>/g)) props.set(p[1]!, unescapeXml(p[2]!))
    const md5 = props.get('Content-MD5')
    const modified = props.get('Last-Modified')
    blobs.push({
      key: name,
      size: Number(props.get('Content-Length') ?? 0),
      contentType: props.get('Content-Type') || undefined,
      cacheControl: props.get('Cache-Control') || undefined,
      md5: md5 ? Buffer.from(md5, 'base64').toString('hex') : undefined,
      generation: props.get('Etag'),
      updated: modified ? new Date(modified) : undefined,
    })
  }
  const next = /<NextMarker>([^<]+)<\/NextMarker>/.exec(xml)?.[1]
  return {blobs, prefixes, next: next === undefined ? undefined : unescapeXml(next)}
}
