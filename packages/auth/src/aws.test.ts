import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, UsageError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {resolveAws} from './aws.js'

const CREDENTIALS = `[default]
aws_access_key_id = AKIADEFAULT0000001
aws_secret_access_key = default-secret-abcdefghijklmnop

[release]
aws_access_key_id = AKIARELEASE000002
aws_secret_access_key = release-secret-qrstuvwxyz012345
aws_session_token = release-token-6789abcdefghij
`
const CONFIG = `[default]
region = us-west-2

[profile release]
region = eu-central-1
`

describe('resolveAws', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.aws'))
    await writeFile(join(home, '.aws', 'credentials'), CREDENTIALS, {mode: 0o600})
    await writeFile(join(home, '.aws', 'config'), CONFIG, {mode: 0o600})
  })
  afterEach(() => cleanup())

  const resolve = (opts: Partial<Parameters<typeof resolveAws>[0]> = {}) => {
    const cap = captureLogger()
    return {cap, result: resolveAws({env: {}, home, logger: cap.logger, redactor: cap.redactor, ...opts})}
  }

  it('resolves the default profile from ~/.aws with its region', async () => {
    const {result, cap} = resolve()
    const auth = await result
    expect(auth.credentials).toEqual({
      accessKeyId: 'AKIADEFAULT0000001',
      secretAccessKey: 'default-secret-abcdefghijklmnop',
      sessionToken: undefined,
    })
    expect(auth.region).toBe('us-west-2')
    expect(auth.source).toBe(join(home, '.aws', 'credentials'))
    expect(cap.redactor.redact('x default-secret-abcdefghijklmnop y')).toBe('x *** y')
  })

  it('resolves a named profile with session token and its config region', async () => {
    const auth = await resolve({profile: 'release'}).result
    expect(auth.credentials).toEqual({
      accessKeyId: 'AKIARELEASE000002',
      secretAccessKey: 'release-secret-qrstuvwxyz012345',
      sessionToken: 'release-token-6789abcdefghij',
    })
    expect(auth.region).toBe('eu-central-1')
  })

  it('takes the profile from AWS_PROFILE and the region flag over the file', async () => {
    const auth = await resolve({env: {AWS_PROFILE: 'release'}, region: 'ap-south-1'}).result
    expect(auth.accessKeyId).toBe('AKIARELEASE000002')
    expect(auth.region).toBe('ap-south-1')
  })

  it('uses static keys from flags, and refuses one without the other', async () => {
    const auth = await resolve({accessKeyId: 'AKIAFLAG', secretAccessKey: 'flag-secret-123456'}).result
    expect(auth.source).toBe('flags')
    await expect(resolve({accessKeyId: 'AKIAFLAG'}).result).rejects.toThrow(/--access-id and --secret-key must be given together/)
  })

  it('reads credentials from the environment when no file or profile is asked for', async () => {
    const auth = await resolve({env: {AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret-abcdef'}}).result
    expect(auth.source).toBe('environment')
    expect(auth.accessKeyId).toBe('AKIAENV')
  })

  it('fails with one line naming the file when --credentials-file is missing', async () => {
    const file = join(home, 'nope')
    const error = await resolve({credentialsFile: file}).result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`aws credentials ${file} (profile "default"): file not found`)
  })

  it('fails naming file and profile when the profile is missing', async () => {
    const error = await resolve({profile: 'nosuch'}).result.catch((e: unknown) => e)
    expect((error as Error).message).toBe(
      `aws credentials ${join(home, '.aws', 'credentials')} (profile "nosuch"): profile not found (profiles in file: default, release)`,
    )
    expect((error as UsageError).exitCode).toBe(2)
  })

  it('fails naming the line of a malformed file', async () => {
    await writeFile(join(home, '.aws', 'credentials'), '[default]\nthis line has no equals sign\n', {mode: 0o600})
    const error = await resolve().result.catch((e: unknown) => e)
    expect((error as Error).message).toBe(
      `aws credentials ${join(home, '.aws', 'credentials')}: malformed INI at line 2 (expected [section] or key = value)`,
    )
    expect((error as UsageError).exitCode).toBe(2)
  })

  it('fails when a profile has only half a key pair', async () => {
    await writeFile(join(home, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAHALF\n', {mode: 0o600})
    await expect(resolve().result).rejects.toThrow(/needs both aws_access_key_id and aws_secret_access_key/)
  })

  it('warns when the credentials file is readable by group or others', async () => {
    await chmod(join(home, '.aws', 'credentials'), 0o644)
    const {result, cap} = resolve()
    await result
    expect(cap.lines.join('')).toMatch(/credentials is readable by group or others; run: chmod 600/)
  })

  it('does not warn for a private file', async () => {
    const {result, cap} = resolve()
    await result
    expect(cap.lines.join('')).not.toMatch(/readable by group/)
  })
})
