import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {OCI_DOC_TEST_KEY} from '../testing/oci-key.js'
import {ociPrivateKey, ociSigningString, signOciRequest} from './signer.js'

/*
 * The example of Oracle's documentation "Request Signatures"
 * (https://docs.cloud.oracle.com/iaas/Content/API/Concepts/signingrequests.htm,
 * section "Test Values"): its published test key, OCIDs, the GET and POST
 * requests, and the signatures it prints. The same values are the expected
 * results of oci-go-sdk's common/http_signer_test.go (read with fetch).
 */
const KEY_ID =
  'ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq/' +
  'ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq/20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34'
const DATE = 'Thu, 05 Jan 2014 21:31:40 GMT'
const COMPARTMENT = 'ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa'
const VOLUME = 'ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q'
const GET_URL =
  'https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1' +
  `&compartmentId=${COMPARTMENT}&displayName=TeamXInstances&volumeId=${VOLUME}`
const POST_BODY = `{
    "compartmentId": "${COMPARTMENT}",
    "instanceId": "ocid1.instance.oc1.phx.abuw4ljrlsfiqw6vzzxb43vyypt4pkodawglp3wqxjqofakrwvou52gb6s5a",
    "volumeId": "${VOLUME}"
}`

const key = () => ({keyId: KEY_ID, privateKey: ociPrivateKey(OCI_DOC_TEST_KEY)})

describe('OCI request signatures (the documentation example)', () => {
  it('signs the documented GET byte for byte', () => {
    // Given the documented GET request and its date
    const request = {method: 'GET', url: GET_URL, date: DATE}
    // When it is signed with the documented test key
    const headers = signOciRequest(request, key())
    // Then the signing string, the signature and the whole header are the documentation's
    expect(ociSigningString(request, headers, ['date', '(request-target)', 'host'])).toBe(
      `date: ${DATE}\n(request-target): get /20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1&compartmentId=${COMPARTMENT}` +
        `&displayName=TeamXInstances&volumeId=${VOLUME}\nhost: iaas.us-phoenix-1.oraclecloud.com`,
    )
    expect(headers.authorization).toBe(
      `Signature version="1",headers="date (request-target) host",keyId="${KEY_ID}",algorithm="rsa-sha256",` +
        'signature="GBas7grhyrhSKHP6AVIj/h5/Vp8bd/peM79H9Wv8kjoaCivujVXlpbKLjMPeDUhxkFIWtTtLBj3sUzaFj34XE6YZAHc9r2DmE4pMwOAy/' +
        'kiITcZxa1oHPOeRheC0jP2dqbTll8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M="',
    )
    expect(headers.date).toBe(DATE)
    expect(headers['x-content-sha256']).toBeUndefined()
  })

  it('signs the documented POST with its body headers byte for byte', () => {
    // Given the documented POST of a volume attachment (316 bytes of JSON)
    const request = {
      method: 'POST',
      url: 'https://iaas.us-phoenix-1.oraclecloud.com/20160918/volumeAttachments',
      body: Buffer.from(POST_BODY),
      date: DATE,
    }
    // When it is signed
    const headers = signOciRequest(request, key())
    // Then content-length, content-type and x-content-sha256 are signed, and the signature is the documentation's
    expect(headers['content-length']).toBe('316')
    expect(headers['x-content-sha256']).toBe('V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=')
    expect(
      ociSigningString(request, headers, ['date', '(request-target)', 'host', 'content-length', 'content-type', 'x-content-sha256']),
    ).toBe(
      `date: ${DATE}\n(request-target): post /20160918/volumeAttachments\nhost: iaas.us-phoenix-1.oraclecloud.com\n` +
        'content-length: 316\ncontent-type: application/json\nx-content-sha256: V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=',
    )
    expect(headers.authorization).toBe(
      `Signature version="1",headers="date (request-target) host content-length content-type x-content-sha256",keyId="${KEY_ID}",` +
        'algorithm="rsa-sha256",signature="Mje8vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/' +
        'Ml8DRhqlocMwoSXv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso="',
    )
  })

  it('an Object Storage upload signs no body headers', () => {
    // Given a PUT of an object whose body is sent unsigned
    const headers = signOciRequest(
      {method: 'PUT', url: 'https://objectstorage.us-phoenix-1.oraclecloud.com/n/ns/b/bucket/o/disk.qcow2', date: DATE, unsignedBody: true},
      key(),
    )
    // Then only date, (request-target) and host are signed
    expect(headers.authorization).toMatch(/^Signature version="1",headers="date \(request-target\) host",/)
    expect(headers['x-content-sha256']).toBeUndefined()
  })

  it('a key that is not a PEM private key is a usage error without the key in it', () => {
    const error = (() => {
      try {
        return ociPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END RSA PRIVATE KEY-----')
      } catch (e) {
        return e
      }
    })()
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).not.toContain('c2VjcmV0')
  })
})
