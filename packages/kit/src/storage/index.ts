export * from './types.js'
export * from './errors.js'
export * from './url.js'
export * from './open.js'
