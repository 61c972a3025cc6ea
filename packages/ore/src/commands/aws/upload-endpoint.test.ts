import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openBucket, type Bucket} from '@mantle/kit'
import {isolatedEnv, makeTempDir, runCli, serviceEnv} from '@mantle/test-utils'

const RADOSGW = ['MANTLE_TEST_S3_ENDPOINT', 'MANTLE_TEST_S3_ACCESS_KEY', 'MANTLE_TEST_S3_SECRET_KEY', 'MANTLE_TEST_S3_BUCKET'] as const
const service = serviceEnv(RADOSGW)
if (!service.available && process.env.CI)
  throw new Error(`radosgw is not running (missing ${service.missing.join(', ')}; scripts/services/radosgw.sh start)`)

/**
 * `ore aws upload` stages the image on S3 through the suite's one endpoint
 * resolution: with nothing but AWS_ENDPOINT_URL pointing at radosgw, the
 * staged object lands there (path-style) and is deleted after a failed import.
 * STS and EC2 cannot run here: they are local servers answering the query
 * protocol as AWS does (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_EC2, which the
 * SDK prefers to AWS_ENDPOINT_URL for their service), and EC2 refuses the
 * ImportSnapshot, after checking that the object is on radosgw.
 */
describe.skipIf(!service.available)('ore aws upload: the staging endpoint', () => {
  const env = process.env
  let home: string
  let cleanup: () => Promise<void>
  let servers: Server[] = []
  let ec2Url: string
  let stsUrl: string
  let bucket: Bucket
  const prefix = `ore-upload-${randomBytes(4).toString('hex')}`
  const key = `${prefix}/amd64-usr/image.bin`
  const seen: {action: string; objectThere?: boolean}[] = []

  async function listen(handler: (action: string) => Promise<{status: number; body: string}>): Promise<string> {
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        const action = new URLSearchParams(body).get('Action') ?? ''
        void handler(action).then(({status, body}) => res.writeHead(status, {'content-type': 'text/xml'}).end(body))
      })
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    bucket = await openBucket(`s3://${env.MANTLE_TEST_S3_BUCKET}/`, {
      s3: {
        endpoint: env.MANTLE_TEST_S3_ENDPOINT,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: {accessKeyId: env.MANTLE_TEST_S3_ACCESS_KEY!, secretAccessKey: env.MANTLE_TEST_S3_SECRET_KEY!},
      },
    })
    stsUrl = await listen(async () => ({
      status: 200,
      body: '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDATEST</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
    }))
    const ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
    ec2Url = await listen(async (action) => {
      switch (action) {
        case 'DescribeImages':
          seen.push({action})
          return {status: 200, body: `<DescribeImagesResponse ${ns}><requestId>r</requestId><imagesSet/></DescribeImagesResponse>`}
        case 'DescribeSnapshots':
          seen.push({action})
          return {status: 200, body: `<DescribeSnapshotsResponse ${ns}><requestId>r</requestId><snapshotSet/></DescribeSnapshotsResponse>`}
        case 'DescribeImportSnapshotTasks':
          seen.push({action})
          return {
            status: 200,
            body: `<DescribeImportSnapshotTasksResponse ${ns}><requestId>r</requestId><importSnapshotTaskSet/></DescribeImportSnapshotTasksResponse>`,
          }
        default:
          // ImportSnapshot (or anything else): note whether the staged object is on radosgw, then refuse.
          seen.push({action, objectThere: (await bucket.stat(key)) !== undefined})
          return {
            status: 400,
            body: '<Response><Errors><Error><Code>InvalidParameter</Code><Message>refused by the test</Message></Error></Errors><RequestID>r</RequestID></Response>',
          }
      }
    })
  })
  afterAll(async () => {
    for (const s of servers) s.close()
    servers = []
    await bucket?.delete(key).catch(() => undefined)
    await cleanup()
  })

  it('Given only AWS_ENDPOINT_URL naming radosgw, when uploading, then the image is staged there and deleted after the import fails', async () => {
    const file = join(home, 'image.bin')
    await writeFile(file, randomBytes(64 * 1024))

    const r = await runCli(
      'ore',
      [
        'aws',
        'upload',
        '--region',
        'us-east-1',
        '--bucket',
        `s3://${env.MANTLE_TEST_S3_BUCKET}/${prefix}`,
        '--file',
        file,
        '--name',
        'endpoint-test',
      ],
      {
        env: isolatedEnv(home, {
          AWS_ENDPOINT_URL: env.MANTLE_TEST_S3_ENDPOINT,
          AWS_ENDPOINT_URL_STS: stsUrl,
          AWS_ENDPOINT_URL_EC2: ec2Url,
          AWS_ACCESS_KEY_ID: env.MANTLE_TEST_S3_ACCESS_KEY,
          AWS_SECRET_ACCESS_KEY: env.MANTLE_TEST_S3_SECRET_KEY,
          AWS_EC2_METADATA_DISABLED: 'true',
        }),
      },
    )

    expect(seen.find((s) => s.action === 'ImportSnapshot')).toEqual({action: 'ImportSnapshot', objectThere: true})
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/refused by the test/)
    expect(await bucket.stat(key)).toBeUndefined()
  })
})
