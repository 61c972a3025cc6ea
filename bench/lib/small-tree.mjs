// The small-objects workload of issue 25: files of 100 B to 20 KB in 50 directories, sizes from a fixed linear
// congruential sequence, so every run and every benchmark writes the same tree.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/** Writes `count` files under `dir` (dir-<i % 50>/file-<i>.txt); returns their total size in bytes. */
export function writeSmallTree(dir, count) {
  let seed = 25
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  let total = 0
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `dir-${i % 50}`)
    if (i < 50) mkdirSync(sub, {recursive: true})
    const size = 100 + (next() % (20 * 1024 - 100))
    writeFileSync(join(sub, `file-${i}.txt`), Buffer.alloc(size, `${i}:${size}:`))
    total += size
  }
  return total
}
