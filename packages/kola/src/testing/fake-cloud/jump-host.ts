// A real jump host for kola's tests (--openstack-host): OpenSSH's sshd in a
// network namespace of its own, which the test's fake-cloud machines share
// (qemuMachines(..., {netns})). The namespace is joined to this one by a veth
// pair only: sshd listens on the namespace's end of it, while the machines'
// addresses (loopback addresses inside the namespace) cannot be reached from
// here at all; whoever reaches them went through sshd's TCP forwarding, which
// its debug log records (one `server_request_direct_tcpip` line per channel).
// Needs root (ip netns, veth) and /usr/sbin/sshd (scripts/system-deps.sh).
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {randomInt} from 'node:crypto'
import {closeSync, existsSync, openSync} from 'node:fs'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {promisify} from 'node:util'

import ssh2 from 'ssh2'

const execFileAsync = promisify(execFile)
const SSHD = '/usr/sbin/sshd'

export interface JumpHostServer {
  /** The namespace the machines must run in. */
  netns: string
  /** `host:port` of sshd, for --openstack-host. */
  address: string
  /** This side's end of the veth pair: a server listening here is reachable from the jump host (and from here). */
  hostSideIp: string
  user: string
  /** The user's private key file, for --openstack-keyfile. */
  keyFile: string
  /** The targets sshd opened TCP forwarding channels to (`127.1.2.3:22`), from its log. */
  forwards(): Promise<string[]>
  stop(): Promise<void>
}

/** Whether this machine can run the jump host (root for the namespace, sshd installed). */
export function jumpHostAvailable(): boolean {
  return process.getuid?.() === 0 && existsSync(SSHD)
}

export async function startJumpHost(dir: string): Promise<JumpHostServer> {
  await mkdir(dir, {recursive: true})
  const tag = `kj${randomInt(0x10000, 0xfffff).toString(16)}`
  const netns = `${tag}-ns`
  // A /30 of the benchmarking range 198.18.0.0/15 per jump host.
  const net = `198.18.${randomInt(1, 255)}.${4 * randomInt(1, 63)}`
  const [hostSide, nsSide] = [`${tag}h`, `${tag}n`]
  const prefix = net.split('.').slice(0, 3).join('.')
  const last = Number(net.split('.')[3])
  const [hostIp, nsIp] = [`${prefix}.${last + 1}`, `${prefix}.${last + 2}`]
  const ip = (...args: string[]) => execFileAsync('ip', args)
  let sshd: ChildProcess | undefined
  const stop = async (): Promise<void> => {
    if (sshd && sshd.exitCode === null && sshd.signalCode === null) {
      const exited = new Promise((resolve) => sshd?.once('exit', resolve))
      sshd.kill('SIGTERM')
      await exited
    }
    // The namespace's end of the veth pair goes with it, and the other end with that.
    await ip('netns', 'del', netns).catch(() => undefined)
  }
  try {
    await ip('netns', 'add', netns)
    await ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide)
    await ip('link', 'set', nsSide, 'netns', netns)
    await ip('addr', 'add', `${hostIp}/30`, 'dev', hostSide)
    await ip('link', 'set', hostSide, 'up')
    await ip('-n', netns, 'addr', 'add', `${nsIp}/30`, 'dev', nsSide)
    await ip('-n', netns, 'link', 'set', nsSide, 'up')
    await ip('-n', netns, 'link', 'set', 'lo', 'up')

    const {utils} = ssh2
    const user = utils.generateKeyPairSync('ed25519', {comment: 'kola-jump-user'})
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')])
    await writeFile(join(dir, 'authorized_keys'), `${user.public}\n`, {mode: 0o600})
    const keyFile = join(dir, 'user_ed25519')
    await writeFile(keyFile, user.private, {mode: 0o600})
    const port = 2222
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `ListenAddress ${nsIp}:${port}`,
        `HostKey ${join(dir, 'host_ed25519')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'AllowTcpForwarding yes',
        'LogLevel DEBUG1',
        '',
      ].join('\n'),
    )
    // sshd's privilege separation wants its empty directory (made by the package's service, which does not run here).
    await mkdir('/run/sshd', {recursive: true, mode: 0o755})
    const log = join(dir, 'sshd.log')
    const out = openSync(log, 'a')
    sshd = spawn('ip', ['netns', 'exec', netns, 'setpriv', '--pdeathsig', 'TERM', '--', SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', out, out],
    })
    closeSync(out)
    const started = Date.now()
    while (!(await answers(nsIp, port))) {
      if (sshd.exitCode !== null) throw new Error(`sshd exited ${sshd.exitCode}: ${await readFile(log, 'utf8')}`)
      if (Date.now() - started > 30_000) throw new Error(`sshd did not listen on ${nsIp}:${port}`)
      await sleep(100)
    }
    return {
      netns,
      address: `${nsIp}:${port}`,
      hostSideIp: hostIp,
      user: 'root',
      keyFile,
      forwards: async () =>
        [...(await readFile(log, 'utf8')).matchAll(/server_request_direct_tcpip: originator .*, target (\S+) port (\d+)/g)].map(
          (m) => `${m[1]}:${m[2]}`,
        ),
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

async function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}
