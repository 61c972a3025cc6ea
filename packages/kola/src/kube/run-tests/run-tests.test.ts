import {execFileSync} from 'node:child_process'
import {cp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {isolatedEnv, makeTempDir, runCli, serviceEnv} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {loadProject} from './project.js'

/**
 * `kola kube run-tests` on the real local cluster that scripts/services/kube.sh
 * runs (its .services/kube.env gives KUBECONFIG, kubectl and helm), through the
 * kubeconfig deployer: each run makes and removes only its own namespace.
 */
const EXAMPLE = fileURLToPath(new URL('../../../examples/kube-project', import.meta.url))
const {available} = serviceEnv(['KUBECONFIG', 'MANTLE_KUBE_KUBECTL', 'MANTLE_KUBE_HELM'])
const kubeconfig = process.env.KUBECONFIG ?? ''
const kubectl = process.env.MANTLE_KUBE_KUBECTL ?? 'kubectl'
const RUN_TIMEOUT = 6 * 60_000

let tmp: {dir: string; cleanup: () => Promise<void>}
beforeAll(async () => {
  tmp = await makeTempDir()
})
afterAll(async () => {
  await tmp?.cleanup()
})

function env(): NodeJS.ProcessEnv {
  return isolatedEnv(join(tmp.dir, 'home'), {MANTLE_KUBE_HELM: process.env.MANTLE_KUBE_HELM})
}

function runTests(out: string, project: string, ...extra: string[]) {
  return runCli(
    'kola',
    ['kube', 'run-tests', '--deployer', 'kubeconfig', '--kubeconfig', kubeconfig, '--output-dir', out, ...extra, project],
    {env: env()},
  )
}

/** The namespace's phase, or 'gone'. */
function namespacePhase(name: string): string {
  try {
    return execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'get', 'namespace', name, '-o', 'jsonpath={.status.phase}'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch {
    return 'gone'
  }
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /error/i.test(l))
}

async function copyExample(name: string): Promise<string> {
  const dir = join(tmp.dir, name)
  await cp(EXAMPLE, dir, {recursive: true})
  return dir
}

/** The example project with one file added fails with `code` and exactly one error line matching `pattern`, no stack. */
async function expectOneLineError(name: string, file: string[], content: string, code: number, pattern: RegExp): Promise<void> {
  const dir = await copyExample(name)
  await writeFile(join(dir, ...file), content)
  const r = await runTests(join(tmp.dir, `${name}-out`), dir)
  expect(r.code).toBe(code)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  const lines = errorLines(r.stderr)
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
}

describe('run-tests project settings (no cluster)', () => {
  it('an invalid settings file is a usage error naming the file, the path and the expectation', async () => {
    // Given the example project with a parallelism that is not a number and an unknown chart key
    const dir = await copyExample('bad-settings')
    await writeFile(join(dir, 'kola-tests.yaml'), 'parallelism: many\ntests: tests\n')
    // When kola loads it
    // Then the error names the file, the path in it and what the schema expects
    await expect(loadProject(dir, tmp.dir)).rejects.toThrow(`${join(dir, 'kola-tests.yaml')}: parallelism must be integer`)
    await writeFile(join(dir, 'kola-tests.yaml'), 'charts:\n  - name: web\n    chart: charts/greeter\n    valuez: [x.yaml]\n')
    await expect(loadProject(dir, tmp.dir)).rejects.toThrow(`${join(dir, 'kola-tests.yaml')}: charts[0].valuez is not a known setting`)
    await writeFile(join(dir, 'kola-tests.yaml'), 'charts:\n  - chart: charts/greeter\n')
    await expect(loadProject(dir, tmp.dir)).rejects.toThrow('charts[0].name is required')
  })

  it('the example project loads: two manifests, one chart with values, two Job tests and two script tests', async () => {
    const p = await loadProject(EXAMPLE, tmp.dir)
    expect(p.manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`)).toEqual(['ConfigMap/app-config', 'Deployment/app'])
    expect(p.settings.charts.map((c) => c.name)).toEqual(['greeter'])
    expect(p.tests.map((t) => `${t.name}:${t.kind}`)).toEqual([
      '01-config:job',
      '02-greeting:script',
      '03-fails:script',
      '04-bad-image:job',
    ])
  })
})

describe.skipIf(!available)('kola kube run-tests on the real local cluster', () => {
  it(
    'the example project: two pass, one fails with its log and exit code, one never starts with the reason; exit 1; namespace removed',
    {timeout: RUN_TIMEOUT},
    async () => {
      // Given the example project (two manifests, a local chart, four tests)
      const out = join(tmp.dir, 'example')

      // When kola runs it on the local cluster
      const result = await runTests(out, EXAMPLE)

      // Then it exits 1 and the table says which passed, which failed and why
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /)
      expect(result.code).toBe(1)
      const rows = Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => [l.split(/\s+/)[0], l]),
      )
      expect(rows['01-config']).toMatch(/PASS/)
      expect(rows['02-greeting']).toMatch(/PASS/)
      expect(rows['03-fails']).toMatch(/FAIL\s+\S+\s+exit code 3: expected 43, got 42/)
      // the bad image is reported from the pod's status (ErrImagePull / ImagePullBackOff), not as a timeout
      expect(rows['04-bad-image']).toMatch(/FAIL\s+\S+\s+never started: (ErrImagePull|ImagePullBackOff): .*does-not-exist/)
      // And the failing test's log and exit code are in its log file and the JUnit file
      expect(await readFile(join(out, 'tests', '03-fails.log'), 'utf8')).toMatch(
        /checking the answer\nexpected 43, got 42\n--- kola: FAIL, exit code 3/,
      )
      const junit = await readFile(join(out, 'reports', 'junit.xml'), 'utf8')
      expect(junit).toContain('tests="4" failures="2"')
      expect(junit).toMatch(
        /<testcase name="03-fails"[^>]*>\s*<failure message="exit code 3: expected 43, got 42" type="test">checking the answer\nexpected 43, got 42\n/,
      )
      expect(junit).toMatch(/<testcase name="04-bad-image"[^>]*>\s*<failure message="never started: /)
      expect(junit).toMatch(/<testcase name="01-config"[^>]*\/>/)
      const tap = await readFile(join(out, 'test.tap'), 'utf8')
      expect(tap).toMatch(/^1\.\.4\nok - 01-config\nok - 02-greeting\nnot ok - 03-fails\n/)
      const report = JSON.parse(await readFile(join(out, 'reports', 'report.json'), 'utf8')) as {
        result: string
        tests: {name: string; result: string; exitCode?: number; namespace: string}[]
      }
      expect(report.result).toBe('FAIL')
      expect(report.tests.find((t) => t.name === '03-fails')?.exitCode).toBe(3)
      // And the manifests and the chart were there for the tests (the Job test read the manifest's ConfigMap)
      expect(await readFile(join(out, 'tests', '01-config.log'), 'utf8')).toMatch(/^answer=42\n/)
      // And the run's namespace is being deleted (or gone)
      const ns = report.tests[0]?.namespace ?? ''
      expect(ns).toMatch(/^kola-[0-9a-f]{12}$/)
      expect(['gone', 'Terminating']).toContain(namespacePhase(ns))
      expect(await readFile(join(out, 'logs', 'cluster', ns, 'events.txt'), 'utf8')).toMatch(/Deployment\/app|ReplicaSet\/app/)
    },
  )

  it('--keep keeps the namespace with the chart release and the tests; kola kube down removes it', {timeout: RUN_TIMEOUT}, async () => {
    // Given the example project with only its passing tests
    const dir = await copyExample('keep')
    await rm(join(dir, 'tests', '03-fails.sh'))
    await rm(join(dir, 'tests', '04-bad-image.yaml'))
    const out = join(tmp.dir, 'keep-out')

    // When kola runs it with --keep
    const result = await runTests(out, dir, '--keep', '--json')

    // Then it exits 0 and the namespace stays, with the chart's ConfigMap in it
    expect(result.stderr).not.toMatch(/internal error/)
    expect(result.code).toBe(0)
    const {namespace, kept, passed} = JSON.parse(result.stdout) as {namespace: string; kept: boolean; passed: number}
    expect({kept, passed}).toEqual({kept: true, passed: 2})
    expect(namespacePhase(namespace)).toBe('Active')
    const greeting = execFileSync(
      kubectl,
      ['--kubeconfig', kubeconfig, '-n', namespace, 'get', 'configmap', 'greeter-greeting', '-o', 'jsonpath={.data.greeting}'],
      {encoding: 'utf8'},
    )
    expect(greeting).toBe('hello from the chart')

    // When kola kube down is given the output directory
    const down = await runCli('kola', ['kube', 'down', '--deployer', 'kubeconfig', '--kubeconfig', kubeconfig, '--output-dir', out], {
      env: env(),
    })
    // Then the namespace goes
    expect(down.code).toBe(0)
    expect(['gone', 'Terminating']).toContain(namespacePhase(namespace))
  })

  it(
    'bad input: a manifest the API server rejects is exit 2 with the server message; a chart that fails to install is exit 3; one line each',
    {timeout: RUN_TIMEOUT},
    async () => {
      // Given a manifest whose Deployment has no containers (the API server rejects it)
      // Then the error is the API server's, on one line, exit 2 (bad input), and no stack
      await expectOneLineError(
        'rejected',
        ['manifests', '30-broken.yaml'],
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: []}\n',
        2,
        /30-broken\.yaml: Deployment\/broken rejected by the API server: .*spec\.template\.spec\.containers: Required value/,
      )
      // Given a chart whose template is not valid
      // Then it is a dependency failure (exit 3) naming the chart, on one line
      await expectOneLineError(
        'bad-chart',
        ['charts', 'greeter', 'templates', 'broken.yaml'],
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.key }}\n',
        3,
        /chart greeter \(.*charts\/greeter\) failed to install: .*nil pointer/,
      )

      // Given an invalid settings file, the CLI says it in one line with exit 2 before touching the cluster
      const badSettings = await copyExample('bad-settings-cli')
      await writeFile(join(badSettings, 'kola-tests.yaml'), 'timeout: -1\n')
      const r3 = await runTests(join(tmp.dir, 'bad-settings-out'), badSettings)
      expect(r3.code).toBe(2)
      expect(errorLines(r3.stderr)).toEqual([expect.stringContaining(`${join(badSettings, 'kola-tests.yaml')}: timeout must be >= 1`)])
    },
  )
})
