// --esx-static-ips: addresses instead of DHCP, as flatcar/mantle's esx platform
// hands them out (platform/machine/esx/flight.go: N consecutive public and
// private addresses in a pool; cluster.go: one pair per machine, written into
// the Ignition config as a networkd unit, back into the pool when the machine
// is gone or its creation failed).

/** One address pair a machine gets. */
export interface StaticIpPair {
  public: string
  private: string
  publicGateway: string
  privateGateway: string
  /** Prefix length of both subnets. */
  subnetSize: number
}

/** The --esx-static-ips settings, checked by options.ts. */
export interface EsxStaticIps {
  /** How many consecutive addresses, from each first address on. */
  count: number
  firstPublic: string
  firstPrivate: string
  publicGateway: string
  privateGateway: string
  subnetSize: number
}

export function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined
  return parts.reduce((n, p) => n * 256 + Number(p), 0)
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}

/** The N pairs of flight.go: each first address counted up by one per machine. */
export function staticIpPairs(s: EsxStaticIps): StaticIpPair[] {
  const pub = ipv4ToNumber(s.firstPublic) as number
  const priv = ipv4ToNumber(s.firstPrivate) as number
  return Array.from({length: s.count}, (_, i) => ({
    public: numberToIpv4(pub + i),
    private: numberToIpv4(priv + i),
    publicGateway: s.publicGateway,
    privateGateway: s.privateGateway,
    subnetSize: s.subnetSize,
  }))
}

/**
 * The networkd unit Flatcar's esx cluster.go writes to
 * /etc/systemd/network/00-vmware.network: both addresses on ens192 (the
 * VMXNET3 NIC of a VMware VM), the default route via the public gateway and
 * 10.0.0.0/8 via the private one, Cloudflare's resolvers.
 */
export function vmwareNetworkUnit(ips: StaticIpPair): string {
  return `[Match]
Virtualization=vmware
Name=ens192

[Network]
DHCP=no
DNS=1.1.1.1
DNS=1.0.0.1

[Address]
Address=${ips.public}/${ips.subnetSize}

[Address]
Address=${ips.private}/${ips.subnetSize}

[Route]
Destination=0.0.0.0/0
Gateway=${ips.publicGateway}

[Route]
Destination=10.0.0.0/8
Gateway=${ips.privateGateway}
`
}

export const VMWARE_NETWORK_UNIT_PATH = '/etc/systemd/network/00-vmware.network'

/** The run's pairs: a machine takes one (waiting while all are in use, as flight.go's channel) and gives it back. */
export class StaticIpPool {
  private readonly free: StaticIpPair[]
  private readonly waiting: Array<(pair: StaticIpPair) => void> = []

  constructor(pairs: StaticIpPair[]) {
    this.free = [...pairs]
  }

  async take(signal: AbortSignal): Promise<StaticIpPair> {
    const pair = this.free.shift()
    if (pair) return pair
    signal.throwIfAborted()
    return new Promise((resolve, reject) => {
      const waiter = (p: StaticIpPair): void => {
        signal.removeEventListener('abort', onAbort)
        resolve(p)
      }
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1)
        reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, {once: true})
      this.waiting.push(waiter)
    })
  }

  give(pair: StaticIpPair): void {
    const next = this.waiting.shift()
    if (next) next(pair)
    else this.free.push(pair)
  }
}
