import {randomBytes} from 'node:crypto'

import {serviceEnv} from '@mantle/test-utils'
import {afterAll, describe, expect, it} from 'vitest'

import {kubeTestContext, type KubeTestContext} from './kube-test.js'

/** The cluster-test context on the running local cluster (.services/kube.env): a Deployment becomes available; a Job with a ConfigMap volume completes. */
const {available} = serviceEnv(['KUBECONFIG', 'MANTLE_KUBE_KUBECTL'])
const namespace = `kola-ctx-${randomBytes(4).toString('hex')}`
const silent = {
  debug: () => undefined,
  info: () => undefined,
  notice: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as never
let k: KubeTestContext | undefined

afterAll(async () => {
  await k?.kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined)
})

describe.skipIf(!available)('cluster test context on the real local cluster', () => {
  it(
    'kubectl, apply and waitReady: a Deployment becomes available and a Job with a ConfigMap volume completes',
    {timeout: 5 * 60_000},
    async () => {
      // Given a context on a fresh namespace
      k = await kubeTestContext({
        kubeconfig: process.env.KUBECONFIG ?? '',
        namespace,
        kubectl: process.env.MANTLE_KUBE_KUBECTL ?? 'kubectl',
        env: process.env,
        logger: silent,
        signal: new AbortController().signal,
      })
      await k.kubectl(['create', 'namespace', namespace])
      // When a Deployment is applied and the test waits for the cluster
      await k.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: web, image: mantle.local/busybox:local, imagePullPolicy: Never, command: [sleep, "100000"]}]
`)
      await k.waitReady()
      // Then it is available
      expect(await k.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}'])).toBe('1')
      // When a Job reads a ConfigMap volume
      await k.apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: data}
data: {greeting: hello-volume}
---
apiVersion: batch/v1
kind: Job
metadata: {name: reader}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      volumes: [{name: d, configMap: {name: data}}]
      containers: [{name: r, image: mantle.local/busybox:local, imagePullPolicy: Never, command: [cat, /d/greeting], volumeMounts: [{name: d, mountPath: /d}]}]
`)
      await k.kubectl(['wait', '--for=condition=complete', 'job/reader', '--timeout=180s'])
      // Then it completed and printed the ConfigMap's value
      expect(await k.kubectl(['logs', 'job/reader'])).toBe('hello-volume')
    },
  )
})
