// The fake clouds' machines (kola's own tests only): a real QEMU per instance,
// booted from the test image with the user data the fake API received as its
// Ignition config, reachable at a loopback address of its own with SSH on
// port 22 (QEMU's user network forwards that address's port 22 to the guest).
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {randomInt} from 'node:crypto'
import {closeSync, openSync} from 'node:fs'
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {sshStub} from './ssh-stub.js'

const execFileAsync = promisify(execFile)

export interface FakeMachine {
  /** Where SSH answers, on port 22. */
  ip: string
  console(): Promise<string>
  /** Powers the machine off; resolves when it is gone. */
  stop(): Promise<void>
}

/** Where a machine's NIC is (QEMU's user network); default QEMU's 10.0.2.0/24, the guest on DHCP. */
export interface MachineNetwork {
  /** The NIC's network (e.g. 192.168.76.0/24) and its gateway, the host's address there. */
  cidr: string
  gateway: string
  /** The address the guest gives itself, where its port 22 is forwarded to; default the first DHCP lease's. */
  guestAddress?: string | undefined
  /** Look like a VMware VM: DMI vendor VMware (systemd's Virtualization=vmware), the NIC in PCIe slot 192 (ens192). */
  vmware?: boolean | undefined
}

export interface MachineFactory {
  start(name: string, userData: string, network?: MachineNetwork): Promise<FakeMachine>
  /** Machines still running. */
  running(): number
  stopAll(): Promise<void>
}

/** A loopback /24 of its own for each factory: 127.<random>.<random>.N. */
function addressPool(): () => string {
  const prefix = `127.${randomInt(100, 250)}.${randomInt(1, 250)}`
  let next = 10
  return () => `${prefix}.${next++}`
}

/**
 * QEMU machines from the test image (KOLA_TEST_IMAGE, _KERNEL, _INITRD). With `netns`, QEMU runs in that network
 * namespace: the machines' addresses exist only there (reachable through a jump host in it, jump-host.ts).
 */
export function qemuMachines(dir: string, env: NodeJS.ProcessEnv = process.env, options: {netns?: string} = {}): MachineFactory {
  const nextIp = addressPool()
  const live = new Map<string, {child: ChildProcess; exited: Promise<void>}>()
  return {
    running: () => live.size,
    async start(name, userData, network) {
      const ip = nextIp()
      const vmDir = join(dir, ip)
      await mkdir(vmDir, {recursive: true})
      await writeFile(join(vmDir, 'config.ign'), userData)
      await execFileAsync('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-b',
        env.KOLA_TEST_IMAGE as string,
        '-F',
        'raw',
        join(vmDir, 'disk.qcow2'),
      ])
      const log = openSync(join(vmDir, 'qemu.log'), 'a')
      // setpriv: the machines die with the test process, whatever happens to it.
      // `ip netns exec` execs setpriv in the namespace (no fork): the death signal still follows this process.
      const inNetns = options.netns ? ['netns', 'exec', options.netns, 'setpriv'] : []
      const child = spawn(
        options.netns ? 'ip' : 'setpriv',
        [
          ...inNetns,
          '--pdeathsig',
          'KILL',
          '--',
          'qemu-system-x86_64',
          '-name',
          `fake-${name}`,
          '-accel',
          'tcg',
          '-m',
          '1024',
          '-smp',
          '1',
          '-display',
          'none',
          '-nodefaults',
          '-no-user-config',
          '-kernel',
          env.KOLA_TEST_KERNEL as string,
          '-initrd',
          env.KOLA_TEST_INITRD as string,
          '-append',
          // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic (seen here).
          'root=/dev/vda console=ttyS0 systemd.show_status=0 loglevel=5 no_timer_check',
          '-drive',
          `if=none,id=d0,file=${join(vmDir, 'disk.qcow2')},format=qcow2,cache=unsafe`,
          '-device',
          'virtio-blk-pci,drive=d0',
          ...nicArgs(ip, network),
          '-object',
          'rng-random,filename=/dev/urandom,id=rng0',
          '-device',
          'virtio-rng-pci,rng=rng0',
          '-fw_cfg',
          `name=opt/com.coreos/config,file=${join(vmDir, 'config.ign')}`,
          '-chardev',
          `file,id=ser0,path=${join(vmDir, 'serial.log')}`,
          '-serial',
          'chardev:ser0',
        ],
        {stdio: ['ignore', log, log]},
      )
      closeSync(log)
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      live.set(ip, {child, exited})
      return {
        ip,
        console: async () => readFile(join(vmDir, 'serial.log'), 'utf8').catch(() => ''),
        stop: async () => {
          const vm = live.get(ip)
          if (!vm) return
          vm.child.kill('SIGTERM')
          await vm.exited
          live.delete(ip)
          await rm(join(vmDir, 'disk.qcow2'), {force: true})
        },
      }
    },
    async stopAll() {
      await Promise.all(
        [...live.values()].map(async (vm) => {
          vm.child.kill('SIGKILL')
          await vm.exited
        }),
      )
      live.clear()
    },
  }
}

/** QEMU's user-network NIC, port 22 forwarded from `ip`; for a VMware look-alike on q35 with native PCIe hotplug (the slot number names the NIC). */
function nicArgs(ip: string, network: MachineNetwork | undefined): string[] {
  const net = network ? `,net=${network.cidr},host=${network.gateway}` : ''
  const netdev = ['-netdev', `user,id=n0,restrict=yes${net},hostfwd=tcp:${ip}:22-${network?.guestAddress ?? ''}:22`]
  if (!network?.vmware) return [...netdev, '-device', 'virtio-net-pci,netdev=n0']
  return [
    '-machine',
    'q35',
    '-global',
    'ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off',
    '-smbios',
    'type=1,manufacturer=VMware,, Inc.,product=VMware Virtual Platform',
    // No hypervisor CPUID bit: systemd would say "qemu" from TCG's CPUID signature before it reads the DMI vendor.
    '-cpu',
    'qemu64,-hypervisor',
    '-device',
    'pcie-root-port,id=rp192,chassis=1,slot=192',
    ...netdev,
    '-device',
    'virtio-net-pci,netdev=n0,bus=rp192',
  ]
}

/**
 * Machines that are only an SSH server answering kola's start-up check and
 * journal: for the benchmark, which measures kola's parallel launches, waits
 * and handshakes, not QEMU under TCG.
 */
export function stubMachines(): MachineFactory {
  const nextIp = addressPool()
  const live = new Map<string, () => Promise<void>>()
  return {
    running: () => live.size,
    async start(_name, userData) {
      const ip = nextIp()
      const keys =
        (JSON.parse(userData) as {passwd?: {users?: Array<{sshAuthorizedKeys?: string[]}>}}).passwd?.users?.flatMap(
          (u) => u.sshAuthorizedKeys ?? [],
        ) ?? []
      const server = await sshStub(ip, 22, keys)
      live.set(ip, server.close)
      return {
        ip,
        console: async () => 'stub console\n',
        stop: async () => {
          await live.get(ip)?.()
          live.delete(ip)
        },
      }
    },
    async stopAll() {
      await Promise.all([...live.values()].map((close) => close()))
      live.clear()
    },
  }
}
