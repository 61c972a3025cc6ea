import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {isolatedEnv, makeTempDir, runCli} from '@mantle/test-utils'

/** do, packet, openstack and esx with bad input: one line each, exit 2, before any network call. */
describe('ore do/packet/openstack/esx: bad input', () => {
  let home: string
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({dir: home, cleanup} = await makeTempDir())
    await mkdir(join(home, '.config'))
    await writeFile(
      join(home, '.config', 'openstack.json'),
      JSON.stringify({default: {auth_url: 'https://keystone.invalid/v3', username: 'u', password: 'os-pass-123456'}}),
      {mode: 0o600},
    )
    await writeFile(
      join(home, '.config', 'esx.json'),
      JSON.stringify({default: {server: 'vcenter.invalid', user: 'u', password: 'esx-pass-123456'}}),
      {mode: 0o600},
    )
  })
  afterAll(() => cleanup())
  const ore = (args: string[]) => runCli('ore', args, {env: isolatedEnv(home)})

  it('do without a credentials file names the file and what to do', async () => {
    const r = await ore(['do', 'gc'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `ore: error: do credentials ${join(home, '.config', 'digitalocean.json')} (profile "default"): file not found (create it or pass --do-config-file)`,
    )
  })

  it('packet with a profile the file lacks', async () => {
    await writeFile(join(home, 'packet.json'), JSON.stringify({default: {api_key: 'packet-key-123456', project: 'p'}}), {mode: 0o600})
    const r = await ore(['packet', 'list-keys', '--packet-config-file', join(home, 'packet.json'), '--packet-profile', 'ci'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      `ore: error: packet credentials ${join(home, 'packet.json')} (profile "ci"): profile not found (profiles in file: default) (choose one with --packet-profile)`,
    )
  })

  it('openstack create-image with a missing file', async () => {
    const r = await ore(['openstack', 'create-image', '--name', 'x', '--file', join(home, 'nope.img')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`ore: error: cannot read ${join(home, 'nope.img')}: ENOENT (check the path given to --file)`)
  })

  it('esx create-base with a missing OVA', async () => {
    const r = await ore(['esx', 'create-base', '--name', 'base', '--file', join(home, 'nope.ova')])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`ore: error: cannot read ${join(home, 'nope.ova')}: ENOENT (check the path given to --file)`)
  })

  it('delete-keys without names or --prefix', async () => {
    const r = await ore(['do', 'delete-keys'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('ore: error: do delete-keys: name the keys, or give --prefix')
  })
})
