// A platform defined outside kola (loaded with --platform-module by the
// registry's test): its machines are not booted; their "SSH" answers every
// command with a fixed text, and the flight records what it was given.
import {appendFileSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const record = (line) => process.env.LAB_RECORD && appendFileSync(process.env.LAB_RECORD, `${line}\n`)

export const platform = {
  name: 'lab',
  aliases: ['bench-lab'],
  summary: 'machines answered by the test itself',
  createFlight: async (options, common) => {
    record(`flight distro=${common.distro.name} user=${common.distro.user} run=${common.runId} options=${JSON.stringify(options)}`)
    return {
      platform: 'lab',
      identity: {user: common.distro.user, privateKey: '', publicKey: ''},
      newCluster: async (o) => {
        const list = []
        return {
          name: o.name,
          outputDir: o.outputDir,
          machines: () => [...list],
          newMachine: async () => {
            const id = `lab-${list.length}`
            const outputDir = join(o.outputDir, id)
            mkdirSync(outputDir, {recursive: true})
            writeFileSync(join(outputDir, 'console.txt'), 'lab console\n')
            const m = {
              id,
              ip: '192.0.2.1',
              sshPort: 22,
              privateIp: '192.0.2.1',
              outputDir,
              ssh: async (command) => ({stdout: `lab says: ${command}\n`, stderr: '', code: 0}),
              sshClient: async () => Promise.reject(new Error('no client')),
              reboot: async () => undefined,
              destroy: async () => record(`destroy ${id}`),
              consoleOutput: async () => 'lab console\n',
              journalOutput: async () => '',
            }
            list.push(m)
            record(`machine ${id} in ${o.name}`)
            return m
          },
          destroy: async () => Promise.all(list.map((m) => m.destroy())),
          consoleOutput: async () => ({}),
          journalOutput: async () => ({}),
        }
      },
      destroy: async () => record('flight destroyed'),
    }
  },
}
