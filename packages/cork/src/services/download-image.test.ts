import {describe, expect, it} from 'vitest'

import {imageRoot} from './download-image.js'
import type {SdkLayout} from './sdk/layout.js'

const layout: SdkLayout = {root: '/src', versions: {name: 'flatcar', os: '4000.1.0', sdk: '4000.0.0'}, board: 'arm64-usr', arch: 'arm64'}

describe('download-image --root', () => {
  it("names a channel's current release, as the original's shorthands did", () => {
    expect(imageRoot('stable', layout)).toBe('https://stable.release.flatcar-linux.net/arm64-usr/current')
    expect(imageRoot('lts', layout)).toBe('https://lts.release.flatcar-linux.net/arm64-usr/current')
  })

  it("passes a URL through, and defaults to the publisher's images of the OS version", () => {
    expect(imageRoot('gs://builds/boards/arm64-usr/4000.1.0', layout)).toBe('gs://builds/boards/arm64-usr/4000.1.0')
    expect(imageRoot(undefined, layout)).toBe('https://bincache.flatcar-linux.net/images/arm64/4000.1.0')
  })
})
