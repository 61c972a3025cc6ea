import {describe, expect, it} from 'vitest'

import {isTransient, retry} from './retry.js'

describe('retry', () => {
  it('retries until success, backing off with doubling delays', async () => {
    const delays: number[] = []
    let calls = 0
    const result = await retry(
      async () => {
        calls++
        if (calls < 3) throw Object.assign(new Error('reset'), {code: 'ECONNRESET'})
        return 'ok'
      },
      {baseDelayMs: 10, random: () => 1, onRetry: (_e, _a, d) => delays.push(d)},
    )
    expect(result).toBe('ok')
    expect(calls).toBe(3)
    expect(delays).toEqual([10, 20])
  })

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0
    await expect(retry(async () => Promise.reject(new Error(`fail ${++calls}`)), {attempts: 3, baseDelayMs: 1})).rejects.toThrow('fail 3')
    expect(calls).toBe(3)
  })

  it('does not retry an error that is not retryable', async () => {
    let calls = 0
    await expect(retry(async () => Promise.reject(new Error(`fatal ${++calls}`)), {retryable: () => false})).rejects.toThrow('fatal 1')
  })

  it('caps the delay', async () => {
    const delays: number[] = []
    await retry(async (a) => (a < 4 ? Promise.reject(new Error('x')) : 1), {
      baseDelayMs: 4,
      maxDelayMs: 10,
      random: () => 1,
      onRetry: (_e, _a, d) => delays.push(d),
    })
    expect(delays).toEqual([4, 8, 10])
  })
})

describe('isTransient', () => {
  it.each([
    [{code: 'ECONNRESET'}, true],
    [{statusCode: 503}, true],
    [{$metadata: {httpStatusCode: 429}}, true],
    [{name: 'ThrottlingException'}, true],
    [{statusCode: 404}, false],
    [{statusCode: 403}, false],
    [new Error('plain'), false],
  ])('%o → %s', (error, expected) => {
    expect(isTransient(error)).toBe(expected)
  })
})
