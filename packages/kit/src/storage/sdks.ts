import {createRequire} from 'node:module'

/**
 * The storage SDKs, each loaded from its one bundled file (scripts/build.mjs
 * writes them into the kit's vendor/): module by module, loading them cost a
 * short transfer more than the transfer itself (Azure 0.27 s against 0.15 s,
 * GCS 0.17 s against 0.09 s of CPU, measured on this project's machine).
 */
const load = createRequire(import.meta.url)

export function azureSdk(): typeof import('@azure/storage-blob') {
  return load('../../vendor/azure-storage-blob.cjs') as typeof import('@azure/storage-blob')
}

export function gcsSdk(): typeof import('@google-cloud/storage') {
  return load('../../vendor/google-cloud-storage.cjs') as typeof import('@google-cloud/storage')
}
