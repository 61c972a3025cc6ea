/**
 * What a local Kubernetes cluster of kola's (kube/local.ts, assets/kube/cluster.sh)
 * can leave on the machine: processes, mounts, pod network namespaces and
 * bridges. Tests take a snapshot before and compare after.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** What a cluster leaves on the machine: found by its directory, and /run/mantle-kube/k* (kola's local clusters; the service's is svc). */
export function kubeLeftovers(outputDir: string): {processes: string[]; mounts: string[]; links: string[]} {
  const ours = (l: string) => l.includes(outputDir) || l.includes('/run/mantle-kube/k')
  const processes = execFileSync('ps', ['-eo', 'pid=,args='], {encoding: 'utf8'})
    .split('\n')
    .filter((l) => ours(l) && !l.includes('vitest'))
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(ours)
  return {processes, mounts, links: kubeBridges()}
}

/** The pod network namespaces (cni-*) on the machine. */
export function netnsList(): string[] {
  return existsSync('/var/run/netns')
    ? readdirSync('/var/run/netns')
        .filter((n) => n.startsWith('cni-'))
        .sort()
    : []
}

/** The pod subnets (10.X) a network namespace's interfaces are on; none once its veth is gone. */
function netnsSubnets(name: string): number[] {
  try {
    const out = execFileSync('ip', ['-n', name, '-o', '-4', 'addr', 'show'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
    return [...out.matchAll(/inet 10\.(\d+)\./g)].map((m) => Number(m[1]))
  } catch {
    return []
  }
}

/**
 * Pod network namespaces that appeared since `before` and are not the service
 * cluster's (pods 10.244, which other test files use meanwhile). One of a pod
 * of the service's that is being set up or torn down has no address for a
 * moment, so a candidate counts only if it is still there, still without a
 * 10.244 address, a few seconds later.
 */
export async function leakedNetns(before: string[]): Promise<string[]> {
  const candidates = () => netnsList().filter((n) => !before.includes(n) && !netnsSubnets(n).includes(244))
  const first = candidates()
  if (first.length === 0) return []
  await new Promise((r) => setTimeout(r, 5000))
  return candidates().filter((n) => first.includes(n))
}

/** The bridges of kola's local clusters (mk-k*; the service's is mk-svc). */
export function kubeBridges(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], {encoding: 'utf8'})
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith('mk-k'))
    .sort()
}

/**
 * Holds the machine-wide lock of the suites that start kola's local clusters
 * and then look for what any local cluster left (processes and mounts under
 * /run/mantle-kube/k*, `kola kube down --all`): two such files running at
 * once would each see the other's cluster. Waits while another live process
 * holds it (a lock whose process is gone is taken over); resolves with the release.
 */
export async function lockLocalClusters(): Promise<() => Promise<void>> {
  const path = join(tmpdir(), 'mantle-kube-local-clusters.lock')
  for (;;) {
    try {
      await writeFile(path, String(process.pid), {flag: 'wx'})
      return () => rm(path, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = Number(await readFile(path, 'utf8').catch(() => ''))
    if (holder > 0 && !alive(holder)) await rm(path, {force: true})
    else await new Promise((r) => setTimeout(r, 1000))
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
