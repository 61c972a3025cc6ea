import {describe, expect, it} from 'vitest'

import {addFile, addSshKey, toIgnition} from './ignition.js'
import {parseExport, renderExport} from './journal.js'
import {chooseAccel} from './qemu/accel.js'
import {parseForwardedPort} from './qemu/qmp.js'
import {parseStartupCheck} from './startup.js'

describe('parseForwardedPort', () => {
  it('reads the host port of the SSH forward from `info usernet`', () => {
    const usernet =
      'Hub -1 (eth0):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n  TCP[HOST_FORWARD]  14       127.0.0.1 42461       10.0.2.15    22     0     0\r\n'
    expect(parseForwardedPort(usernet)).toBe(42461)
    expect(parseForwardedPort('Hub -1 (eth0):\r\n')).toBeUndefined()
  })
})

describe('chooseAccel', () => {
  it('picks KVM only with a usable /dev/kvm and vmx or svm', async () => {
    expect((await chooseAccel('auto', {cpuinfo: 'flags\t: fpu vmx sse', kvmUsable: true})).accel).toBe('kvm')
    expect((await chooseAccel('auto', {cpuinfo: 'flags\t: fpu sse', kvmUsable: true})).accel).toBe('tcg')
    expect((await chooseAccel('auto', {cpuinfo: 'flags\t: fpu svm', kvmUsable: false})).accel).toBe('tcg')
    expect((await chooseAccel('kvm', {cpuinfo: '', kvmUsable: false})).accel).toBe('kvm')
  })
})

describe('Ignition config edits', () => {
  it('adds the SSH key to an existing user and a file, without touching the input', () => {
    const input = toIgnition('{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core","groups":["wheel"]}]}}')
    const out = addFile(addSshKey(input, 'core', 'ssh-ed25519 AAA kola'), '/etc/x', 'a b\n')
    expect(out.passwd?.users).toEqual([{name: 'core', groups: ['wheel'], sshAuthorizedKeys: ['ssh-ed25519 AAA kola']}])
    expect(out.storage?.files).toEqual([{path: '/etc/x', mode: 0o644, overwrite: true, contents: {source: 'data:,a%20b%0A'}}])
    expect(input.passwd?.users?.[0]?.sshAuthorizedKeys).toBeUndefined()
  })

  it('rejects cloud-config and Ignition 2.x', () => {
    expect(() => toIgnition('#cloud-config\nusers: []')).toThrow(/not an Ignition config/)
    expect(() => toIgnition({ignition: {version: '2.2.0'}})).toThrow(/unsupported Ignition config version/)
  })
})

describe('journal export format', () => {
  it('parses text and binary fields and renders journalctl-like lines', () => {
    const size = Buffer.alloc(8)
    size.writeBigUInt64LE(9n)
    const data = Buffer.concat([
      Buffer.from('__REALTIME_TIMESTAMP=1700000000123456\n_HOSTNAME=kola\nSYSLOG_IDENTIFIER=sshd\n_PID=77\nMESSAGE=hello\n\n'),
      Buffer.from('__REALTIME_TIMESTAMP=1700000001000000\nSYSLOG_IDENTIFIER=kernel\nMESSAGE\n'),
      size,
      Buffer.from('two\nlines\n\n'),
    ])
    expect(parseExport(data)).toHaveLength(2)
    expect(renderExport(data)).toBe(
      '2023-11-14T22:13:20.123456Z kola sshd[77]: hello\n2023-11-14T22:13:21.000000Z localhost kernel: two\n2023-11-14T22:13:21.000000Z localhost kernel: lines\n',
    )
  })
})

describe('journal export format after a restarted recorder', () => {
  it('keeps each entry once, by cursor', () => {
    const boot =
      '__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1700000000000000\nMESSAGE=one\n\n__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1700000001000000\nMESSAGE=two\n\n'
    const again = boot + '__CURSOR=s=1;i=3\n__REALTIME_TIMESTAMP=1700000002000000\nMESSAGE=three\n\n'
    expect(parseExport(Buffer.from(boot + again)).map((e) => e.MESSAGE)).toEqual(['one', 'two', 'three'])
  })
})

describe('parseStartupCheck', () => {
  it('reads the state, the OS and the failed units', () => {
    expect(parseStartupCheck('state=degraded\nos=debian\nfailed=foo.service\nfailed=bar.mount\n')).toEqual({
      state: 'degraded',
      os: 'debian',
      failedUnits: ['foo.service', 'bar.mount'],
    })
  })
})
