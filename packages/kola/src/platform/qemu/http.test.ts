import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import type {AddressInfo} from 'node:net'

import {captureLogger} from '@mantle/test-utils'
import {afterEach, describe, expect, it} from 'vitest'

import {distroByName} from '../distro.js'
import {HttpFileServer} from '../http-files.js'
import {MACHINE_HTTP_URL} from '../platform.js'
import {bootFailure, qemuArgs, type QemuMachineSpec} from './machine.js'

const paths = {overlay: '/r/m.qcow2', qmp: '/r/m.qmp', console: '/o/console.txt', config: '/o/ignition.json'}

function spec(httpPort: number): QemuMachineSpec {
  return {
    id: 'm',
    dir: '/o',
    runDir: '/r',
    config: {ignition: {version: '3.3.0'}},
    image: {path: '/i/disk.img', format: 'raw'},
    qemu: {binary: 'qemu-system-x86_64', accel: 'tcg', memoryMiB: 1024, cpus: 1, fwCfgName: 'opt/com.coreos/config'},
    userMac: '52:54:00:00:00:01',
    identity: {user: 'core', privateKey: '', publicKey: ''},
    sshTimeoutMs: 1000,
    logger: captureLogger().logger,
    distro: distroByName('test'),
    httpPort,
  }
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/**
 * Stands in for QEMU's user network: each connection to the returned port is
 * handed, as stdin and stdout, to the guestfwd's command, run through the
 * shell as libslirp's fork_exec runs it (its argv parsed shell-style).
 */
async function guestfwd(command: string): Promise<number> {
  const server: Server = createServer({pauseOnConnect: true}, (socket) => {
    const child = spawn('/bin/sh', ['-c', command], {stdio: [socket, socket, 'inherit']})
    child.on('exit', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

describe('the HTTP files kola serves to QEMU machines', () => {
  it('Given files served for a machine, when the machine asks for them through its guestfwd, then it gets each, and a 404 for others', async () => {
    // Given kola's file server with two files, and a machine's QEMU arguments
    const server = await HttpFileServer.start(captureLogger().logger)
    closers.push(() => server.close())
    server.add({'/builtin/a.txt': 'alpha\n', '/builtin/b.ign': '{"ignition":{"version":"3.3.0"}}'})
    const netdev = qemuArgs(spec(server.port), paths).find((a) => a.startsWith('user,id=eth0,')) as string
    // QEMU splits options at single commas: the guestfwd is one option, its own commas doubled
    const option = netdev.split(/(?<!,),(?!,)/).find((o) => o.startsWith('guestfwd=')) as string
    const {hostname, port} = new URL(MACHINE_HTTP_URL)
    expect(option.startsWith(`guestfwd=tcp:${hostname}:${port}-cmd:`)).toBe(true)
    const command = option.slice(`guestfwd=tcp:${hostname}:${port}-cmd:`.length).replaceAll(',,', ',')
    expect(netdev).toContain('restrict=yes')

    // When a client (the machine's Ignition) fetches through the forward, one connection per request
    const forward = await guestfwd(command)
    const a = await fetch(`http://127.0.0.1:${forward}/builtin/a.txt`)
    const b = await fetch(`http://127.0.0.1:${forward}/builtin/b.ign`)
    const missing = await fetch(`http://127.0.0.1:${forward}/builtin/none`)

    // Then each file comes back whole, and the server saw the requests
    expect([a.status, await a.text()]).toEqual([200, 'alpha\n'])
    expect([b.status, await b.text()]).toEqual([200, '{"ignition":{"version":"3.3.0"}}'])
    expect(missing.status).toBe(404)
    expect(server.requests).toEqual(['/builtin/a.txt', '/builtin/b.ign', '/builtin/none'])
  })

  it('Given a path served once, when another test serves it with other contents, then that is refused', async () => {
    const server = await HttpFileServer.start(captureLogger().logger)
    closers.push(() => server.close())
    server.add({'/x': 'one'})
    server.add({'/x': 'one'})
    expect(() => server.add({'/x': 'two'})).toThrow(/different contents/)
  })

  it('Given no served files, when a machine starts, then its user network forwards nothing but SSH', () => {
    const args = qemuArgs({...spec(0), httpPort: undefined}, paths)
    expect(args.find((a) => a.startsWith('user,id=eth0,'))).toBe('user,id=eth0,restrict=yes,hostfwd=tcp:127.0.0.1:0-:22')
  })
})

describe('a failed boot told from the console', () => {
  it("Given the test image's console of a failed Ignition, then the reason is Ignition's critical message", () => {
    // The shape of the test image's console (scripts/test-image/init) when a served file's hash is wrong
    const console = [
      'kola-initramfs: first boot: running Ignition',
      'kola-initramfs: Ignition needs the network: eth0',
      'kola-initramfs: Ignition stage files failed',
      'ignition: INFO     : Stage: files',
      'ignition: CRITICAL : files: createFilesystemsFiles: createFiles: op(3): Error fetching file "/etc/kola/remote.txt": hash verification failed (calculated d8a6 but expected cf93)',
    ]
    expect(bootFailure(console.slice(0, 2).join('\n'))).toBeUndefined()
    expect(bootFailure([...console, 'kola-initramfs: Ignition failed: emergency shell'].join('\n'))).toBe(
      'Ignition failed: files: createFilesystemsFiles: createFiles: op(3): Error fetching file "/etc/kola/remote.txt": hash verification failed (calculated d8a6 but expected cf93) (console)',
    )
  })

  it('Given a console with a kernel panic or emergency mode, then that is the reason', () => {
    expect(bootFailure('[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n')).toBe(
      'Kernel panic - not syncing: VFS: Unable to mount root fs (console)',
    )
    expect(bootFailure('You are in emergency mode. After logging in, type "journalctl -xb"\n')).toBe(
      'systemd entered emergency mode (console)',
    )
  })
})
