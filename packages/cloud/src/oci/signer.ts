import {createHash, createPrivateKey, createSign, type KeyObject} from 'node:crypto'

import {UsageError} from '@mantle/kit'

/**
 * OCI's request signature (version 1 of "Request Signatures" in Oracle's API
 * documentation, based on draft-cavage-http-signatures-08): the signing
 * string is `name: value` lines of the signed headers in the order of the
 * `headers` parameter, `(request-target)` being the lowercased method, a
 * space and the path with its query exactly as sent; signed with RSA-SHA256
 * (PKCS#1 v1.5) and base64-encoded into the Authorization header.
 */

/** The key OCI knows the user's API key by: `<tenancy OCID>/<user OCID>/<key fingerprint>`. */
export interface OciSigningKey {
  keyId: string
  privateKey: KeyObject
}

export interface OciRequestToSign {
  method: string
  /** The full URL as it will be sent (path and query already encoded). */
  url: string
  /** The exact bytes of the body (POST, PUT, PATCH). */
  body?: Buffer | undefined
  contentType?: string | undefined
  /** An RFC 7231 date ("Thu, 05 Jan 2014 21:31:40 GMT"); now when omitted. */
  date?: string | undefined
  /**
   * Object Storage's PutObject and UploadPart send the body unsigned (it may be
   * gigabytes): only date, (request-target) and host are signed.
   */
  unsignedBody?: boolean | undefined
}

const GENERIC = ['date', '(request-target)', 'host'] as const
const BODY = ['content-length', 'content-type', 'x-content-sha256'] as const

/** Reads a PEM private key (PKCS#1 or PKCS#8, encrypted with a passphrase or not). */
export function ociPrivateKey(pem: string, passphrase?: string): KeyObject {
  try {
    return createPrivateKey(passphrase ? {key: pem, format: 'pem', passphrase} : {key: pem, format: 'pem'})
  } catch (error) {
    // The crypto message never quotes the key.
    throw new UsageError(`oci: cannot read the API signing key: ${(error as Error).message}`, {
      hint: 'the key_file of the OCI profile must be a PEM RSA private key (pass_phrase when it is encrypted)',
    })
  }
}

/** The signing string of a request: exposed so that tests compare it with the documentation's. */
export function ociSigningString(request: OciRequestToSign, headers: Record<string, string>, signed: readonly string[]): string {
  const url = new URL(request.url)
  return signed
    .map((name) => {
      if (name === '(request-target)') return `(request-target): ${request.method.toLowerCase()} ${url.pathname}${url.search}`
      if (name === 'host') return `host: ${url.host}`
      return `${name}: ${headers[name]}`
    })
    .join('\n')
}

/** The headers a signed request carries: date, the body headers where signed, and authorization. */
export function signOciRequest(request: OciRequestToSign, key: OciSigningKey): Record<string, string> {
  const method = request.method.toUpperCase()
  const headers: Record<string, string> = {date: request.date ?? new Date().toUTCString()}
  const withBody = (method === 'POST' || method === 'PUT' || method === 'PATCH') && !request.unsignedBody
  const signed: string[] = [...GENERIC]
  if (withBody) {
    const body = request.body ?? Buffer.alloc(0)
    headers['content-length'] = String(body.length)
    headers['content-type'] = request.contentType ?? 'application/json'
    headers['x-content-sha256'] = createHash('sha256').update(body).digest('base64')
    signed.push(...BODY)
  }
  const signature = createSign('RSA-SHA256')
    .update(ociSigningString(request, headers, signed))
    .sign(key.privateKey, 'base64')
  headers.authorization =
    `Signature version="1",headers="${signed.join(' ')}",keyId="${key.keyId}",` + `algorithm="rsa-sha256",signature="${signature}"`
  return headers
}
