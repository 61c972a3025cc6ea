/**
 * What a local Kubernetes cluster of kola's (kube/local.ts, assets/kube/cluster.sh)
 * can leave on the machine: processes, mounts, pod network namespaces and
 * bridges. Tests take a snapshot before and compare after.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync} from 'node:fs'

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
