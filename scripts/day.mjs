// The release engineer's day on local defaults (the README's main job), after
// scripts/day.sh has set the workspace up:
//   1. build: the test OS image (built or reused), compressed and signed with
//      a local release key made here (gpg), into .day/build/boards/<board>/<version>/
//   2. test: kola run of the built-in suite on that image under QEMU
//   3. publish: plume pre-release and release with the shipped local channel
//      configuration into .day/release/, then plume plan (nothing left to do)
//   4. verify: serve .day/release on 127.0.0.1 and fetch the image back with
//      gangue get http://..., verifying its signature
//   5. a summary (also written to .day/summary.json)
// Re-runnable: every stage reuses what is there and unchanged. Ctrl-C stops the
// running tool (which cleans up after itself) and exits 130.
import {execFileSync, spawn} from 'node:child_process'
import {createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {dirname, join, normalize, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const day = join(root, '.day')
const board = 'amd64-usr'
const imageName = 'flatcar_production_image.bin.bz2'
const tool = (name) => join(root, 'packages', name, 'bin', 'run.cjs')
const stages = []
let current
let interrupted = false

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = true
    // Ctrl-C reaches the whole foreground process group, the running tool
    // included; forwarding it again would be the tool's "second signal: exit
    // at once" and skip its cleanup. SIGTERM is sent to us alone: pass it on.
    if (signal === 'SIGTERM') current?.kill(signal)
  })
}

function log(line) {
  process.stderr.write(`day: ${line}\n`)
}

/** Runs a command, streaming its stderr, capturing stdout; rejects on failure. */
function run(cmd, args, {cwd = root, env = process.env, echo = true} = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'inherit']})
    current = child
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d
      if (echo) process.stdout.write(d)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      current = undefined
      if (code === 0) resolvePromise(stdout)
      else reject(Object.assign(new Error(`${relative(root, cmd) || cmd} ${args.join(' ')} exited ${code ?? signal}`), {code, stdout}))
    })
  })
}

const node = (name, args, options) => run(process.execPath, [tool(name), ...args], options)

async function stage(name, fn) {
  if (interrupted) throw new Error('interrupted')
  log(`== ${name}`)
  const t0 = Date.now()
  const entry = {stage: name, seconds: 0, ok: false}
  stages.push(entry)
  try {
    const result = await fn()
    entry.ok = true
    return result
  } finally {
    entry.seconds = Math.round((Date.now() - t0) / 100) / 10
  }
}

/** The local release key: made once with gpg, kept in .day/gnupg. */
function releaseKey() {
  const home = join(day, 'gnupg')
  const pub = join(day, 'release-key.asc')
  mkdirSync(home, {recursive: true, mode: 0o700})
  const gpg = (...args) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  if (!existsSync(pub)) {
    gpg('--passphrase', '', '--quick-gen-key', 'Local Release Key (mantle-ts day) <release@localhost>', 'ed25519', 'sign', '2y')
    writeFileSync(pub, gpg('--armor', '--export'))
  }
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--fingerprint').toString())?.[1]
  return {pub, fingerprint, sign: (file) => gpg('--yes', '--detach-sign', '--output', `${file}.sig`, file)}
}

/** Serves a directory read-only with Range support (what a CDN or any web server does). */
function serve(directory) {
  const server = createServer((req, res) => {
    const path = normalize(join(directory, decodeURIComponent(new URL(req.url, 'http://x').pathname)))
    if (!path.startsWith(directory) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end()
      return
    }
    const size = statSync(path).size
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    if (range) {
      const start = Number(range[1])
      const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1
      if (start >= size) {
        res.writeHead(416, {'content-range': `bytes */${size}`}).end()
        return
      }
      res.writeHead(206, {'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes'})
      createReadStream(path, {start, end}).pipe(res)
      return
    }
    res.writeHead(200, {'content-length': size, 'accept-ranges': 'bytes'})
    createReadStream(path).pipe(res)
  })
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)))
}

