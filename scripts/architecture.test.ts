import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ESLint} from 'eslint'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The architectural rules of eslint.config.js, proven to fire: each case is a
 * small file written to a temporary tree that mirrors the repository's layout
 * (the rules are keyed on paths), linted with the repository's configuration
 * through ESLint's Node API. A rule that silently stopped matching fails here.
 */
describe('eslint architecture rules', () => {
  let dir: string
  let eslint: ESLint
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mantle-lint-'))
    eslint = new ESLint({cwd: dir, overrideConfigFile: join(root, 'eslint.config.js')})
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  async function lint(path: string, code: string): Promise<string[]> {
    await mkdir(dirname(join(dir, path)), {recursive: true})
    await writeFile(join(dir, path), code)
    const [result] = await eslint.lintFiles([path])
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`)
  }

  it.each([
    ['packages/ore/src/commands/aws/x.ts', "import {makeTestKey} from '@mantle/kit/verify/testing'\nexport const k = makeTestKey\n"],
    ['packages/kit/src/x.ts', "import {startMirrorServer} from './storage/testing/mirror-server.js'\nexport const s = startMirrorServer\n"],
    ['packages/plume/src/services/x.ts', "import {runCli} from '@mantle/test-utils'\nexport const r = runCli\n"],
    ['packages/cloud/src/aws/x.ts', "import {useRecordedHttp} from '../testing.js'\nexport const u = useRecordedHttp\n"],
    ['packages/cork/src/x.ts', "import {vi} from 'vitest'\nexport const v = vi\n"],
    ['packages/gangue/bin/run.js', "import {makeTempDir} from '@mantle/test-utils'\nawait makeTempDir()\n"],
    ['packages/ore/src/services/x.ts', "export const load = () => import('@mantle/cloud/testing')\n"],
    ['packages/cork/bin/x.cjs', "module.exports = require('../dist/testing/testbed.js')\n"],
  ])('Given %s importing a test helper, when linted, then it is reported', async (path, code) => {
    expect(await lint(path, code)).toEqual([expect.stringMatching(/^no-restricted-(imports|syntax): .*test helpers are for tests only/)])
  })

  it('Given a test, a testing helper or test-utils importing test helpers, when linted, then nothing is reported', async () => {
    expect(
      await lint(
        'packages/ore/src/commands/x.test.ts',
        "import {runCli} from '@mantle/test-utils'\nimport {it} from 'vitest'\nit('x', () => runCli)\n",
      ),
    ).toEqual([])
    expect(
      await lint(
        'packages/cork/src/testing/x.ts',
        "import {makeTestKey} from '@mantle/kit/verify/testing'\nexport const k = makeTestKey\n",
      ),
    ).toEqual([])
    expect(await lint('packages/test-utils/src/x.ts', "import nock from 'nock'\nexport const n = nock\n")).toEqual([])
  })

  it.each([
    ['packages/ore/src/commands/x.ts', "import {Flags} from '@oclif/core'\nexport const f = Flags\n"],
    ['packages/auth/src/x.ts', "import type {Command} from '@oclif/core'\nexport type C = Command\n"],
    ['packages/cork/bin/run.cjs', "const {execute} = require('@oclif/core')\nmodule.exports = execute\n"],
    ['packages/kola/bin/run.js', "const {execute} = await import('@oclif/core/lib/main.js')\nexport default execute\n"],
  ])('Given %s importing @oclif/core outside the kit, when linted, then it is reported', async (path, code) => {
    // Declarations through no-restricted-imports; require() and import() through no-restricted-syntax.
    expect(await lint(path, code)).toEqual([expect.stringMatching(/^no-restricted-(imports|syntax): .*take oclif .* from @mantle\/kit/)])
  })

  it('Given the kit importing @oclif/core, when linted, then nothing is reported', async () => {
    expect(await lint('packages/kit/src/y.ts', "import type * as Oclif from '@oclif/core'\nexport type O = typeof Oclif\n")).toEqual([])
  })

  it.each([
    ['packages/ore/src/commands/aws/y.ts', "import {S3Client} from '@aws-sdk/client-s3'\nexport const c = S3Client\n"],
    ['packages/plume/src/services/y.ts', "import type {Storage} from '@google-cloud/storage'\nexport type S = Storage\n"],
    [
      'packages/kola/src/platform/y.ts',
      "import {DefaultAzureCredential} from '@azure/identity'\nexport const d = DefaultAzureCredential\n",
    ],
    ['packages/kit/src/download/y.ts', "import {BlobServiceClient} from '@azure/storage-blob'\nexport const b = BlobServiceClient\n"],
    ['packages/gangue/src/services/y.ts', "import {google} from 'googleapis'\nexport const g = google\n"],
    ['packages/cork/src/y.mjs', "import {GoogleAuth} from 'google-auth-library'\nexport const a = GoogleAuth\n"],
    ['packages/plume/src/services/lazy.ts', "export const ec2 = async () => (await import('@aws-sdk/client-ec2')).EC2Client\n"],
  ])('Given %s importing a cloud SDK outside cloud, auth and kit storage, when linted, then it is reported', async (path, code) => {
    expect(await lint(path, code)).toEqual([
      expect.stringMatching(/^no-restricted-(imports|syntax): .*cloud SDKs belong in packages\/cloud/),
    ])
  })

  it('Given cloud, auth and the kit storage importing cloud SDKs, when linted, then nothing is reported', async () => {
    expect(
      await lint('packages/cloud/src/aws/z.ts', "import type {S3Client} from '@aws-sdk/client-s3'\nexport type C = S3Client\n"),
    ).toEqual([])
    expect(
      await lint('packages/auth/src/z.ts', "import type {TokenCredential} from '@azure/identity'\nexport type T = TokenCredential\n"),
    ).toEqual([])
    expect(
      await lint('packages/kit/src/storage/z.ts', "import type {Storage} from '@google-cloud/storage'\nexport type S = Storage\n"),
    ).toEqual([])
  })

  it.each([
    ['packages/plume/src/services/z.ts', 'export const region = process.env.AWS_REGION\n', 'process.env'],
    ['packages/ore/src/commands/z.ts', 'export const here = process.cwd()\n', 'process.cwd'],
    ['packages/kola/src/harness/z.ts', 'export const args = process.argv.slice(2)\n', 'process.argv'],
    ['packages/kit/src/storage/z.js', 'export const home = process.env.HOME\n', 'process.env'],
    ['packages/cork/src/z.cjs', 'module.exports = process.cwd()\n', 'process.cwd'],
  ])('Given %s reading %s, when linted, then it is reported', async (path, code, what) => {
    expect(await lint(path, code)).toEqual([
      expect.stringMatching(new RegExp(`^no-restricted-properties: '${what.replace('.', '\\.')}' is restricted.*this\\.context`)),
    ])
  })

  it('Given the base command, a bin and a test reading the environment, when linted, then nothing is reported', async () => {
    expect(await lint('packages/kit/src/base-command.ts', 'export const env = process.env\nexport const cwd = process.cwd()\n')).toEqual([])
    expect(await lint('packages/ore/bin/run.js', 'export const env = process.env\n')).toEqual([])
    expect(await lint('packages/ore/src/z.test.ts', 'export const env = process.env\n')).toEqual([])
  })

  it('Given a command parsing its argv again, when linted, then it is reported', async () => {
    const code =
      "import {BaseCommand} from '@mantle/kit'\nexport default class X extends BaseCommand<typeof X> {\n  async run(): Promise<void> {\n    const {argv} = await this.parse(X)\n    void argv\n  }\n}\n"
    expect(await lint('packages/gangue/src/commands/x.ts', code)).toEqual([
      expect.stringMatching(/^no-restricted-syntax: the base command parsed already/),
    ])
  })
})
