import {describe, expect, it} from 'vitest'

import {awsSessionInput, gcOptions, keyValues} from './options.js'

const noAwsFlags = {profile: undefined, 'credentials-file': undefined, 'access-id': undefined, 'secret-key': undefined, region: undefined}

describe('ore options', () => {
  it('Given only AWS_ENDPOINT_URL, when the aws session input is made, then the staging S3 endpoint is that URL, as for every S3 path', () => {
    expect(awsSessionInput(noAwsFlags, {AWS_ENDPOINT_URL: 'http://127.0.0.1:7480'}).s3Endpoint).toBe('http://127.0.0.1:7480')
  })

  it('Given --s3-endpoint, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL, when resolved, then the flag wins, then the S3-specific variable', () => {
    const env = {AWS_ENDPOINT_URL_S3: 'http://s3.local', AWS_ENDPOINT_URL: 'http://all.local'}
    expect(awsSessionInput({...noAwsFlags, 's3-endpoint': 'http://flag.local'}, env).s3Endpoint).toBe('http://flag.local')
    expect(awsSessionInput(noAwsFlags, env).s3Endpoint).toBe('http://s3.local')
    expect(awsSessionInput(noAwsFlags, {}).s3Endpoint).toBeUndefined()
  })

  it('Given credential flags, when mapped, then they land in the typed AWS input', () => {
    expect(awsSessionInput({...noAwsFlags, profile: 'release', region: 'us-west-2'}, {}).auth).toEqual({profile: 'release', region: 'us-west-2', credentialsFile: undefined, accessKeyId: undefined, secretAccessKey: undefined})
  })

  it('Given gc flags, when mapped, then the duration is milliseconds and a bad one is a usage error', () => {
    expect(gcOptions({duration: '2h', 'dry-run': true})).toEqual({olderThanMs: 2 * 3600_000, dryRun: true})
    expect(() => gcOptions({duration: 'soon', 'dry-run': false})).toThrow(/invalid duration "soon"/)
  })

  it('Given key=value flags, when mapped, then a map; a value without "=" is a usage error naming the flag', () => {
    expect(keyValues(['a=1', 'b=x=y'], 'tags')).toEqual({a: '1', b: 'x=y'})
    expect(() => keyValues(['novalue'], 'tags')).toThrow('--tags "novalue" is not key=value')
  })
})
