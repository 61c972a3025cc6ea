import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/**
 * The real CLI with bad input: each case is one line on stderr and the exit
 * code of the table. STS is a local server (AWS_ENDPOINT_URL_STS), so the
 * preflight runs for real without the network or ambient credentials.
 */
describe('ore aws: bad input', () => {
  let home: string
  let cleanup: () => Promise<void>
  let sts: Server
  let stsUrl: string
  let stsAnswer: 'ok' | 'invalid-token' = 'ok'

  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.aws'))
    await writeFile(
      join(home, '.aws', 'credentials'),
      '[default]\naws_access_key_id = AKIATESTCLI000001\naws_secret_access_key = cli-secret-0123456789abcdefgh\n',
      {mode: 0o600},
    )
    sts = createServer((req, res) => {
      req.resume().on('end', () => {
        if (stsAnswer === 'ok') {
          res
            .writeHead(200, {'content-type': 'text/xml'})
            .end(
              '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDATEST</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
            )
        } else {
          res
            .writeHead(403, {'content-type': 'text/xml'})
            .end(
              '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r2</RequestId></ErrorResponse>',
            )
        }
      })
    })
    await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve))
    stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    sts.close()
    await cleanup()
  })

  const ore = (args: string[]) =>
    runCli('ore', args, {env: isolatedEnv(home, {AWS_ENDPOINT_URL_STS: stsUrl, AWS_EC2_METADATA_DISABLED: 'true'})})

  it('a missing credentials file: exit 2, one line naming it', async () => {
    const r = await ore(['aws', 'list-regions', '--region', 'us-west-2', '--credentials-file', join(home, 'nope')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `ore: error: aws credentials ${join(home, 'nope')} (profile "default"): file not found (check the path given to --credentials-file)`,
    )
  })

  it('an unknown region: exit 2, one line', async () => {
    const r = await ore(['aws', 'gc', '--region', 'nowhere'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      'ore: error: aws: unknown region "nowhere" (regions look like us-east-1; `ore aws list-regions` lists them)',
    )
  })

  it('a missing file to upload: exit 2, one line, before any cloud call', async () => {
    const r = await ore([
      'aws',
      'upload',
      '--region',
      'us-west-2',
      '--bucket',
      's3://staging',
      '--name',
      'test-image',
      '--file',
      join(home, 'missing.bin'),
    ])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`ore: error: cannot read ${join(home, 'missing.bin')}: ENOENT (check the path given to --file)`)
  })

  it('credentials AWS rejects: the preflight says so in one line, exit 2', async () => {
    stsAnswer = 'invalid-token'
    const r = await ore(['aws', 'gc', '--region', 'us-west-2'])
    stsAnswer = 'ok'
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(
      /^ore: error: sts getCallerIdentity: AWS rejected the credentials \(InvalidClientTokenId: The security token included in the request is invalid\.\) \(check --profile/,
    )
    expect(r.stderr).not.toContain('cli-secret-0123456789abcdefgh')
  })

  it('a bad --duration: exit 2 before any call', async () => {
    const r = await ore(['aws', 'gc', '--region', 'us-west-2', '--duration', 'soon'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('ore: error: invalid duration "soon" (use a number with a unit, e.g. 30m, 5h, 1h30m, 2d)')
  })
})
