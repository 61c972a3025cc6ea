import {describe, expect, it} from 'vitest'

import {indexScope, pruneLimits} from './options.js'

describe('plume options', () => {
  it('maps plume index flags: "all" means every channel or the whole tree', () => {
    // Given the defaults of plume index / Then every channel's whole tree is indexed, for real
    expect(indexScope({channel: 'all', board: 'all'})).toEqual({channels: undefined, boards: undefined, dryRun: false, force: false})
    // Given one channel and board, dry / Then only those
    expect(indexScope({channel: 'beta', board: 'arm64-usr', 'dry-run': true, force: true})).toEqual({
      channels: ['beta'],
      boards: ['arm64-usr'],
      dryRun: true,
      force: true,
    })
  })

  it('maps plume prune flags to its limits by name', () => {
    expect(pruneLimits({days: 30, 'keep-last': 2, 'days-soft-deleted': 7, 'dry-run': true})).toEqual({
      days: 30,
      keepLast: 2,
      daysLastLaunched: undefined,
      checkLastLaunched: undefined,
      daysSoftDeleted: 7,
      dryRun: true,
    })
  })
})
