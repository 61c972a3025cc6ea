import {describe, expect, it} from 'vitest'

import {StaticIpPool, staticIpPairs, vmwareNetworkUnit} from './static-ips.js'

// flatcar/mantle platform/machine/esx/flight.go (N consecutive pairs from the
// first public and private address, in a channel) and cluster.go (the
// networkd unit 00-vmware.network written into each machine's Ignition config).
const settings = {
  count: 3,
  firstPublic: '198.51.100.254',
  firstPrivate: '10.0.3.50',
  publicGateway: '198.51.100.1',
  privateGateway: '10.0.3.1',
  subnetSize: 23,
}

describe('esx static addresses', () => {
  it('Given --esx-static-ips 3, when the run makes its pool, then it holds three consecutive pairs, counting over an octet', () => {
    expect(staticIpPairs(settings).map((p) => [p.public, p.private])).toEqual([
      ['198.51.100.254', '10.0.3.50'],
      ['198.51.100.255', '10.0.3.51'],
      ['198.51.101.0', '10.0.3.52'],
    ])
  })

  it("Given a pair, when its unit is written, then it is cluster.go's: both addresses on ens192 of a VMware VM, the two routes", () => {
    expect(vmwareNetworkUnit(staticIpPairs(settings)[0]!)).toBe(`[Match]
Virtualization=vmware
Name=ens192

[Network]
DHCP=no
DNS=1.1.1.1
DNS=1.0.0.1

[Address]
Address=198.51.100.254/23

[Address]
Address=10.0.3.50/23

[Route]
Destination=0.0.0.0/0
Gateway=198.51.100.1

[Route]
Destination=10.0.0.0/8
Gateway=10.0.3.1
`)
  })

  it('Given a pool of one pair, when a second machine asks, then it waits until the first gives the pair back; an aborted wait takes nothing', async () => {
    const pool = new StaticIpPool(staticIpPairs({...settings, count: 1}))
    const first = await pool.take(new AbortController().signal)
    const aborted = new AbortController()
    const gaveUp = pool.take(aborted.signal)
    const second = pool.take(new AbortController().signal)
    let got: string | undefined
    void second.then((p) => (got = p.public))
    aborted.abort(new Error('interrupted'))
    await expect(gaveUp).rejects.toThrow('interrupted')
    await Promise.resolve()
    expect(got).toBeUndefined()
    pool.give(first)
    expect((await second).public).toBe('198.51.100.254')
  })
})
