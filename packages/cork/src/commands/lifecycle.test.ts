import {once} from 'node:events'
import {chown, mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {join} from 'node:path'

import type Docker from 'dockerode'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {TestKey} from '@mantle/kit/verify/testing'
import {binPath, serviceEnv, type CliResult} from '@mantle/test-utils'

import {containerName} from '../services/sdk/layout.js'
import {resizeTerminalOf, startInTerminal} from '../testing/terminal.js'
import {ENGINES, makeTestbed, TEST_ARCH as ARCH, TEST_USER as USER, type Testbed} from '../testing/testbed.js'

/** The SDK's whole life against real engines (see ../testing/testbed.ts). */
describe.each(ENGINES)('cork against $engine', ({engine, variable}) => {
  const {available} = serviceEnv([variable])
  const host = process.env[variable] ?? ''
  let t: Testbed
  let v1: string
  let v2: string
  let v3: string
  let dir: string
  let checkout: string
  let mirror: string
  let key: TestKey
  let gid: number
  let docker: Docker

  const cork = (
    args: string[],
    options: {input?: string; cwd?: string; env?: NodeJS.ProcessEnv; stallMs?: number} = {},
  ): Promise<CliResult> => t.cork(args, options)
  const withSdk = (args: string[]): string[] => t.withSdk(args)
  const versionFile = (sdk: string): Promise<void> => t.versionFile(sdk)
  const containersOf = (): Promise<Docker.ContainerInfo[]> => t.containersOf()
  const imageExists = (version: string): Promise<boolean> => t.imageExists(version)

  beforeAll(async () => {
    if (!available) return
    t = await makeTestbed(engine, host)
    ;({dir, checkout, mirror, key, gid, docker} = t)
    ;[v1, v2, v3] = t.versions as [string, string, string]
  })

  afterAll(async () => {
    if (t) await t.cleanup()
  })

  it.skipIf(!available)('create downloads, verifies and imports the SDK, then creates the container', async () => {
    // Given a checkout at SDK v1 and a mirror with the signed v1 tarball
    // When an ordinary user creates the SDK container
    const r = await cork(withSdk(['create', '--json']))
    // Then the image and the running container exist, named after the versions
    expect(r.stderr).not.toMatch(/error/)
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout) as {
      container: string
      image: string
      imageOutcome: string
      containerOutcome: string
      tarball: {signer: string}
    }
    expect(result).toMatchObject({
      container: containerName('flatcar', ARCH, v1, `${v1}-os`),
      image: `flatcar-sdk-${ARCH}:${v1}`,
      imageOutcome: 'imported',
      containerOutcome: 'created',
    })
    expect(result.tarball.signer).toBe(key.fingerprint)
    const info = await docker.getContainer(result.container).inspect()
    expect(info.State.Running).toBe(true)
    expect(info.Config.Env).toContain(`SDK_USER_ID=${USER}`)
    expect(info.Config.Env).toContain(`SDK_GROUP_ID=${gid}`)
    const mounts = info.Mounts.map((m) => `${m.Source}:${m.Destination}`)
    expect(mounts).toContain(`${checkout}:/mnt/host/source`)
    expect(mounts).toContain(`${join(checkout, 'src/build')}:/mnt/host/source/src/build`)
    // And the verified tarball is cached in the checkout
    expect(await readdir(join(checkout, '.cache/sdks'))).toEqual([`flatcar-sdk-${ARCH}-${v1}.tar.bz2`])
  })

  it.skipIf(!available)('create again reuses the existing container', async () => {
    const before = (await containersOf()).map((c) => c.Id)
    const r = await cork(withSdk(['create', '--json']))
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({imageOutcome: 'reused', containerOutcome: 'reused'})
    expect((await containersOf()).map((c) => c.Id)).toEqual(before)
  })

  it.skipIf(!available)('create mounts the SSH agent, the GPG home and cloud credentials when asked', async () => {
    // Given an SSH agent socket, a GPG home and AWS credentials of the user
    const home = join(dir, 'home')
    const agentDir = join(dir, 'ssh-agent')
    await mkdir(agentDir, {recursive: true})
    const agent = createServer(() => {}).listen(join(agentDir, 'agent.sock'))
    await once(agent, 'listening')
    for (const d of [join(home, '.gnupg'), join(home, '.aws')]) {
      await mkdir(d, {recursive: true})
      await chown(d, USER, USER)
    }
    await writeFile(join(home, '.aws/credentials'), '[default]\n')
    try {
      // When the container is recreated with those mounts
      const r = await cork(withSdk(['create', '--replace', '--cloud-credentials', 'aws']), {
        env: {SSH_AUTH_SOCK: join(agentDir, 'agent.sock')},
      })
      expect(r.stderr).not.toMatch(/error/)
      expect(r.code).toBe(0)
      // Then the agent's socket and the files are there, as the user's, where the SDK's tools look
      const inside = await cork([
        'enter',
        '--',
        'sh',
        '-c',
        'test -S "$SSH_AUTH_SOCK" && echo ssh; test -d ~/.gnupg && echo gpg; test -r ~/.aws/credentials && echo aws; echo "$HOME"',
      ])
      expect(inside.stdout).toBe('ssh\ngpg\naws\n/home/sdk\n')
      const info = await docker.getContainer(containerName('flatcar', ARCH, v1, `${v1}-os`)).inspect()
      expect(info.Config.Env).toContain('SSH_AUTH_SOCK=/run/sdk/ssh/agent.sock')
      expect(info.Mounts.find((m) => m.Destination === '/home/sdk/.aws')).toMatchObject({Source: join(home, '.aws'), RW: false})
    } finally {
      agent.close()
    }
  })

  it.skipIf(!available)('create --verify checks the checkouts of the manifest after creating (exit 1 when one is off)', async () => {
    await writeFile(
      join(checkout, '.repo/manifests/default.xml'),
      '<manifest><project name="scripts" path="src/third_party/missing" revision="main"/></manifest>\n',
    )
    const r = await cork(withSdk(['create', '--verify']))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cork: error: src\/third_party\/missing: no git checkout/m)
    expect(r.stderr).toMatch(/^cork: error: container flatcar-sdk-amd64-\S+ is ready, but 1 of 1 checkouts do not match/m)
    await rm(join(checkout, '.repo/manifests/default.xml'))
  })

  it.skipIf(!available)('enter runs a command with stdout and stderr apart, and exits with its code', async () => {
    // Given the container
    // When a command writes to both streams and exits 7
    const r = await cork(['enter', '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 7'])
    // Then each stream carries its own line and cork exits 7
    expect(r.stdout).toBe('to-stdout\n')
    expect(r.stderr).toBe('to-stderr\n')
    expect(r.code).toBe(7)
  })

  it.skipIf(!available)('enter keeps every byte of large outputs on both streams while the reader lags', async () => {
    // Given a reader that takes nothing for a second, so that cork's writes meet back-pressure
    // When a command writes ~2.9 MB to stdout and ~0.6 MB to stderr, in many engine frames
    const r = await cork(['enter', '--', 'sh', '-c', 'seq 1 400000; seq 1 100000 >&2; exit 3'], {stallMs: 1000})
    // Then each stream has exactly its lines, in order, and the exit code is kept
    const lines = (n: number): string => Array.from({length: n}, (_, i) => `${i + 1}\n`).join('')
    // Where the text first differs from what was due (-1: nowhere), with what came there: a short answer on failure.
    const firstDifference = (got: string, due: string): {at: number; got: string; due: string} => {
      let at = 0
      while (at < got.length && at < due.length && got[at] === due[at]) at++
      return at === got.length && at === due.length
        ? {at: -1, got: '', due: ''}
        : {at, got: got.slice(at, at + 40), due: due.slice(at, at + 40)}
    }
    expect({stdout: firstDifference(r.stdout, lines(400000)), stderr: firstDifference(r.stderr, lines(100000))}).toEqual({
      stdout: {at: -1, got: '', due: ''},
      stderr: {at: -1, got: '', due: ''},
    })
    expect(r.code).toBe(3)
  })

  it.skipIf(!available)('enter through the full command (a flag the fast path leaves to oclif) behaves the same', async () => {
    const r = await cork(['enter', '--log-level', 'warn', '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 7'])
    expect(r.stdout).toBe('to-stdout\n')
    expect(r.stderr).toBe('to-stderr\n')
    expect(r.code).toBe(7)
  })

  it.skipIf(!available)('a file written inside belongs to the invoking user outside', async () => {
    // Given cork run by uid 4242
    // When a command inside creates files in the checkout and the build directory
    const r = await cork(['enter', '--', 'sh', '-c', 'id -u; id -g; id -un; pwd; echo hi > made-inside; echo out > src/build/artifact'])
    // Then it ran as that uid/gid, in the checkout, and the files are theirs on the host
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')).toEqual([String(USER), String(gid), 'sdk', '/mnt/host/source', ''])
    for (const f of ['made-inside', 'src/build/artifact']) {
      const st = await stat(join(checkout, f))
      expect({file: f, uid: st.uid, gid: st.gid}).toEqual({file: f, uid: USER, gid})
    }
  })

  it.skipIf(!available)('enter -i forwards stdin and closes it at its end', async () => {
    const r = await cork(['enter', '-i', '--', 'sh', '-c', 'cat; echo "[eof]"'], {input: 'line one\nline two\n'})
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('line one\nline two\n[eof]\n')
  })

  it.skipIf(!available)('enter with no command and no terminal runs the shell on what stdin says', async () => {
    const r = await cork(['enter'], {input: 'echo from-a-pipe\nexit 4\n'})
    expect(r.stdout).toContain('from-a-pipe\n')
    expect(r.code).toBe(4)
  })

  it.skipIf(!available)('enter maps the working directory into the checkout', async () => {
    await mkdir(join(checkout, 'src/scripts/sub'), {recursive: true})
    const r = await cork(['enter', '--', 'pwd'], {cwd: join(checkout, 'src/scripts')})
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('/mnt/host/source/src/scripts\n')
  })

  it.skipIf(!available)('enter starts a stopped container first', async () => {
    // Given the container stopped (a reboot, say)
    const name = containerName('flatcar', ARCH, v1, `${v1}-os`)
    await docker.getContainer(name).stop({t: 1})
    // When a command is run, then it runs and the container is up again
    const r = await cork(['enter', '--', 'echo', 'up'])
    expect(r.stdout).toBe('up\n')
    expect(r.code).toBe(0)
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(true)
  })

  it.skipIf(!available)('create --replace recreates the container', async () => {
    const before = (await containersOf()).map((c) => c.Id)
    const r = await cork(withSdk(['create', '--replace', '--json']))
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({containerOutcome: 'replaced', imageOutcome: 'reused'})
    const after = (await containersOf()).map((c) => c.Id)
    expect(after).toHaveLength(1)
    expect(after).not.toEqual(before)
  })

  it.skipIf(!available)(
    'enter with no command opens a shell on a real TTY: size followed, Ctrl-C reaches the shell, exit code kept',
    async () => {
      // Given cork started in a pseudo-terminal of 33x111 (util-linux script)
      const term = startInTerminal(`stty rows 33 cols 111; exec ${process.execPath} ${binPath('cork')} enter`, {
        cwd: checkout,
        uid: USER,
        gid,
        env: {PATH: process.env.PATH, HOME: join(dir, 'home'), SHELL: '/bin/sh', TERM: 'xterm', DOCKER_HOST: host},
      })
      try {
        // When the shell inside reports its terminal size, then it is the local one
        term.type('echo S$(stty size | tr " " x)E\n')
        await term.waitFor(/S33x111E/)
        // When the local terminal is resized, then the one inside follows
        const insideBecomes = async (size: string): Promise<void> => {
          for (let i = 0; !new RegExp(`S${size}E`).test(term.output); i++) {
            if (i === 50) throw new Error(`the terminal inside never became ${size}: ${term.output.slice(-400)}`)
            term.type('echo S$(stty size | tr " " x)E\n')
            await new Promise((r) => setTimeout(r, 100))
          }
        }
        await resizeTerminalOf(term.pid, [50, 120])
        await insideBecomes('50x120')
        // When it is resized several times in quick succession (a window dragged), then the inside
        // ends at the last size (Podman's conmon applied the first of two resizes that arrived together)
        await resizeTerminalOf(term.pid, [40, 90], [41, 91], [42, 92], [43, 93], [44, 94], [45, 95])
        await insideBecomes('45x95')
        if (engine === 'podman') {
          // When two resizes reach Podman's conmon in one read of its control pipe (conmon paused
          // meanwhile), then the inside still ends at the last size: conmon applies the first message
          // of a read for each (ctrl_cb in containers/conmon src/conmon.c parses from the buffer's start)
          const conmon = await execConmonOf((await containersOf())[0]?.Id ?? '')
          process.kill(conmon, 'SIGSTOP')
          try {
            await resizeTerminalOf(term.pid, [30, 70])
            await new Promise((r) => setTimeout(r, 30))
            await resizeTerminalOf(term.pid, [31, 71])
            await new Promise((r) => setTimeout(r, 50))
          } finally {
            process.kill(conmon, 'SIGCONT')
          }
          await insideBecomes('31x71')
        }
        // When Ctrl-C is typed while a command runs, then that command is interrupted (130), not cork
        term.type('sh -c "echo run""ning; sleep 30; echo not-inter""rupted"\n')
        await term.waitFor(/running/)
        term.type('\x03')
        term.type('echo after-$?\n')
        await term.waitFor(/after-130/)
        expect(term.output).not.toContain('not-interrupted')
        // When the shell exits 5, then cork exits 5
        term.type('exit 5\n')
        expect(await term.exited).toBe(5)
      } finally {
        term.kill()
      }
    },
  )

  it.skipIf(!available)('update moves to a second SDK version and removes the old container and image', async () => {
    // Given the checkout moved to SDK v2
    await versionFile(v2)
    // When the user updates
    const r = await cork(withSdk(['update', '--json']))
    // Then the new container runs the v2 SDK, and nothing of v1 is left
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({action: 'updated', sdkVersion: v2, previous: {sdkVersion: v1}})
    const names = (await containersOf()).map((c) => c.Names[0]?.replace(/^\//, ''))
    expect(names).toEqual([containerName('flatcar', ARCH, v2, `${v2}-os`)])
    expect(await imageExists(v1)).toBe(false)
    expect(await imageExists(v2)).toBe(true)
    const inside = await cork(['enter', '--', 'cat', '/usr/lib/os-release'])
    expect(inside.stdout).toContain(`VERSION=${v2}`)
  })

  it.skipIf(!available)('update refuses a downgrade unless a policy says what to do', async () => {
    // Given the checkout back at the older SDK v1
    await versionFile(v1)
    // When updating without a policy, then it is refused with exit 2 and nothing changes
    const refused = await cork(withSdk(['update']))
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/newer than the wanted/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    // When keeping the newer SDK in place, then the v2 container stays
    const kept = await cork(withSdk(['update', '--downgrade-in-place', '--json']))
    expect(kept.code).toBe(0)
    expect(JSON.parse(kept.stdout)).toMatchObject({action: 'kept', sdkVersion: v2})
    await versionFile(v2)
  })

  it.skipIf(!available)('delete leaves no container and no image behind', async () => {
    const r = await cork(['delete', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      containers: [containerName('flatcar', ARCH, v2, `${v2}-os`)],
      images: [`flatcar-sdk-${ARCH}:${v2}`],
    })
    expect(await containersOf()).toEqual([])
    for (const v of [v1, v2]) expect(await imageExists(v)).toBe(false)
  })

  it.skipIf(!available)('a tampered SDK tarball is refused before anything is imported', async () => {
    // Given the v3 tarball on the mirror with one byte flipped after signing
    const tarball = join(mirror, 'sdk', ARCH, v3, `flatcar-sdk-${ARCH}-${v3}.tar.bz2`)
    const bytes = await readFile(tarball)
    bytes[bytes.length >> 1]! ^= 0x01
    await writeFile(tarball, bytes)
    // When creating the v3 SDK
    const r = await cork(withSdk(['create', '--sdk-version', v3]))
    // Then cork exits 1 naming the signature, and there is no image, no container, no cached tarball
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^cork: error: bad signature/m)
    expect(await imageExists(v3)).toBe(false)
    expect(await containersOf()).toEqual([])
    expect((await readdir(join(checkout, '.cache/sdks'))).filter((f) => f.includes(v3))).toEqual([])
  })
})

/** The pid of the newest conmon Podman started for an exec session in a container. */
async function execConmonOf(containerId: string): Promise<number> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)
  const found: number[] = []
  for (const pid of pids) {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (args[0]?.endsWith('conmon') && args.includes('--exec') && args.includes(containerId)) found.push(pid)
  }
  const newest = Math.max(...found)
  if (!Number.isFinite(newest)) throw new Error(`no exec conmon for container ${containerId}`)
  return newest
}
