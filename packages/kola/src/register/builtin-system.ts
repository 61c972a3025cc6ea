import {setTimeout as sleep} from 'node:timers/promises'

import type {IgnitionConfig} from '../platform/ignition.js'
import {dataUrl} from '../platform/ignition.js'
import type {Machine, SshIdentity} from '../platform/platform.js'
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

function first(c: TestCluster): Machine {
  const [m] = c.machines
  if (!m) return c.fatal('no machine')
  return m
}
