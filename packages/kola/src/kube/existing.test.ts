import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

/**
 * The kubeconfig deployer on the project's running cluster
 * (scripts/services/kube.sh: KUBECONFIG and MANTLE_KUBE_KUBECTL in
 * .services/kube.env): kola never starts or stops it, and removes only the
 * namespace it made for the run.
 */
const kubeconfig = process.env.KUBECONFIG
const kubectl = process.env.MANTLE_KUBE_KUBECTL
const available = Boolean(kubeconfig && kubectl && existsSync(kubeconfig))
if (process.env.CI && !available)
  throw new Error('KUBECONFIG/MANTLE_KUBE_KUBECTL missing: start scripts/services/kube.sh first (CI must run these tests)')

let tmp: {dir: string; cleanup: () => Promise<void>}
beforeAll(async () => {
  tmp = await makeTempDir()
})
afterAll(async () => {
  await tmp?.cleanup()
})

const k = (...args: string[]): string => execFileSync(kubectl!, ['--kubeconfig', kubeconfig!, ...args], {encoding: 'utf8'})

describe.skipIf(!available)('kola kube exec --deployer kubeconfig (the service cluster)', () => {
  it('runs the script on the existing cluster, dumps only the run namespace, deletes only it', {timeout: 5 * 60_000}, async () => {
    // Given someone else's namespace on the cluster
    const theirs = `theirs-${process.pid}`
    k('create', 'namespace', theirs)
    try {
      const job = join(tmp.dir, 'job.yaml')
      await writeFile(
        job,
        'apiVersion: batch/v1\nkind: Job\nmetadata: {name: hi}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: hi, image: "mantle.local/busybox:local", command: [echo, hi from the existing cluster]}\n',
      )
      const script = join(tmp.dir, 'test.sh')
      await writeFile(
        script,
        `#!/bin/sh\nset -e\n${kubectl} -n "$KOLA_NAMESPACE" apply -f ${job}\n${kubectl} -n "$KOLA_NAMESPACE" wait --for=condition=complete job/hi --timeout=120s\necho "$KOLA_NAMESPACE" > "$ARTIFACTS/ns"\n`,
      )
      await chmod(script, 0o755)
      const out = join(tmp.dir, 'out')

      // When kola runs it with the kubeconfig deployer
      const result = await runCli(
        'kola',
        ['kube', 'exec', '--deployer', 'kubeconfig', '--kubeconfig', kubeconfig!, '--output-dir', out, '--', script],
        {env: isolatedEnv(join(tmp.dir, 'home'))},
      )

      // Then it passed, only the run's namespace was dumped, and only it is being deleted
      expect(result.stderr).not.toMatch(/error/)
      expect(result.code).toBe(0)
      const ns = (await readFile(join(out, 'artifacts', 'ns'), 'utf8')).trim()
      expect(readdirSync(join(out, 'logs', 'cluster'))).toEqual([ns])
      const podLog = readdirSync(join(out, 'logs', 'cluster', ns)).find((f) => f.startsWith('hi-') && f.endsWith('_hi.log'))
      expect(await readFile(join(out, 'logs', 'cluster', ns, podLog!), 'utf8')).toBe('hi from the existing cluster\n')
      const phase = k('get', 'namespace', ns, '--ignore-not-found', '-o', 'jsonpath={.status.phase}')
      expect(['', 'Terminating']).toContain(phase)
      expect(k('get', 'namespace', theirs, '-o', 'jsonpath={.status.phase}')).toBe('Active')
      expect(k('get', 'nodes', '-o', 'name')).toBe('node/localhost\n')
    } finally {
      k('delete', 'namespace', theirs, '--wait=false')
    }
  })
})
