import {defineConfig} from 'vitest/config'

// One configuration for every package: tests sit beside the code as *.test.ts.
// Integration tests boot emulators, containers and VMs, so timeouts are generous
// and files run with limited parallelism on this 2-core machine.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
})
