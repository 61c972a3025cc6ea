// An SSH server that plays a booted machine for kola's start-up check and
// journal (benchmark only: it measures kola, not a guest OS).
import {timingSafeEqual} from 'node:crypto'

import ssh2 from 'ssh2'

export async function sshStub(host: string, port: number, authorizedKeys: string[]): Promise<{close: () => Promise<void>}> {
  const {Server, utils} = ssh2
  const hostKey = utils.generateKeyPairSync('ed25519').private
  const allowed = authorizedKeys.map((k) => utils.parseKey(k)).filter((k): k is ssh2.ParsedKey => !(k instanceof Error))
  const server = new Server({hostKeys: [hostKey]}, (client) => {
    client.on('error', () => undefined)
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey'])
      const ok = allowed.some(
        (k) =>
          k.type === ctx.key.algo && k.getPublicSSH().length === ctx.key.data.length && timingSafeEqual(k.getPublicSSH(), ctx.key.data),
      )
      if (!ok) return ctx.reject()
      if (ctx.signature && ctx.blob) {
        const key = allowed.find((k) => timingSafeEqual(k.getPublicSSH(), ctx.key.data))
        if (!key?.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.reject()
      }
      ctx.accept()
    })
    client.on('session', (accept) => {
      const session = accept()
      session.on('exec', (acceptExec, _reject, info) => {
        const channel = acceptExec()
        if (info.command.startsWith('journalctl')) return // follows until closed
        if (info.command.includes('is-system-running')) channel.write('state=running\nos=debian\n')
        else if (info.command.includes('boot_id')) channel.write('00000000-0000-0000-0000-000000000000\n')
        channel.exit(0)
        channel.end()
      })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {close: () => new Promise((resolve) => server.close(() => resolve()))}
}
