import {createHash} from 'node:crypto'
import {setTimeout as sleep} from 'node:timers/promises'

import type {IgnitionConfig} from '../platform/ignition.js'
import {dataUrl} from '../platform/ignition.js'
import {type Machine, MACHINE_HTTP_URL, type SshIdentity} from '../platform/platform.js'
import {SshConnection} from '../platform/ssh.js'
import type {KolaTest, MachineNeeds, TestCluster} from './test.js'

/** The user the second-user test logs in as, with a key of its own. */
const SECOND_USER = 'kolasecond'
const KARG = 'kola.builtin.karg=on'

const TIMER_UNIT = `[Unit]
Description=kola: a timer that fires once, shortly after boot
[Timer]
OnBootSec=20s
AccuracySec=1s
[Install]
WantedBy=timers.target
`
const TIMER_SERVICE = `[Unit]
Description=kola: the service the timer starts
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'date +%%s > /var/lib/kola-timer-fired'
`

/**
 * The config every test of this set boots: they share it (and one machine,
 * one after another), so under TCG the whole set costs a single boot.
 */
export function systemConfig(secondUserKey: string): IgnitionConfig {
  return {
    ignition: {version: '3.3.0'},
    passwd: {users: [{name: SECOND_USER, sshAuthorizedKeys: [secondUserKey]}]},
    storage: {
      files: [
        {path: '/etc/hostname', mode: 0o644, overwrite: true, contents: {source: dataUrl('kola-ignited\n')}},
        {path: '/etc/sysctl.d/90-kola.conf', mode: 0o644, contents: {source: dataUrl('vm.swappiness = 13\nkernel.pid_max = 65000\n')}},
      ],
    },
    systemd: {
      units: [
        {name: 'kola-fire.timer', enabled: true, contents: TIMER_UNIT},
        {name: 'kola-fire.service', contents: TIMER_SERVICE},
      ],
    },
  }
}

/**
 * Built-in tests in the style of Flatcar's and Fedora CoreOS's, for any image
 * with systemd and Ignition (the test image included): reboot, kernel
 * arguments, a timer, hostname, sysctl and a second user's SSH key set by
 * Ignition. The second user's key is generated per suite.
 */
