import nock from 'nock'
import {afterEach, beforeAll, expect} from 'vitest'

/**
 * For suites that answer a cloud's REST calls with recorded shapes: no real
 * network (local test servers excepted), and every recorded answer must have
 * been asked for by the end of each test.
 */
export function useRecordedHttp(): void {
  beforeAll(() => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
  })
  afterEach(() => {
    const pending = nock.pendingMocks()
    nock.cleanAll()
    expect(pending).toEqual([])
  })
}
