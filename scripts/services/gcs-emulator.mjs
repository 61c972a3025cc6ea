// Google Cloud Storage for the storage tests: firebase-tools' own Node storage
// emulator, without its Java rules runtime (Debian 12 has Java 17, the
// runtime wants 21). The GCS JSON API of the emulator uses the admin storage
// layer, which never consults rules, so stubbing them out changes nothing the
// tests rely on. Usage: node gcs-emulator.mjs PORT (runs until SIGTERM).
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
const {StorageEmulator} = require('firebase-tools/lib/emulator/storage')
const {EmulatorRegistry} = require('firebase-tools/lib/emulator/registry')

const server = require('firebase-tools/lib/emulator/storage/server')
const express = require(require.resolve('express', {paths: [require.resolve('firebase-tools')]}))

// The emulator serves copy/rewrite only without the /storage/v1 prefix that
// the real service and the client library use: route those calls to it.
const createApp = server.createApp
server.createApp = async (...args) => {
  const inner = await createApp(...args)
  const outer = express()
  outer.use((req, _res, next) => {
    if (/^\/storage\/v1\/b\/[^/]+\/o\/[^/]+\/(copyTo|rewriteTo)\//.test(req.url)) req.url = req.url.slice('/storage/v1'.length)
    next()
  })
  outer.use(inner)
  return outer
}

const port = Number(process.argv[2] ?? 9199)
const emulator = new StorageEmulator({projectId: 'mantle-test', host: '127.0.0.1', port, auto_download: false})
emulator._rulesRuntime.start = async () => {}
emulator._rulesRuntime.stop = async () => {}
emulator._rulesManager = {start: async () => {}, stop: async () => {}, getRuleset: () => undefined}
await EmulatorRegistry.start(emulator)
process.stderr.write(`gcs-emulator: listening on http://127.0.0.1:${port}\n`)

const stop = async () => {
  await emulator.stop().catch(() => undefined)
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