export function systemTests(secondUser: SshIdentity): KolaTest[] {
  const userData = systemConfig(secondUser.publicKey)
  const machine: MachineNeeds = {appendKernelArgs: KARG}
  const shared = {clusterSize: 1, exclusive: false, userData, machine, tags: ['builtin-system']}
  return [
    {
      ...shared,
      name: 'ignition.hostname',
      description: "The hostname Ignition wrote to /etc/hostname is the machine's",
      run: async (c) => {
        const name = await c.mustSsh(first(c), 'hostname')
        if (name !== 'kola-ignited') c.fatal(`hostname is ${JSON.stringify(name)}, want "kola-ignited"`)
      },
    },
    {
      ...shared,
      name: 'ignition.sysctl',
      description: 'A sysctl.d file Ignition wrote is applied at boot',
      run: async (c) => {
        const values = await c.mustSsh(first(c), 'cat /proc/sys/vm/swappiness /proc/sys/kernel/pid_max')
        if (values.split('\n').join(' ') !== '13 65000')
          c.fatal(`vm.swappiness and kernel.pid_max are ${JSON.stringify(values)}, want 13 and 65000`)
      },
    },
    {
      ...shared,
      name: 'ignition.second-user',
      description: 'A second user created by Ignition logs in over SSH with its own key',
      run: async (c) => {
        const m = first(c)
        const connection = await SshConnection.connect({
          host: m.ip,
          port: m.sshPort,
          identity: secondUser,
          deadline: Date.now() + 60_000,
          signal: c.signal,
        })
        try {
          const who = await connection.exec('id -un', {signal: c.signal})
          if (who.stdout.trim() !== SECOND_USER) c.fatal(`logged in as ${JSON.stringify(who.stdout.trim())}, want ${SECOND_USER}`)
        } finally {
          connection.close()
        }
      },
    },
    {
      ...shared,
      name: 'kernel.cmdline',
      description: 'Kernel arguments the test asks for are on the kernel command line',
      run: async (c) => {
        const cmdline = await c.mustSsh(first(c), 'cat /proc/cmdline')
        if (!cmdline.split(/\s+/).includes(KARG)) c.fatal(`/proc/cmdline is ${JSON.stringify(cmdline)}, without ${KARG}`)
      },
    },
    {
      ...shared,
      name: 'systemd.timer',
      description: 'A timer unit from Ignition fires and starts its service',
      run: async (c) => {
        const m = first(c)
        const deadline = Date.now() + 120_000
        while ((await m.ssh('test -s /var/lib/kola-timer-fired', {signal: c.signal})).code !== 0) {
          if (Date.now() > deadline)
            c.fatal(
              `kola-fire.timer did not fire within 120 s: ${await c.mustSsh(m, 'systemctl list-timers --all --no-pager kola-fire.timer || true')}`,
            )
          await sleep(2000, undefined, {signal: c.signal})
        }
        const last = await c.mustSsh(m, 'systemctl show -p Result --value kola-fire.service')
        if (last !== 'success') c.error(`kola-fire.service ended with ${last}`)
      },
    },
    {
      ...shared,
      // The others pass after a reboot too (their files, units and kernel arguments persist): the order does not matter.
      name: 'systemd.reboot',
      description: 'The machine reboots: it comes back with a new boot id, and the journal of the boot before is kept',
      run: async (c) => {
        const m = first(c)
        const mark = `kola-before-reboot-${Date.now().toString(36)}`
        await c.mustSsh(m, `logger -t kola ${mark} && journalctl --flush`)
        const before = await c.mustSsh(m, 'cat /proc/sys/kernel/random/boot_id')
        await m.reboot()
        const after = await c.mustSsh(m, 'cat /proc/sys/kernel/random/boot_id')
        if (after === before) c.fatal(`boot id ${after} did not change across the reboot`)
        const previous = await c.mustSsh(m, `journalctl -b -1 -t kola --no-pager -o cat || true`)
        if (!previous.includes(mark)) c.fatal(`the journal of the previous boot lacks ${mark}: ${JSON.stringify(previous.slice(0, 300))}`)
      },
    },
  ]
}

const REMOTE_TEXT = 'served by kola over HTTP\n'
const MERGED_TEXT = 'from a config kola served over HTTP\n'
const MERGED_CONFIG = JSON.stringify({
  ignition: {version: '3.3.0'},
  storage: {files: [{path: '/etc/kola/merged.txt', mode: 0o644, contents: {source: dataUrl(MERGED_TEXT)}}]},
})
/** What kola serves the machines of the remote tests: a file, and a config to merge. */
const HTTP_FILES = {'/builtin/remote.txt': REMOTE_TEXT, '/builtin/merge.ign': MERGED_CONFIG}
const DATA_LABEL = 'kola-data'
const DATA_MOUNT = `[Unit]
Description=kola: the file system Ignition made on the additional disk
[Mount]
What=/dev/disk/by-label/${DATA_LABEL}
Where=/var/mnt/data
Type=ext4
[Install]
WantedBy=local-fs.target
`

/** Ignition's spelling of a verification hash. */
function sha512(text: string): string {
  return `sha512-${createHash('sha512').update(text).digest('hex')}`
}

/**
 * The config of the remote and storage tests: a file and a config to merge,
 * fetched from kola's HTTP server and checked against their hashes, and an
 * ext4 file system Ignition makes on the additional disk (by the serial QEMU
 * gives it), which a mount unit mounts.
 */
export function remoteStorageConfig(): IgnitionConfig {
  return {
    ignition: {
      version: '3.3.0',
      config: {merge: [{source: `${MACHINE_HTTP_URL}/builtin/merge.ign`, verification: {hash: sha512(MERGED_CONFIG)}}]},
    },
    storage: {
      files: [
        {
          path: '/etc/kola/remote.txt',
          mode: 0o644,
          contents: {source: `${MACHINE_HTTP_URL}/builtin/remote.txt`, verification: {hash: sha512(REMOTE_TEXT)}},
        },
      ],
      filesystems: [{device: '/dev/disk/by-id/virtio-kola-extra-0', format: 'ext4', label: DATA_LABEL, wipeFilesystem: true}],
    },
    systemd: {units: [{name: 'var-mnt-data.mount', enabled: true, contents: DATA_MOUNT}]},
  }
}

