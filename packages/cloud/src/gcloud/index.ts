export * from './compute.js'
export * from './images.js'
export * from './instances.js'
export * from './upload.js'
