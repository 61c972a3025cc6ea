import {describe, expect, it} from 'vitest'

import {ExitCode, isMantleError} from '@mantle/kit'

import {imagePath} from './compute.js'

// kola's --gce-image takes what flatcar/mantle platform/api/gcloud/api.go takes: a short name
// (in the project), a path starting with projects/, or the full API URL; plus image families.
describe('gce image references', () => {
  it('Given a short name, a projects/ path, a family or a full URL, when resolved, then each is the path under compute/v1', () => {
    expect(imagePath('flatcar-stable-4000-0-0', 'p1')).toBe('projects/p1/global/images/flatcar-stable-4000-0-0')
    expect(imagePath('projects/kinvolk-public/global/images/family/flatcar-alpha', 'p1')).toBe(
      'projects/kinvolk-public/global/images/family/flatcar-alpha',
    )
    expect(imagePath('https://www.googleapis.com/compute/v1/projects/p2/global/images/img-1', 'p1')).toBe('projects/p2/global/images/img-1')
  })

  it('Given something that is no image reference, when resolved, then a usage error (exit 2) says what is taken', () => {
    const error = (() => {
      try {
        return imagePath('Not An Image', 'p1')
      } catch (e) {
        return e
      }
    })()
    expect(isMantleError(error) && error.exitCode).toBe(ExitCode.Usage)
    expect((error as Error).message).toBe('gce: cannot read the image reference "Not An Image"')
  })
})
