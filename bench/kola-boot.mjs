// kola's boot overhead and parallel speed-up, on the test image
// (scripts/services/test-image.sh start; reads .services/test-image.env).
//
// 1. Overhead: time from machine creation to the first test command over SSH
//    (kola: overlay, QEMU, QMP port lookup, SSH handshake retries, journal,
//    start-up check, then `true`), against raw QEMU started with the same
//    command line booting the same image until SSH answers: the banner on the
//    forwarded port, and then a login running `true` with the OpenSSH client
//    (polled every 200 ms). Raw and kola boots alternate, in one run, so both
//    see the same machine load. Goal: kola <= 1.10x raw login (medians).
// 2. Parallelism: four one-machine tests with --parallel 2 against
//    --parallel 1 (wall time of the whole run). Goal: <= 0.65x.
//
//   node bench/kola-boot.mjs [pairs=3]
import {execFileSync, spawn} from 'node:child_process'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createServer, connect} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {testImageEnv} from './test-image-env.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'packages', 'kola', 'dist')
const {Logger, Redactor} = await import(join(root, 'packages', 'kit', 'dist', 'index.js'))
const {QemuFlight} = await import(join(dist, 'platform', 'qemu', 'flight.js'))
const {qemuArgs} = await import(join(dist, 'platform', 'qemu', 'machine.js'))
const {addSshKey, toIgnition} = await import(join(dist, 'platform', 'ignition.js'))
const {runTests} = await import(join(dist, 'services', 'run.js'))

const pairs = Number(process.argv[2] ?? 3)
const env = testImageEnv(root, 'kola-boot')

const logger = new Logger({level: 'warn', stream: process.stderr, redactor: new Redactor()})
const flightOptions = {
  image: env.KOLA_TEST_IMAGE,
  kernel: env.KOLA_TEST_KERNEL,
  initrd: env.KOLA_TEST_INITRD,
  accel: 'auto',
  memoryMiB: 1024,
  cpus: 1,
  sshTimeoutMs: 600_000,
  logger,
  path: env.PATH ?? '',
}
const seconds = (ms) => (ms / 1000).toFixed(1)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function freePort() {
  const server = createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address()
  await new Promise((r) => server.close(r))
  return port
}

/** Resolves when sshd's banner arrives on the port. */
async function waitForBanner(port) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1')
      const done = (v) => {
        s.destroy()
        resolve(v)
      }
      s.setTimeout(2000, () => done(false))
      s.once('data', (d) => done(d.toString().startsWith('SSH-')))
      s.once('error', () => done(false))
      s.once('close', () => done(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Raw QEMU: kola's own command line (same image, config, devices), a fixed forwarded port. */
async function rawBoot(flight) {
  const dir = await mkdtemp(join(tmpdir(), 'kola-raw-'))
  try {
    const port = await freePort()
    const config = addSshKey(toIgnition(undefined), 'core', flight.identity.publicKey)
    const paths = {
      overlay: join(dir, 'o.qcow2'),
      qmp: join(dir, 'qmp'),
      console: join(dir, 'console.txt'),
      config: join(dir, 'ignition.json'),
    }
    await writeFile(paths.config, JSON.stringify(config))
    const spec = {
      id: 'raw',
      config,
      image: flight.image,
      qemu: flight.qemu,
      userMac: '52:54:00:12:34:56',
      privateNic: {group: `239.1.2.3:${await freePort()}`, mac: '52:54:00:12:34:57', ip: '192.168.100.10'},
    }
    const args = qemuArgs(spec, paths).map((a) => a.replace('hostfwd=tcp:127.0.0.1:0-:22', `hostfwd=tcp:127.0.0.1:${port}-:22`))
    const started = performance.now()
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', flight.image.path, '-F', flight.image.format, paths.overlay])
    const child = spawn(flight.qemu.binary, args, {stdio: 'ignore'})
    const exited = new Promise((r) => child.once('exit', r))
    await waitForBanner(port)
    const banner = performance.now() - started
    const key = join(dir, 'key')
    await writeFile(key, flight.identity.privateKey)
    await chmod(key, 0o600)
    const sshArgs = [
      '-i',
      key,
      '-p',
      String(port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'LogLevel=ERROR',
      'core@127.0.0.1',
      'true',
    ]
    while (!(await new Promise((resolve) => spawn('ssh', sshArgs, {stdio: 'ignore'}).once('exit', (code) => resolve(code === 0))))) {
      await new Promise((r) => setTimeout(r, 200))
    }
    const login = performance.now() - started
    child.kill('SIGTERM')
    await exited
    return {banner, login}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

async function kolaBoot(flight, out) {
  const cluster = await flight.newCluster({name: 'bench', outputDir: out})
  const started = performance.now()
  const machine = await cluster.newMachine()
  const first = await machine.ssh('true')
  const ms = performance.now() - started
  if (first.code !== 0) throw new Error('first command failed')
  await cluster.destroy()
  return ms
}

const out = await mkdtemp(join(tmpdir(), 'kola-bench-'))
const flight = await QemuFlight.create(flightOptions)
console.log(
  `kola boot overhead (${flight.qemu.accel}, -smp ${flight.qemu.cpus}, -m ${flight.qemu.memoryMiB}, ${pairs} pairs, raw and kola alternating)`,
)
const banners = []
const logins = []
const kola = []
try {
  for (let i = 0; i < pairs; i++) {
    const raw = await rawBoot(flight)
    banners.push(raw.banner)
    logins.push(raw.login)
    kola.push(await kolaBoot(flight, out))
    console.log(
      `  pair ${i + 1}: raw QEMU: banner ${seconds(raw.banner)} s, login ${seconds(raw.login)} s; kola creation to first command ${seconds(kola[i])} s (${(kola[i] / raw.login).toFixed(2)}x login)`,
    )
  }
} finally {
  await flight.destroy()
}
const overLogin = median(kola) / median(logins) - 1
const overBanner = median(kola) / median(banners) - 1
console.log(`  median: raw banner ${seconds(median(banners))} s, raw login ${seconds(median(logins))} s, kola ${seconds(median(kola))} s`)
console.log(
  `  kola overhead: ${(overLogin * 100).toFixed(1)}% over the raw login (goal <= 10%), ${(overBanner * 100).toFixed(1)}% over the raw banner`,
)

const tests = Array.from({length: 4}, (_, i) => ({
  name: `bench.one-machine-${i}`,
  clusterSize: 1,
  run: async (c) => void (await c.mustSsh(c.machines[0], 'true')),
}))
async function suiteRun(parallel) {
  const started = performance.now()
  const result = await runTests({
    tests,
    patterns: ['bench.*'],
    platform: 'qemu',
    createFlight: () => QemuFlight.create(flightOptions),
    parallel,
    outputDir: join(out, `_p${parallel}_temp`),
    cwd: out,
    version: 'bench',
    logger,
    signal: new AbortController().signal,
  })
  if (result.passed !== 4) throw new Error(`--parallel ${parallel}: ${result.failed} failed`)
  return performance.now() - started
}
console.log('4 one-machine tests')
const p1 = await suiteRun(1)
console.log(`  --parallel 1: ${seconds(p1)} s`)
const p2 = await suiteRun(2)
console.log(`  --parallel 2: ${seconds(p2)} s (${(p2 / p1).toFixed(2)}x of --parallel 1, goal <= 0.65x)`)
await rm(out, {recursive: true, force: true})
