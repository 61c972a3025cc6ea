export * from './download.js'
