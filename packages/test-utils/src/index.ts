export * from './temp-dir.js'
export * from './cli.js'
export * from './service-env.js'
export * from './logger.js'
