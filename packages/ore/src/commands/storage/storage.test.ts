import {existsSync} from 'node:fs'
import {mkdir, utimes, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli, serviceEnv} from '@mantle/test-utils'

const s3 = serviceEnv(['MANTLE_TEST_S3_ENDPOINT', 'MANTLE_TEST_S3_ACCESS_KEY', 'MANTLE_TEST_S3_SECRET_KEY', 'MANTLE_TEST_S3_BUCKET'])
const azure = serviceEnv(['MANTLE_TEST_AZURE_ENDPOINT', 'MANTLE_TEST_AZURE_ACCOUNT', 'MANTLE_TEST_AZURE_CONTAINER'])
const env = process.env

describe('ore storage index / sync (and the gcloud spellings)', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    for (const [k, v] of Object.entries({'site/a.txt': 'a\n', 'site/9/x.txt': 'x\n', 'site/10/y.txt': 'y\n'})) {
      await mkdir(join(home, k, '..'), {recursive: true})
      await writeFile(join(home, k), v)
    }
  })
  afterAll(() => cleanup())
  const ore = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli('ore', args, {env: isolatedEnv(home, extra), cwd: home})
  const oneLine = (stderr: string) =>
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('ore: error:'))

  it('Given a local tree, when indexed twice, then pages are written once and the second run writes nothing', async () => {
    const first = await ore(['storage', 'index', '-r', '-T', 'mirror', 'site/'])
    expect(first.code).toBe(0)
    expect(first.stdout).toBe('site/: 3 written, 0 deleted, 0 unchanged\n')
    const second = await ore(['gcloud', 'index', '-r', '-T', 'mirror', 'site/', '--json'])
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({dryRun: false, locations: [{url: 'site/', written: [], deleted: [], unchanged: 3}]})
  })

  it('Given temporary files of killed writes, when abort-uploads runs, then a dry run lists the old one as JSON, and a real run removes it and keeps the young one', async () => {
    // Given a write killed an hour ago and one still running
    await mkdir(join(home, 'up'), {recursive: true})
    const old = join(home, 'up', '.image.bin.mantle-partial-0a1b2c3d4e5f')
    const young = join(home, 'up', '.other.bin.mantle-partial-abcdefabcdef')
    await writeFile(old, 'half an image')
    await writeFile(young, 'still arriving')
    const hourAgo = new Date(Date.now() - 3_600_000)
    await utimes(old, hourAgo, hourAgo)

    // When abort-uploads runs as a dry run
    const dry = await ore(['storage', 'abort-uploads', 'up/', '--older-than', '30m', '--dry-run', '--json'])

    // Then it lists the old one only, and removes nothing
    expect(dry.code).toBe(0)
    const listed = JSON.parse(dry.stdout) as {dryRun: boolean; aborted: {key: string; id: string}[]; kept: {key: string}[]}
    expect(listed.dryRun).toBe(true)
    expect(listed.aborted.map((u) => [u.key.slice(home.length - 1), u.id])).toEqual([
      ['/up/image.bin', '.image.bin.mantle-partial-0a1b2c3d4e5f'],
    ])
    expect(listed.kept.map((u) => u.key.slice(home.length - 1))).toEqual(['/up/other.bin'])
    expect(existsSync(old)).toBe(true)

    // And a real run removes the old one and keeps the young one
    const real = await ore(['storage', 'abort-uploads', 'up/', '--older-than', '30m'])
    expect(real.code).toBe(0)
    expect(real.stdout).toMatch(/up\/: 1 incomplete upload\(s\) aborted, 1 younger than 30m kept\n$/)
    expect(existsSync(old)).toBe(false)
    expect(existsSync(young)).toBe(true)
  })

  it('Given a GCS URL, when abort-uploads runs, then one line says GCS sessions cannot be listed, exit 2', async () => {
    const r = await ore(['storage', 'abort-uploads', 'gs://releases/x/', '--json-key', 'none'])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toEqual([
      'ore: error: gs://releases/x/: GCS cannot list resumable upload sessions (each is cancelled by the process that began it, or expires after a week)',
    ])
  })

  it('Given a dry run, when syncing, then it says what it would do and writes nothing', async () => {
    const r = await ore(['storage', 'sync', '-r', '-n', '-I', 'site/', 'copy/'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('copy/: 3 to copy, 0 to delete, 0 unchanged; index pages: 3 to write, 0 to delete\n')
    const ls = await ore(['gcloud', 'sync', '-r', 'site/', 'copy/', '--json'])
    expect(JSON.parse(ls.stdout).copied).toHaveLength(3)
  })

  it.each([
    [['storage', 'index', 'gs:/releases'], /^ore: error: storage URL "gs:\/releases": expected "gs:\/\/"/],
    [['storage', 'sync', 'ftp://host/x', 'site/'], /^ore: error: storage URL "ftp:\/\/host\/x": unknown scheme "ftp:"/],
    [['gcloud', 'index', 'https://mirror.example.com/x/'], /^ore: error: https:\/\/mirror.example.com\/: an HTTP mirror cannot be listed/],
    [['storage', 'index', 'gs://releases/'], /^ore: error: gce credentials: none found/],
  ])('Given bad input %j, then one line and exit 2', async (args, message) => {
    const r = await ore(args)
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(message)
  })

  it('Given an endpoint where nothing listens, when indexing, then one line and exit 3', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as {port: number}).port
        srv.close(() => resolve(p))
      })
    })
    const r = await ore(
      [
        'storage',
        'index',
        '--s3-endpoint',
        `http://127.0.0.1:${port}`,
        '--access-id',
        'AKIA',
        '--secret-key',
        'secret-000000',
        's3://releases/',
      ],
      {AWS_MAX_ATTEMPTS: '1'},
    )
    expect(r.code).toBe(3)
    expect(oneLine(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^ore: error: s3:\/\/releases\/: ECONNREFUSED/)
  })

  describe.skipIf(!s3.available)('radosgw', () => {
    const flags = () => ['--s3-endpoint', env.MANTLE_TEST_S3_ENDPOINT!, '--access-id', env.MANTLE_TEST_S3_ACCESS_KEY!]

    it('Given a wrong secret key, when syncing, then access denied in one line, exit 2', async () => {
      const r = await ore([
        'storage',
        'sync',
        'site/',
        `s3://${env.MANTLE_TEST_S3_BUCKET}/cli/`,
        ...flags(),
        '--secret-key',
        'not-the-secret-key',
      ])
      expect(r.code).toBe(2)
      expect(oneLine(r.stderr)).toEqual([
        `ore: error: s3://${env.MANTLE_TEST_S3_BUCKET}/cli/: SignatureDoesNotMatch (check the AWS credentials (--profile, --access-id/--secret-key) and their permissions)`,
      ])
      expect(r.stderr).not.toContain('not-the-secret-key')
    })

    it('Given a missing bucket, when indexing, then one line, exit 2', async () => {
      const r = await ore(['storage', 'index', 's3://no-such-bucket-here/', ...flags(), '--secret-key', env.MANTLE_TEST_S3_SECRET_KEY!])
      expect(r.code).toBe(2)
      expect(oneLine(r.stderr)).toEqual([
        'ore: error: s3://no-such-bucket-here: no such bucket (check the bucket name and the endpoint (--s3-endpoint))',
      ])
    })

    it('Given good credentials, when syncing a tree with index pages, then it arrives and a re-run changes nothing', async () => {
      const dst = `s3://${env.MANTLE_TEST_S3_BUCKET}/cli-${Date.now()}/`
      const args = ['storage', 'sync', '-r', '-D', '-I', 'site/', dst, ...flags(), '--secret-key', env.MANTLE_TEST_S3_SECRET_KEY!]
      const first = await ore(args)
      expect(first.code).toBe(0)
      expect(first.stdout).toBe(`${dst}: 3 copy, 0 delete, 0 unchanged; index pages: 9 write, 0 delete\n`)
      const again = await ore(args)
      expect(again.stdout).toBe(`${dst}: 0 copy, 0 delete, 3 unchanged; index pages: 0 write, 0 delete\n`)
    })
  })

  describe.skipIf(!azure.available)('Azurite', () => {
    it('Given a wrong account key, when indexing, then access denied in one line, exit 2', async () => {
      const url = `az://${env.MANTLE_TEST_AZURE_ACCOUNT}/${env.MANTLE_TEST_AZURE_CONTAINER}/`
      const r = await ore(
        [
          'storage',
          'index',
          url,
          '--azure-storage-account',
          env.MANTLE_TEST_AZURE_ACCOUNT!,
          '--azure-blob-endpoint',
          env.MANTLE_TEST_AZURE_ENDPOINT!,
        ],
        {
          AZURE_STORAGE_KEY: Buffer.from('not the key at all, not at all').toString('base64'),
        },
      )
      expect(r.code).toBe(2)
      expect(oneLine(r.stderr)).toHaveLength(1)
      expect(r.stderr).toMatch(
        /^ore: error: az:\/\/devstoreaccount1\/mantle-test\/: AuthorizationFailure|AuthenticationFailed|access denied/,
      )
    })
  })
})
