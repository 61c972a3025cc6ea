import type {KolaTest, TestCluster} from './test.js'

/**
 * The built-in cluster suite (pluton's tests): what every cluster kola gives
 * tests must do. Its image is the local cluster's mantle.local/busybox:local,
 * never pulled (the local deployer loads it unless --local-images leaves it
 * out; another cluster needs it imported on its nodes).
 */
const IMAGE = 'mantle.local/busybox:local'
const CONTAINER = `image: ${IMAGE}, imagePullPolicy: Never`

export function kubeTests(): KolaTest[] {
  return [
    {
      name: 'kube.deployment',
      description: 'A Deployment becomes available (a node schedules and runs its pod)',
      kube: {},
      tags: ['kube'],
      timeoutMs: 5 * 60_000,
      run: async (c) => {
        const k = c.kube
        await k.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: web, ${CONTAINER}, command: [sleep, "100000"]}]
`)
        await k.waitReady(4 * 60_000)
        const available = await k.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}'])
        if (available !== '1') c.fatal(`deployment web has ${JSON.stringify(available)} available replicas, want 1`)
      },
    },
    {
      name: 'kube.job-configmap',
      description: 'A Job reading a ConfigMap volume completes and prints its value',
      kube: {},
      tags: ['kube'],
      timeoutMs: 5 * 60_000,
      run: async (c) => {
        const k = c.kube
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
      containers: [{name: r, ${CONTAINER}, command: [cat, /d/greeting], volumeMounts: [{name: d, mountPath: /d}]}]
`)
        await waitJob(c, 'reader')
        const log = await k.kubectl(['logs', 'job/reader'])
        if (log !== 'hello-volume') c.fatal(`job reader printed ${JSON.stringify(log)}, want "hello-volume"`)
      },
    },
    {
      name: 'kube.service',
      description: "A Service's ClusterIP answers from another pod (needs kube-proxy; skipped with the reason where the cluster runs none)",
      kube: {},
      tags: ['kube'],
      timeoutMs: 5 * 60_000,
      run: async (c) => {
        const k = c.kube
        // kube-proxy runs as pods (a DaemonSet of kubeadm, GKE, EKS and AKS; static pods elsewhere): by name, in any namespace.
        const pods = (await k.kubectl(['get', 'pods', '--all-namespaces', '-o', 'jsonpath={.items[*].metadata.name}'])).split(/\s+/)
        if (!pods.some((p) => p.startsWith('kube-proxy')))
          c.skip('no kube-proxy pod on this cluster, so no Service ClusterIP routes (the local deployer runs none)')
        await k.apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: echo, ${CONTAINER}, command: [sh, -c, "mkdir -p /www && echo kola-service-answer > /www/index.html && exec httpd -f -p 8080 -h /www"]}
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 8080}]
`)
        await k.waitReady(4 * 60_000)
        const ip = await k.kubectl(['get', 'service', 'echo', '-o', 'jsonpath={.spec.clusterIP}'])
        await k.apply(`apiVersion: batch/v1
kind: Job
metadata: {name: client}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: client, ${CONTAINER}, command: [sh, -c, "for i in $(seq 60); do wget -qO- -T 5 http://${ip}:80/ && exit 0; sleep 1; done; exit 1"]}
`)
        await waitJob(c, 'client')
        const answer = (await k.kubectl(['logs', 'job/client'])).trim()
        if (answer !== 'kola-service-answer') c.fatal(`service echo (${ip}) answered ${JSON.stringify(answer)}`)
      },
    },
  ]
}

/** Waits for a Job to complete; a failed Job fails the test with its pod's log. */
async function waitJob(c: TestCluster, name: string): Promise<void> {
  const k = c.kube
  try {
    await k.kubectl(['wait', '--for=condition=complete', `job/${name}`, '--timeout=240s'])
  } catch (error) {
    const log = await k.kubectl(['logs', `job/${name}`]).catch(() => '(no log)')
    c.fatal(
      `job ${name} did not complete: ${error instanceof Error ? error.message : String(error)}; its log: ${log.trim().split('\n').at(-1)}`,
    )
  }
}
