import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'
import {captureLogger, makeTempDir} from '@mantle/test-utils'

import {ociAuth} from './oci.js'

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nb2NpLXRlc3Qta2V5LWJvZHk=\n-----END RSA PRIVATE KEY-----\n'
const PROFILE = {tenancy: 'ocid1.tenancy.oc1..t', user: 'ocid1.user.oc1..u', fingerprint: 'aa:bb:cc', region: 'eu-frankfurt-1'}

describe('oci credentials', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
  })
  afterEach(() => cleanup())
  const resolve = (env: NodeJS.ProcessEnv = {}, input: {file?: string; profile?: string} = {}) => {
    const cap = captureLogger()
    return {cap, result: ociAuth(input, {env, home, logger: cap.logger, redactor: cap.redactor})}
  }

  it('Given ~/.config/oci.json with a key_file under ~, when resolved, then the key is read and redacted', async () => {
    await writeFile(join(home, 'api.pem'), PEM, {mode: 0o600})
    await writeFile(
      join(home, '.config', 'oci.json'),
      JSON.stringify({default: {...PROFILE, key_file: '~/api.pem', compartment: 'ocid1.compartment.oc1..c'}}),
      {
        mode: 0o600,
      },
    )
    const {cap, result} = resolve()
    expect(await result).toEqual({...PROFILE, key: PEM, pass_phrase: undefined, compartment: 'ocid1.compartment.oc1..c'})
    expect(cap.redactor.redact(`x ${PEM} y`)).toBe('x *** y')
  })

  it("Given the OCI CLI's OCI_CLI_* variables and no file, when resolved, then they are used", async () => {
    const r = await resolve({
      OCI_CLI_TENANCY: PROFILE.tenancy,
      OCI_CLI_USER: PROFILE.user,
      OCI_CLI_FINGERPRINT: PROFILE.fingerprint,
      OCI_CLI_REGION: PROFILE.region,
      OCI_CLI_KEY_CONTENT: PEM,
    }).result
    expect(r).toMatchObject({...PROFILE, key: PEM})
  })

  it('Given a key_file that does not exist, when resolved, then one line names the file, exit 2', async () => {
    await writeFile(join(home, '.config', 'oci.json'), JSON.stringify({ci: {...PROFILE, key_file: join(home, 'gone.pem')}}), {mode: 0o600})
    const error = await resolve({}, {profile: 'ci'}).result.catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`oci credentials ${join(home, 'gone.pem')}: file not found`)
  })

  it('Given a key that is not PEM, when resolved, then exit 2 without the key in the message', async () => {
    const file = join(home, 'oci.json')
    await writeFile(file, JSON.stringify({default: {...PROFILE, key: 'not-a-pem-secret-0001'}}), {mode: 0o600})
    const error = await resolve({}, {file}).result.catch((e: unknown) => e)
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe(`oci credentials ${file} (profile "default"): the API signing key is not a PEM private key`)
  })
})