async function main() {
  mkdirSync(day, {recursive: true})
  const started = Date.now()

  const build = await stage('build', async () => {
    const env = Object.fromEntries(
      (await run('bash', [join(root, 'scripts', 'test-image', 'build.sh')], {echo: false}))
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    const imageHash = env.KOLA_TEST_IMAGE.split('/').at(-2)
    const version = `1.0.0-${imageHash.slice(0, 8)}`
    const dir = join(day, 'build', 'boards', board, version)
    const image = join(dir, imageName)
    const key = releaseKey()
    if (!existsSync(`${image}.sig`)) {
      mkdirSync(dir, {recursive: true})
      log(`compressing ${env.KOLA_TEST_IMAGE} into ${relative(root, image)}`)
      await run('sh', ['-c', 'bzip2 -1 -c "$0" > "$1.tmp" && mv "$1.tmp" "$1"', env.KOLA_TEST_IMAGE, image], {echo: false})
      writeFileSync(join(dir, 'version.txt'), `FLATCAR_VERSION=${version}\nFLATCAR_VERSION_ID=${version}\nFLATCAR_BUILD_ID=${imageHash}\n`)
      key.sign(image)
    } else log(`reusing the signed build ${relative(root, dir)}`)
    return {env, version, image, key, bytes: statSync(image).size}
  })

  const kola = await stage('test', async () => {
    const out = join(day, 'kola')
    rmSync(out, {recursive: true, force: true})
    const stdout = await node('kola', ['run', '--parallel', '2', '--output-dir', out, '--json'], {
      env: {...process.env, ...build.env},
      echo: false,
    }).catch((e) => {
      if (e.stdout) process.stdout.write(e.stdout)
      throw e
    })
    const result = JSON.parse(stdout)
    process.stdout.write(readFileSync(result.reports.tap, 'utf8'))
    return result
  })

  const publish = await stage('publish', async () => {
    const common = ['-B', board, '-V', build.version, '--verify-key', build.key.pub]
    await node('plume', ['pre-release', ...common], {cwd: day})
    await node('plume', ['release', ...common], {cwd: day})
    const plan = await node('plume', ['plan', ...common], {cwd: day})
    if (!/nothing to do/.test(plan)) throw new Error(`plume plan still has work after the release:\n${plan}`)
    return {directory: join(day, 'release'), plan: plan.trim()}
  })

  const verify = await stage('verify', async () => {
    const server = await serve(publish.directory)
    const url = `http://127.0.0.1:${server.address().port}/${board}/current/${imageName}`
    const fetched = join(day, 'fetched')
    rmSync(fetched, {recursive: true, force: true})
    mkdirSync(fetched, {recursive: true})
    try {
      const result = JSON.parse(
        await node('gangue', ['get', url, fetched, '--verify-key', build.key.pub, '--sha256', '--json'], {echo: false}),
      )
      if (!result.verified) throw new Error(`gangue get did not verify ${url}`)
      log(`fetched ${url}: ${result.bytes} bytes, sha256 ${result.sha256}, signed by ${result.signerFingerprint}`)
      return {url, ...result}
    } finally {
      server.close()
    }
  })

  const summary = {
    ok: true,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    built: {version: build.version, image: build.image, bytes: build.bytes, signer: build.key.fingerprint},
    tested: {passed: kola.passed, failed: kola.failed, skipped: kola.skipped, outputDir: kola.outputDir, reports: kola.reports},
    published: {directory: publish.directory, plan: publish.plan},
    verified: {url: verify.url, path: verify.path, sha256: verify.sha256, signer: verify.signerFingerprint, verified: verify.verified},
    stages,
  }
  writeFileSync(join(day, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')
  const rel = (p) => relative(root, p)
  process.stdout.write(`
== summary
built      ${build.version}: ${rel(build.image)} (${(build.bytes / 2 ** 20).toFixed(1)} MiB), signed by ${build.key.fingerprint}
tested     kola: ${kola.passed} passed, ${kola.failed} failed, ${kola.skipped} skipped; reports in ${rel(kola.outputDir)} (test.tap, reports/report.json, reports/junit.xml; console.txt and journal.txt per machine)
published  plume pre-release + release to ${rel(publish.directory)}/ (index pages included); plan: ${publish.plan}
verified   gangue get ${verify.url}: signature good (${verify.signerFingerprint}), sha256 ${verify.sha256}
stages     ${stages.map((s) => `${s.stage} ${s.seconds}s`).join(', ')}; total ${summary.seconds}s
summary    ${rel(join(day, 'summary.json'))}
`)
}

main().catch((error) => {
  const failed = stages.find((s) => !s.ok)
  process.stderr.write(
    `day: ${interrupted ? 'interrupted' : 'failed'}${failed ? ` in stage ${failed.stage}` : ''}: ${error.message.split('\n')[0]}\n`,
  )
  writeFileSync(
    join(day, 'summary.json'),
    JSON.stringify({ok: false, interrupted, error: error.message.split('\n')[0], stages}, null, 2) + '\n',
  )
  process.exitCode = interrupted ? 130 : 1
})
