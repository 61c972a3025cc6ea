import {setTimeout as sleep} from 'node:timers/promises'

import type {IgnitionConfig} from '../platform/ignition.js'
import type {KolaTest, TestCluster} from './test.js'

const HELLO_UNIT = `[Unit]
Description=kola: a unit written and enabled by Ignition
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo ran > /run/kola-hello'
[Install]
WantedBy=multi-user.target
`

/** The config `coreos.ignition` boots with: a user, a file and a unit. */
export const IGNITION_USERDATA: IgnitionConfig = {
  ignition: {version: '3.3.0'},
  passwd: {users: [{name: 'kolatest', groups: ['adm']}]},
  storage: {files: [{path: '/etc/kola/hello.txt', mode: 0o644, contents: {source: 'data:,hello%20from%20ignition%0A'}}]},
  systemd: {units: [{name: 'kola-hello.service', enabled: true, contents: HELLO_UNIT}]},
}

/** The built-in suite: what every image with systemd, SSH and Ignition must do. */
export function builtinTests(): KolaTest[] {
  return [
    {
      name: 'coreos.basic',
      description: 'SSH works, systemd is running with no failed unit, the journal is recorded over SSH',
      clusterSize: 1,
      tags: ['smoke'],
      run: async (c) => {
        const [m] = c.machines
        if (!m) return c.fatal('no machine')
        await c.run('ssh', async (c) => {
          const who = await c.mustSsh(m, 'id -un')
          if (who !== 'core') c.fatal(`logged in as ${JSON.stringify(who)}, want "core"`)
        })
        await c.run('running', async (c) => {
          const state = (await m.ssh('systemctl is-system-running')).stdout.trim()
          if (state !== 'running') c.error(`system is ${state}`)
          const failed = await c.mustSsh(m, 'systemctl --failed --no-legend --plain')
          if (failed.trim()) c.error(`failed units: ${failed.trim()}`)
        })
        await c.run('journal', async (c) => {
          const mark = `kola-journal-${Date.now().toString(36)}`
          await c.mustSsh(m, `logger -t kola ${mark}`)
          await waitFor(c, 'the journal recorded over SSH to show the mark', async () => (await m.journalOutput()).includes(mark))
        })
      },
    },
    {
      name: 'coreos.ignition',
      description: 'The Ignition config of the test is applied at first boot: a user, a file, an enabled unit',
      clusterSize: 1,
      userData: IGNITION_USERDATA,
      run: async (c) => {
        const [m] = c.machines
        if (!m) return c.fatal('no machine')
        await c.run('user', async (c) => {
          const groups = await c.mustSsh(m, 'id -nG kolatest')
          if (!groups.split(' ').includes('adm')) c.error(`kolatest is in ${groups}, want adm among them`)
        })
        await c.run('file', async (c) => {
          const text = await c.mustSsh(m, 'cat /etc/kola/hello.txt')
          if (text !== 'hello from ignition') c.error(`/etc/kola/hello.txt holds ${JSON.stringify(text)}`)
        })
        await c.run('unit', async (c) => {
          const enabled = (await m.ssh('systemctl is-enabled kola-hello.service')).stdout.trim()
          if (enabled !== 'enabled') c.error(`kola-hello.service is ${enabled}`)
          const ran = await c.mustSsh(m, 'cat /run/kola-hello')
          if (ran !== 'ran') c.error(`kola-hello.service left ${JSON.stringify(ran)}`)
        })
      },
    },
    {
      name: 'coreos.network.private',
      description: 'Two machines: one reaches the other on the cluster private network',
      clusterSize: 2,
      run: async (c) => {
        const [a, b] = c.machines
        if (!a || !b) return c.fatal('want two machines')
        // bash's /dev/tcp: no extra package needed to open a TCP connection.
        const banner = await c.mustSsh(a, `timeout 20 bash -c 'exec 3<>/dev/tcp/${b.privateIp}/22; head -c 8 <&3'`)
        if (!banner.startsWith('SSH-2.0')) c.fatal(`${b.privateIp}:22 answered ${JSON.stringify(banner)}`)
        const name = await c.mustSsh(a, `ip -o -4 addr show | grep -c ' ${a.privateIp}/'`)
        if (name !== '1') c.error(`${a.privateIp} is not on one interface of ${a.id}`)
      },
    },
  ]
}

async function waitFor(c: TestCluster, what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) c.fatal(`timed out waiting for ${what}`)
    await sleep(500, undefined, {signal: c.signal})
  }
}
