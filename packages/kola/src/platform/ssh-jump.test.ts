import {execFile} from 'node:child_process'
import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {makeTempDir} from '@mantle/test-utils'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {jumpHostAvailable, type JumpHostServer, startJumpHost} from '../testing/fake-cloud/jump-host.js'
import {sshStub} from '../testing/fake-cloud/ssh-stub.js'
import {writeConnectionFiles} from '../services/spawn.js'
import {generateIdentity, jumpHostFrom, SshConnection} from './ssh.js'

// kola's SSH through a jump host (--openstack-host; flatcar/mantle
// network/jump.go: log in to the host with its own user and key, then open the
// machine's connection over it) against a real OpenSSH sshd
// (testing/fake-cloud/jump-host.ts), with an SSH server standing in for the
// machine: no VM, so the jump's own behaviour is quick to check.
describe.skipIf(!jumpHostAvailable())('SSH through a jump host (real sshd)', () => {
  let jump: JumpHostServer
  let temp: {dir: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    temp = await makeTempDir()
    jump = await startJumpHost(join(temp.dir, 'jump'))
  })
  afterAll(async () => {
    await jump?.stop()
    await temp?.cleanup()
  })

  it('Given a machine behind the jump host, when kola connects with the jump, then its commands run there and sshd forwarded the channels', async () => {
    const identity = await generateIdentity('core')
    const machine = await sshStub(jump.hostSideIp, 2200, [identity.publicKey])
    try {
      const via = await jumpHostFrom(jump.address, jump.user, jump.keyFile, '--openstack-keyfile')
      const connection = await SshConnection.connect({
        host: jump.hostSideIp,
        port: 2200,
        identity,
        jump: via,
        deadline: Date.now() + 60_000,
      })
      expect((await connection.exec('cat /proc/sys/kernel/random/boot_id')).stdout).toBe('00000000-0000-0000-0000-000000000000\n')
      connection.close()
      expect(connection.isOpen).toBe(false)
      // The banner probe and the connection itself.
      expect((await jump.forwards()).filter((f) => f === `${jump.hostSideIp}:2200`).length).toBeGreaterThanOrEqual(2)
    } finally {
      await machine.close()
    }
  })

  it('Given a machine behind the jump host, when OpenSSH logs in with the ssh_config kola spawn writes, then it goes through the jump host', async () => {
    const identity = await generateIdentity('core')
    const machine = await sshStub(jump.hostSideIp, 2202, [identity.publicKey])
    try {
      const via = await jumpHostFrom(jump.address, jump.user, jump.keyFile, '--openstack-keyfile')
      const dir = join(temp.dir, 'spawned')
      await mkdir(dir)
      const files = await writeConnectionFiles(dir, identity, [
        {id: 'machine-1', ip: jump.hostSideIp, sshPort: 2202, privateIp: '10.0.0.5', jump: via},
      ])
      // The system's own OpenSSH client, as a user or a script of `kola spawn` runs it.
      const {stdout} = await promisify(execFile)('ssh', [
        '-F',
        files.sshConfig,
        '-o',
        'BatchMode=yes',
        'm0',
        'cat /proc/sys/kernel/random/boot_id',
      ])
      expect(stdout).toBe('00000000-0000-0000-0000-000000000000\n')
      expect((await jump.forwards()).filter((f) => f === `${jump.hostSideIp}:2202`).length).toBeGreaterThanOrEqual(1)
      // The jump host's key is named by its file, never copied.
      const config = await readFile(files.sshConfig, 'utf8')
      expect(config).toContain(`IdentityFile ${jump.keyFile}`)
      expect(config).not.toContain(via.privateKey.split('\n')[1])
    } finally {
      await machine.close()
    }
  })

  it(
    'Given a key the jump host does not know, when kola connects, then it gives up naming the jump host instead of retrying until the deadline',
    {timeout: 120_000},
    async () => {
      const identity = await generateIdentity('core')
      const stranger = await generateIdentity('root')
      const via = {...(await jumpHostFrom(jump.address, jump.user, jump.keyFile, '--openstack-keyfile')), privateKey: stranger.privateKey}
      await expect(
        SshConnection.connect({host: jump.hostSideIp, port: 2201, identity, jump: via, deadline: Date.now() + 3_600_000}),
      ).rejects.toThrow(`ssh jump host root@${jump.address} refused its key`)
    },
  )
})
