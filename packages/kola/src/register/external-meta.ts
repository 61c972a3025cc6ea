import {UsageError} from '@mantle/kit'

/**
 * The metadata of an external test, with the meaning coreos-assembler's
 * `docs/kola/external-tests.md` gives the keys: from `kola.json` beside the
 * executables, or inline in a script (`# kola: {json}` on one line, or
 * `## kola:` followed by `## ` YAML lines).
 */
export interface ExternalMeta {
  architectures?: Inclusion
  platforms?: Inclusion
  distros?: Inclusion
  tags?: string[]
  /** Runs only when asked for with `--tag <requiredTag>`. */
  requiredTag?: string
  timeoutMin?: number
  /** MiB of memory the machine needs at least. */
  minMemory?: number
  /** GiB of primary disk the machine needs at least. */
  minDisk?: number
  /** Sizes of extra disks (`5G`, `512M`). */
  additionalDisks?: string[]
  additionalNics?: number
  appendKernelArgs?: string
  /** Default true: a machine of its own. */
  exclusive?: boolean
  /** Tests that must not share a machine with this one. */
  conflicts?: string[]
  allowConfigWarnings?: boolean
  description?: string
  /** `YYYY-MM-DD`: failures only warn for 30 days after it. */
  creationDate?: string
}

/** `"a b"` allows only a and b; `"!a b"` allows all but a and b. */
export interface Inclusion {
  only: string[]
  exclude: string[]
}

const KEYS = [
  'architectures',
  'platforms',
  'distros',
  'tags',
  'requiredTag',
  'timeoutMin',
  'minMemory',
  'minDisk',
  'additionalDisks',
  'additionalNics',
  'appendKernelArgs',
  'exclusive',
  'conflicts',
  'allowConfigWarnings',
  'description',
  'creationDate',
] as const

/** Keys coreos-assembler knows that this kola does not implement: named in the error rather than "unknown". */
const UNSUPPORTED = [
  'primaryDisk',
  'injectContainer',
  'numaNodes',
  'appendFirstbootKernelArgs',
  'noInstanceCreds',
  'instanceType',
  'bindMountHostRO',
  'requiredHostPorts',
  'bootFrom',
]

/** Validates parsed metadata (JSON or YAML) and normalises it. */
export function parseMeta(raw: unknown, source: string): ExternalMeta {
  if (raw === null || raw === undefined) return {}
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad(source, 'metadata must be an object')
  const meta: ExternalMeta = {}
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (UNSUPPORTED.includes(key)) throw bad(source, `key ${key} is not supported by this kola`)
    if (!(KEYS as readonly string[]).includes(key)) throw bad(source, `unknown key ${key}`, `known keys: ${KEYS.join(', ')}`)
    const k = key as (typeof KEYS)[number]
    switch (k) {
      case 'architectures':
      case 'platforms':
      case 'distros':
        meta[k] = inclusion(words(value, source, k), source, k)
        break
      case 'tags':
      case 'conflicts':
      case 'additionalDisks':
        meta[k] = words(value, source, k)
        break
      case 'requiredTag':
      case 'appendKernelArgs':
      case 'description':
        meta[k] = str(value, source, k)
        break
      case 'creationDate': {
        const d = value instanceof Date ? value.toISOString().slice(0, 10) : str(value, source, k)
        if (!/^\d{4}-\d{2}-\d{2}$/.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)))
          throw bad(source, `creationDate ${JSON.stringify(d)} is not a date`, 'write YYYY-MM-DD')
        meta.creationDate = d
        break
      }
      case 'timeoutMin':
      case 'minMemory':
      case 'minDisk':
        meta[k] = positive(value, source, k)
        break
      case 'additionalNics': {
        const n = value === 0 ? 0 : positive(value, source, k)
        if (!Number.isInteger(n)) throw bad(source, `${k} must be a whole number`)
        meta.additionalNics = n
        break
      }
      case 'exclusive':
      case 'allowConfigWarnings':
        if (typeof value !== 'boolean') throw bad(source, `${k} must be true or false`)
        meta[k] = value
        break
    }
  }
  for (const size of meta.additionalDisks ?? []) diskSizeMiB(size, source)
  if (meta.conflicts?.length && meta.exclusive !== false)
    throw bad(source, 'conflicts only make sense with "exclusive": false', 'an exclusive test has a machine of its own already')
  if (meta.allowConfigWarnings && meta.exclusive === false)
    throw bad(source, 'a non-exclusive test cannot allow config warnings', 'its Ignition config is shared with other tests')
  return meta
}

/** The later source's keys win: inline metadata over kola.json. */
export function mergeMeta(base: ExternalMeta, over: ExternalMeta): ExternalMeta {
  return {...base, ...over}
}

/**
 * Inline metadata of a script: `# kola: {json}` (one line), or `## kola:`
 * followed by lines starting with `## `, which are YAML. Undefined when the
 * file has neither.
 */
export async function inlineMeta(text: string, source: string): Promise<ExternalMeta | undefined> {
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.startsWith('# kola:')) {
      try {
        return parseMeta(JSON.parse(line.slice('# kola:'.length)), source)
      } catch (error) {
        if (error instanceof UsageError) throw error
        throw bad(source, `the "# kola:" line is not one line of JSON: ${(error as Error).message}`)
      }
    }
    if (line.trimEnd() === '## kola:') {
      const body: string[] = []
      for (let j = i + 1; j < lines.length && (lines[j] as string).startsWith('## '); j++) body.push((lines[j] as string).slice(3))
      const {parse} = await import('yaml')
      let doc: unknown
      try {
        doc = parse(body.join('\n'))
      } catch (error) {
        throw bad(source, `the "## kola:" block is not YAML: ${(error as Error).message}`)
      }
      return parseMeta(doc, source)
    }
  }
  return undefined
}

/** `5G`, `512M`, `1T`, or a plain number of GiB, in MiB. */
export function diskSizeMiB(size: string, source = 'additionalDisks'): number {
  const m = /^(\d+)([MGT]?)$/i.exec(size.trim())
  if (!m || Number(m[1]) === 0) throw bad(source, `disk size ${JSON.stringify(size)} is not a size`, 'write e.g. 5G or 512M')
  const unit = (m[2] ?? '').toUpperCase()
  const factor = unit === 'M' ? 1 : unit === 'T' ? 1024 * 1024 : 1024
  return Number(m[1]) * factor
}

function words(value: unknown, source: string, key: string): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.flatMap((v: string) => v.split(/\s+/).filter(Boolean))
  throw bad(source, `${key} must be a whitespace-separated string or a list of strings`)
}

function inclusion(list: string[], source: string, key: string): Inclusion {
  const negated = list[0]?.startsWith('!') ?? false
  const names = list.map((w, i) => (i === 0 && negated ? w.slice(1) : w)).filter(Boolean)
  if (names.some((w) => w.startsWith('!'))) throw bad(source, `${key}: only the first word may start with "!" (it negates the whole list)`)
  return negated ? {only: [], exclude: names} : {only: names, exclude: []}
}

function str(value: unknown, source: string, key: string): string {
  if (typeof value !== 'string') throw bad(source, `${key} must be a string`)
  return value
}

function positive(value: unknown, source: string, key: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw bad(source, `${key} must be a positive number`)
  return value
}

function bad(source: string, message: string, hint?: string): UsageError {
  return new UsageError(`${source}: ${message}`, hint ? {hint} : undefined)
}
