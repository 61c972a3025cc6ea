export * from './keyring.js'
export * from './signature.js'
export * from './default-keys.js'
export * from './parallel-hash.js'