/** A config whose file does not match its hash: Ignition must refuse it. */
export function badHashConfig(): IgnitionConfig {
  return {
    ignition: {version: '3.3.0'},
    storage: {
      files: [
        {
          path: '/etc/kola/remote.txt',
          mode: 0o644,
          contents: {source: `${MACHINE_HTTP_URL}/builtin/remote.txt`, verification: {hash: sha512(`not ${REMOTE_TEXT}`)}},
        },
      ],
    },
  }
}

/**
 * Ignition's remote resources and storage, on QEMU (where kola serves files
 * to machines): two tests on one shared machine with an additional disk, and
 * one whose machine must fail to boot because a file does not match its hash.
 */
export function remoteTests(): KolaTest[] {
  const machine: MachineNeeds = {additionalDisksMiB: [128], httpFiles: HTTP_FILES}
  const shared = {
    clusterSize: 1,
    exclusive: false,
    userData: remoteStorageConfig(),
    machine,
    platforms: ['qemu'],
    tags: ['builtin-system'],
  }
  return [
    {
      ...shared,
      name: 'ignition.remote',
      description: 'Ignition fetches a file and a config to merge from the HTTP server kola serves the machine, both checked by hash',
      run: async (c) => {
        const m = first(c)
        const remote = await c.mustSsh(m, 'cat /etc/kola/remote.txt')
        if (`${remote}\n` !== REMOTE_TEXT) c.error(`/etc/kola/remote.txt holds ${JSON.stringify(remote)}`)
        const merged = await c.mustSsh(m, 'cat /etc/kola/merged.txt')
        if (`${merged}\n` !== MERGED_TEXT) c.error(`/etc/kola/merged.txt (from the merged config) holds ${JSON.stringify(merged)}`)
      },
    },
    {
      ...shared,
      name: 'ignition.storage',
      description: 'Ignition makes an ext4 file system on the additional disk; a mount unit mounts it, and it takes writes',
      run: async (c) => {
        const m = first(c)
        const mount = await c.mustSsh(m, 'findmnt -n -o SOURCE,FSTYPE,LABEL /var/mnt/data')
        const [source, fstype, label] = mount.split(/\s+/)
        if (source !== '/dev/vdb' || fstype !== 'ext4' || label !== DATA_LABEL)
          c.fatal(`/var/mnt/data is ${JSON.stringify(mount)}, want /dev/vdb ext4 ${DATA_LABEL}`)
        const text = await c.mustSsh(m, 'echo written | sudo tee /var/mnt/data/kola >/dev/null && sync && cat /var/mnt/data/kola')
        if (text !== 'written') c.error(`a file written to /var/mnt/data reads back ${JSON.stringify(text)}`)
      },
    },
    {
      name: 'ignition.remote.bad-hash',
      description:
        "A file whose contents do not match its verification hash fails Ignition; kola reports Ignition's reason from the console",
      clusterSize: 0,
      platforms: ['qemu'],
      tags: ['builtin-system'],
      // The emergency shell is what this test expects.
      flags: ['NoEmergencyShellCheck'],
      run: async (c) => {
        let failure: unknown
        try {
          await c.cluster.newMachine({userData: badHashConfig(), httpFiles: HTTP_FILES})
        } catch (error) {
          failure = error
        }
        if (!failure) return c.fatal('the machine came up although a file of its config does not match its hash')
        const message = failure instanceof Error ? failure.message : String(failure)
        c.log(`the machine did not come up: ${message}`)
        if (!message.includes('Ignition failed') || !message.includes('hash verification failed'))
          c.fatal(`the machine failed, but not with Ignition's hash check as the reason: ${message}`)
      },
    },
  ]
}

function first(c: TestCluster): Machine {
  const [m] = c.machines
  if (!m) return c.fatal('no machine')
  return m
}
