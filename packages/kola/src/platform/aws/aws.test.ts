import {type ChildProcess, spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {binPath, makeTempDir, runCli} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {FAKE_ACCESS_KEY, FAKE_AMI, FAKE_SECRET_KEY, FakeEc2} from '../../testing/fake-cloud/ec2.js'
import {qemuMachines} from '../../testing/fake-cloud/machines.js'
import {kolaEnv, testImage} from '../../testing/vm.js'

// kola's unchanged AWS platform against a fake EC2 control plane
// (testing/fake-cloud/ec2.ts): the real @aws-sdk/client-ec2 sends real
// requests to it (AWS_ENDPOINT_URL_EC2/_STS), and every instance is a real
// QEMU machine from the test image, configured by the user data kola sent,
// with SSH on port 22 of the address DescribeInstances reports. The calls and
// shapes are those of flatcar/mantle platform/api/aws/ec2.go (RunInstances
// with base64 user data and tag specifications, DescribeInstances until
// running with a public address, GetConsoleOutput, TerminateInstances).
const image = testImage()

describe.skipIf(!image.available)('kola on AWS (fake EC2, real machines)', () => {
  let fake: FakeEc2
  let dir: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    ;({dir, cleanup} = await makeTempDir())
    fake = await new FakeEc2({machines: qemuMachines(join(dir, 'machines')), launchDelayMs: 200, runningDelayMs: 1000}).start()
  })
  afterAll(async () => {
    await fake?.stop()
    await cleanup?.()
  })

  /** An isolated home with AWS credentials (the fake's, or others), and the SDK pointed at the fake. */
  async function env(name: string, accessKey = FAKE_ACCESS_KEY): Promise<NodeJS.ProcessEnv> {
    const home = join(dir, name)
    await mkdir(join(home, 'home', '.aws'), {recursive: true})
    await writeFile(
      join(home, 'home', '.aws', 'credentials'),
      `[default]\naws_access_key_id = ${accessKey}\naws_secret_access_key = ${FAKE_SECRET_KEY}\n`,
      {mode: 0o600},
    )
    return kolaEnv(home, {
      AWS_ENDPOINT_URL_EC2: fake.url,
      AWS_ENDPOINT_URL_STS: fake.url,
      AWS_ENDPOINT_URL_EKS: fake.url,
      AWS_EC2_METADATA_DISABLED: 'true',
    })
  }

  const kolaArgs = (out: string, ...rest: string[]) => [
    'run',
    '-p',
    'aws',
    '--aws-ami',
    rest.includes('--aws-ami') ? (rest.splice(rest.indexOf('--aws-ami'), 2)[1] as string) : FAKE_AMI,
    '--aws-type',
    't3.small',
    '--aws-region',
    'us-east-1',
    '--ssh-timeout',
    '900',
    '--timeout',
    '1800',
    '--output-dir',
    out,
    ...rest,
  ]

  it(
    'Given the fake EC2, when kola runs coreos.basic and coreos.ignition on aws, then both pass on real machines, each console comes from GetConsoleOutput, and nothing is left',
    {timeout: 45 * 60_000},
    async () => {
      const out = join(dir, '_aws_temp')
      const r = await runCli('kola', kolaArgs(out, '--parallel', '2', 'coreos.basic', 'coreos.ignition'), {env: await env('e2e')})

      expect(r.stderr).not.toMatch(/internal error/)
      expect(r.code).toBe(0)
      const report = JSON.parse(readFileSync(join(out, 'reports', 'report.json'), 'utf8')) as {
        platform: string
        tests: Array<{name: string; result: string}>
      }
      expect(report.platform).toBe('aws')
      expect(Object.fromEntries(report.tests.filter((t) => !t.name.includes('/')).map((t) => [t.name, t.result]))).toEqual({
        'coreos.basic': 'PASS',
        'coreos.ignition': 'PASS',
      })
      for (const test of ['coreos.basic', 'coreos.ignition']) {
        const [machine] = readdirSync(join(out, test)).filter((m) => /^[0-9a-f-]{36}$/.test(m))
        const m = join(out, test, machine as string)
        expect(readFileSync(join(m, 'instance.txt'), 'utf8')).toMatch(/^i-[0-9a-f]{17} 127\.\d+\.\d+\.\d+:22\n$/)
        expect(readFileSync(join(m, 'console.txt'), 'utf8')).toContain('Ignition finished successfully')
        expect(readFileSync(join(m, 'journal.txt'), 'utf8')).toMatch(/Started .*ssh/i)
      }
      // Every instance was tagged with the gc marker and the run id, and named by the run
      const instances = [...fake.instances.values()]
      expect(instances).toHaveLength(2)
      for (const i of instances) {
        expect(i.tags.get('created-by')).toBe('mantle')
        expect(i.tags.get('kola-run')).toMatch(/^kola-[0-9a-f]{8}$/)
        expect(i.tags.get('Name')).toMatch(/^kola-[0-9a-f]{8}-coreos-(basic|ignition)-0$/)
        expect(i.state).toBe('terminated')
      }
      expect(fake.calls).toContain('GetConsoleOutput')
      expect(fake.live()).toEqual({instances: [], keyPairs: [], groups: []})
    },
  )

  it('Given credentials the cloud rejects, when kola runs on aws, then one line, exit 2, and no resource was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badcreds_temp'), 'coreos.basic'), {
      env: await env('badcreds', 'AKIAWRONGWRONGWRONG0'),
    })
    expect(r.code).toBe(2)
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('kola: error:'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/AWS rejected the credentials \(InvalidClientTokenId/)
    expect(fake.calls.slice(before)).toEqual(['GetCallerIdentity'])
  })

  it('Given an AMI the region lacks, when kola runs on aws, then one line, exit 3, and no resource was created', async () => {
    const before = fake.calls.length
    const r = await runCli('kola', kolaArgs(join(dir, '_badami_temp'), 'coreos.basic', '--aws-ami', 'ami-0000000000badbad0'), {
      env: await env('badami'),
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('kola: error: aws: image ami-0000000000badbad0 does not exist in us-east-1')
    expect(fake.calls.slice(before)).toEqual(['GetCallerIdentity', 'DescribeImages'])
  })

  it("Given an exhausted instance quota, when kola runs on aws, then exit 3 naming InstanceLimitExceeded, and the run's key pair and group are deleted", async () => {
    const limited = new FakeEc2({machines: qemuMachines(join(dir, 'limited')), instanceLimit: 0})
    await limited.start()
    try {
      const e = await env('quota')
      const r = await runCli('kola', kolaArgs(join(dir, '_quota_temp'), 'coreos.basic'), {
        env: {...e, AWS_ENDPOINT_URL_EC2: limited.url, AWS_ENDPOINT_URL_STS: limited.url},
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/InstanceLimitExceeded: You have requested more instances \(1\) than your current instance limit of 0/)
      expect(r.stderr.split('\n').filter((l) => l.startsWith('kola: error:'))).toHaveLength(1)
      expect(limited.calls).toContain('ImportKeyPair')
      expect(limited.live()).toEqual({instances: [], keyPairs: [], groups: []})
    } finally {
      await limited.stop()
    }
  })

  /** Starts kola run coreos.basic and resolves once the fake has launched its instance. */
  async function startRun(name: string): Promise<{child: ChildProcess; exited: Promise<number | null>}> {
    const launched = fake.instances.size
    const child = spawn(process.execPath, [binPath('kola'), ...kolaArgs(join(dir, `_${name}_temp`), 'coreos.basic')], {
      env: await env(name),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr?.resume()
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    while (fake.instances.size === launched) {
      if (child.exitCode !== null) throw new Error(`kola exited ${child.exitCode} before launching`)
      await sleep(100)
    }
    return {child, exited}
  }

  it(
    'Given kola killed with SIGKILL mid-run, when ore aws gc runs, then it finds and deletes the instance, key pair and security group the run left',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigkill')
      child.kill('SIGKILL')
      await exited
      const left = fake.live()
      expect(left.instances).toHaveLength(1)
      expect(left.keyPairs).toHaveLength(1)
      expect(left.groups).toHaveLength(1)

      const gc = await runCli('ore', ['aws', 'gc', '--duration', '0s', '--region', 'us-east-1', '--json'], {env: await env('gc')})
      expect(gc.code).toBe(0)
      const result = JSON.parse(gc.stdout) as {terminatedInstances: string[]; deletedKeyPairs: string[]; deletedSecurityGroups: string[]}
      expect(result.terminatedInstances).toEqual(left.instances)
      expect(result.deletedKeyPairs).toHaveLength(1)
      expect(result.deletedSecurityGroups).toEqual(left.groups)
      expect(fake.live()).toEqual({instances: [], keyPairs: [], groups: []})
    },
  )

  it(
    'Given kola interrupted with SIGINT mid-run, when it exits, then it has terminated its instance and deleted its key pair and group',
    {timeout: 10 * 60_000},
    async () => {
      const {child, exited} = await startRun('sigint')
      child.kill('SIGINT')
      const code = await exited
      expect(code).not.toBe(0)
      expect(fake.live()).toEqual({instances: [], keyPairs: [], groups: []})
    },
  )
})
