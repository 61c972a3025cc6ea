import {describe, expect, it} from 'vitest'

import {BugError, CheckFailedError, exitCodeOf, InfraError, isMantleError, missingOptionalPeer, oneLine, UsageError} from './errors.js'

describe('errors', () => {
  it('each class carries the exit code of the table', () => {
    expect(exitCodeOf(new CheckFailedError('signature did not verify'))).toBe(1)
    expect(exitCodeOf(new UsageError('bad flag'))).toBe(2)
    expect(exitCodeOf(new InfraError('engine down'))).toBe(3)
    expect(exitCodeOf(new BugError('invariant'))).toBe(4)
  })

  it('an unknown error is a bug; an oclif parse error keeps its exit 2', () => {
    expect(exitCodeOf(new TypeError('x is undefined'))).toBe(4)
    expect(exitCodeOf(Object.assign(new Error('Nonexistent flag'), {oclif: {exit: 2}}))).toBe(2)
  })

  it('is recognised by brand, even from another copy of the package', () => {
    const foreign = Object.assign(new Error('from a duplicate copy'), {[Symbol.for('mantle.error')]: true, exitCode: 3})
    expect(isMantleError(foreign)).toBe(true)
    expect(exitCodeOf(foreign)).toBe(3)
    expect(isMantleError(new Error('plain'))).toBe(false)
  })

  it('oneLine keeps the first non-empty line', () => {
    expect(oneLine('\n  first line  \nsecond\n')).toBe('first line')
    expect(oneLine('')).toBe('unknown error')
    // oclif's exclusive/dependsOn errors: the reasons, not the heading
    expect(
      oneLine('The following error occurred:\n  --image=ami-1 cannot also be provided when using --name\nSee more help with --help'),
    ).toBe('--image=ami-1 cannot also be provided when using --name')
    expect(oneLine('The following errors occurred:\n  --a needs --b\n  --c needs --d\nSee more help with --help')).toBe(
      '--a needs --b; --c needs --d',
    )
  })

  it('oneLine keeps the reason a flag parser gave under oclif\'s "Parsing --flag" heading', () => {
    // Given the message oclif builds when Flags.integer refuses a value (@oclif/core lib/parser/parse.js)
    const message = 'Parsing --days \n\tExpected an integer but received: abc\nSee more help with --help'
    // Then the one line names the flag and the reason
    expect(oneLine(message)).toBe('--days: Expected an integer but received: abc')
  })

  describe('missingOptionalPeer', () => {
    // A tool's published package.json as scripts/pack.mjs writes kola's: SDKs as optional peers. The names are of
    // packages that are not installed anywhere, so that Node.js itself throws what it throws for kola's missing SDKs.
    const tool = {
      peerDependencies: {'@absent-sdk/client-sts': '^3.1169.0', '@absent-sdk/client-ec2': '^3.1169.0', 'absent-auth-library': '^11.0.0'},
      peerDependenciesMeta: {
        '@absent-sdk/client-sts': {optional: true},
        '@absent-sdk/client-ec2': {optional: true},
        'absent-auth-library': {optional: true},
      },
    }
    const notInstalled = async (name: string): Promise<Error> =>
      import(name).then(
        () => expect.fail(`${name} is installed`),
        (e: Error) => e,
      )

    it("turns a missing optional peer, even as a cloud module's cause, into a usage error that installs its cloud's SDKs", async () => {
      // Given what Node.js throws for a missing scoped SDK, wrapped as a cloud module's error
      const missing = await notInstalled('@absent-sdk/client-sts')
      expect((missing as Error & {code: string}).code).toBe('ERR_MODULE_NOT_FOUND')

      // When the base command maps it
      const error = missingOptionalPeer(new InfraError('aws: cannot call STS', {cause: missing}), 'kola', tool)

      // Then it is a usage error (exit 2) naming the package, whose hint installs every optional peer of that scope
      expect(error).toBeInstanceOf(UsageError)
      expect(error!.message).toBe(
        "this needs @absent-sdk/client-sts, which kola's install leaves out (it loads it only for the cloud that uses it)",
      )
      expect(error!.hint).toBe(
        "install it beside kola: npm install -g '@absent-sdk/client-sts@^3.1169.0' '@absent-sdk/client-ec2@^3.1169.0'",
      )
    })

    it('an unscoped one alone; a package that is not an optional peer, or any other error, stays as it was', async () => {
      expect(missingOptionalPeer(await notInstalled('absent-auth-library'), 'kola', tool)!.hint).toBe(
        "install it beside kola: npm install -g 'absent-auth-library@^11.0.0'",
      )
      expect(missingOptionalPeer(await notInstalled('@absent-sdk/client-iam'), 'kola', tool)).toBeUndefined()
      expect(missingOptionalPeer(await notInstalled('@absent-sdk/client-sts'), 'ore', {})).toBeUndefined()
      expect(missingOptionalPeer(new TypeError('x is undefined'), 'kola', tool)).toBeUndefined()
    })
  })
})
