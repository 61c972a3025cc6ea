import {describe, expect, it} from 'vitest'

import {NeverStarts} from './cluster.js'

type Pod = import('@kubernetes/client-node').V1Pod

/** A pod whose one container waits for `reason` (the shape of the kubelet's pod status). */
function waiting(reason: string, message: string): Pod {
  return {
    metadata: {name: 'job-1-abcde'},
    status: {
      phase: 'Pending',
      containerStatuses: [
        {name: 'test', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: {waiting: {reason, message}}},
      ],
    },
  }
}

describe('why a test pod never starts', () => {
  it('Given an image that cannot be pulled, when looked at once, then that is the verdict at once', () => {
    const starts = new NeverStarts(() => 0)
    expect(starts.check([waiting('ErrImagePull', 'pull access denied for does-not-exist')])).toBe(
      'ErrImagePull: pull access denied for does-not-exist',
    )
  })

  it('Given a ConfigMap cache the kubelet has not synced yet (seen in CI under load), when it clears within 30 s, then no verdict; when it lasts 30 s, then it is the verdict', () => {
    let now = 0
    const starts = new NeverStarts(() => now)
    const stuck = waiting('CreateContainerConfigError', 'failed to sync configmap cache: timed out waiting for the condition')
    expect(starts.check([stuck])).toBeUndefined()
    now = 29_000
    expect(starts.check([stuck])).toBeUndefined()
    // cleared (the container started): a later occurrence counts from its own start
    now = 30_000
    expect(starts.check([{metadata: {name: 'job-1-abcde'}, status: {phase: 'Running'}}])).toBeUndefined()
    now = 31_000
    expect(starts.check([stuck])).toBeUndefined()
    now = 61_000
    expect(starts.check([stuck])).toBe('CreateContainerConfigError: failed to sync configmap cache: timed out waiting for the condition')
  })

  it('Given a pod the scheduler cannot place, when it stays so for 30 s, then the verdict is Unschedulable with its message', () => {
    let now = 0
    const starts = new NeverStarts(() => now)
    const pod: Pod = {
      metadata: {name: 'job-2-fghij'},
      status: {
        conditions: [
          {type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.'},
        ],
      },
    }
    expect(starts.check([pod])).toBeUndefined()
    now = 30_000
    expect(starts.check([pod])).toBe('Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.')
  })

  it('Given a container still being created, when looked at for minutes, then it never is a verdict (the Job timeout decides)', () => {
    let now = 0
    const starts = new NeverStarts(() => now)
    const creating = waiting('ContainerCreating', '')
    for (; now <= 600_000; now += 60_000) expect(starts.check([creating])).toBeUndefined()
  })
})
