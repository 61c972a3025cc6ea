import {fileURLToPath} from 'node:url'
import {defineConfig} from 'vitest/config'

const packages = fileURLToPath(new URL('./packages/', import.meta.url))

// One configuration for every package: tests sit beside the code as *.test.ts.
// Integration tests boot emulators, containers and VMs, so timeouts are generous
// and files run with limited parallelism on this 2-core machine.
export default defineConfig({
  // Tests run on the TypeScript sources of every workspace package, not on dist/.
  resolve: {
    alias: [
      {find: /^@mantle\/([^/]+)$/, replacement: `${packages}$1/src/index.ts`},
      {find: /^@mantle\/([^/]+)\/(.+)$/, replacement: `${packages}$1/src/$2.ts`},
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
})
