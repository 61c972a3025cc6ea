import {describe, expect, it} from 'vitest'

import {BugError, CheckFailedError, exitCodeOf, InfraError, isMantleError, oneLine, UsageError} from './errors.js'

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
})
