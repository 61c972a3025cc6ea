// Test helpers are TypeScript that no build ships (they stay out of dist/): a
// benchmark that needs one bundles it for node with esbuild, the bundler the
// build already uses. Imports of other packages' test helpers
// (`@mantle/<pkg>/.../testing`) are bundled from their source; every other
// package import stays external.
import {mkdir} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Bundles `source` (an ES module's text, resolved from `resolveDir`) into bench/.cache/<name>.mjs and imports it. */
export async function importTestCode(name, source, resolveDir) {
  const cache = join(root, 'bench', '.cache')
  await mkdir(cache, {recursive: true})
  const outfile = join(cache, `${name}.mjs`)
  await build({
    stdin: {contents: source, resolveDir, loader: 'ts'},
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'error',
    plugins: [
      {
        name: 'test-helpers-from-source',
        setup(b) {
          b.onResolve({filter: /^@mantle\/[^/]+\/.*testing/}, (args) => {
            const [, pkg, rest] = /^@mantle\/([^/]+)\/(.*)$/.exec(args.path)
            return {path: join(root, 'packages', pkg, 'src', `${rest}.ts`)}
          })
          b.onResolve({filter: /^[^./]/}, (args) => ({path: args.path, external: true}))
        },
      },
    ],
  })
  return import(pathToFileURL(outfile).href)
}
