/**
 * A run-tests project on disk:
 *
 *   kola-tests.yaml   settings, validated by assets/kube/run-tests.schema.json
 *   manifests/        plain YAML manifests (every document of every *.yaml / *.yml, in file-name order)
 *   charts/...        Helm charts named in the settings, with their values files
 *   tests/            one test per entry: a Job (*.yaml / *.yml) or a script kola wraps into a Job
 *
 * Loading checks everything it can before a cluster is touched: a bad
 * settings file, a missing directory or a test file that is not one Job is a
 * UsageError naming the file, the path inside it and what was expected.
 */
import {readdir, readFile, stat} from 'node:fs/promises'
import {basename, dirname, extname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {UsageError} from '@mantle/kit'
import {parseAllDocuments} from 'yaml'

export const SETTINGS_FILE = 'kola-tests.yaml'
export const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'assets', 'kube', 'run-tests.schema.json')
export const DEFAULT_IMAGE = 'mantle.local/busybox:local'

export interface ChartSpec {
  name: string
  /** Absolute chart directory. */
  chart: string
  /** Absolute values files. */
  values: string[]
  set: Record<string, string | number | boolean>
}

export interface Settings {
  manifests: string
  charts: ChartSpec[]
  tests: string
  image: string
  parallelism: number
  timeoutSeconds: number
  readyTimeoutSeconds: number
  namespacePerTest: boolean
  env: Record<string, string>
}

export type K8sObject = {
  apiVersion: string
  kind: string
  metadata: {name?: string; namespace?: string; [k: string]: unknown}
  [k: string]: unknown
}

export interface Manifest {
  file: string
  object: K8sObject
}

/** A Job test with this annotation is a kubernetes-assert runner: its pod's metrics on that port decide. */
export const METRICS_ANNOTATION = 'kola.mantle.io/metrics-port'

export type TestSpec = {name: string; file: string} & (
  {kind: 'job'; job: K8sObject; metricsPort?: number | undefined} | {kind: 'script'; script: string}
)

export interface Project {
  dir: string
  settingsFile: string
  settings: Settings
  manifests: Manifest[]
  tests: TestSpec[]
}

interface RawSettings {
  manifests?: string
  charts?: {name: string; chart: string; values?: string[]; set?: Record<string, string | number | boolean>}[]
  tests?: string
  image?: string
  parallelism?: number
  timeout?: number
  readyTimeout?: number
  namespacePerTest?: boolean
  env?: Record<string, string>
}

type Validate = ((data: unknown) => boolean) & {errors?: {instancePath: string; message?: string; params: Record<string, unknown>}[] | null}
let validator: Validate | undefined

async function schemaValidator(): Promise<Validate> {
  if (validator) return validator
  const {Ajv} = await import('ajv')
  const schema = JSON.parse(await readFile(SCHEMA_FILE, 'utf8')) as object
  validator = new Ajv({allErrors: true, strict: false}).compile(schema) as Validate
  return validator
}

/** `settings.charts[0].name` style path from a JSON pointer. */
function pathOf(pointer: string, extra?: unknown): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (typeof extra === 'string') parts.push(extra)
  let out = ''
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : `${out ? '.' : ''}${p}`
  return out || '(top level)'
}

export async function validateSettings(file: string, text: string): Promise<RawSettings> {
  const docs = parseAllDocuments(text)
  if (Array.isArray(docs) && docs.length > 1) throw new UsageError(`${file}: expected one YAML document, found ${docs.length}`)
  const doc = Array.isArray(docs) ? docs[0] : docs
  const yamlError = doc?.errors[0]
  if (yamlError) throw new UsageError(`${file}: not valid YAML: ${yamlError.message.split('\n')[0]}`)
  const data = (doc?.toJS() ?? {}) as unknown
  const validate = await schemaValidator()
  if (!validate(data)) {
    const e = validate.errors?.[0]
    if (!e) throw new UsageError(`${file}: does not match the settings schema`)
    const where = pathOf(e.instancePath, e.params.additionalProperty ?? e.params.missingProperty)
    const expected =
      e.params.additionalProperty !== undefined
        ? 'is not a known setting'
        : e.params.missingProperty !== undefined
          ? 'is required'
          : e.params.allowedValues
            ? `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`
            : (e.message ?? 'is invalid')
    throw new UsageError(`${file}: ${where} ${expected}`, {hint: `the settings schema is ${SCHEMA_FILE}`})
  }
  return data as RawSettings
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  )
}

function isYaml(name: string): boolean {
  return ['.yaml', '.yml'].includes(extname(name))
}

/** Every document of a YAML file as a Kubernetes object (empty documents skipped). */
export function parseObjects(file: string, text: string): K8sObject[] {
  const out: K8sObject[] = []
  parseAllDocuments(text).forEach((doc, i) => {
    const yamlError = doc.errors[0]
    if (yamlError) throw new UsageError(`${file}: not valid YAML (document ${i + 1}): ${yamlError.message.split('\n')[0]}`)
    const o = doc.toJS() as Partial<K8sObject> | null
    if (o === null || o === undefined) return
    if (typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new UsageError(`${file}: document ${i + 1} must be a Kubernetes object with apiVersion, kind and metadata.name`)
    }
    out.push(o as K8sObject)
  })
  return out
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

/** A test's name from its file: lower case, only [-a-z0-9], as Job names must be. */
function testName(file: string): string {
  return basename(file, extname(file))
    .toLowerCase()
    .replace(/[^-a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
}

export async function loadProject(dirArg: string, cwd: string): Promise<Project> {
  const dir = resolve(cwd, dirArg)
  if (!(await isDir(dir))) throw new UsageError(`project directory ${dir} does not exist`)
  const settingsFile = join(dir, SETTINGS_FILE)
  const text = await readFile(settingsFile, 'utf8').catch(() => {
    throw new UsageError(`${settingsFile} is missing`, {hint: `a run-tests project has a ${SETTINGS_FILE} (it may be empty)`})
  })
  const raw = await validateSettings(settingsFile, text)
  const settings: Settings = {
    manifests: join(dir, raw.manifests ?? 'manifests'),
    tests: join(dir, raw.tests ?? 'tests'),
    charts: (raw.charts ?? []).map((c) => ({
      name: c.name,
      chart: resolve(dir, c.chart),
      values: (c.values ?? []).map((v) => resolve(dir, v)),
      set: c.set ?? {},
    })),
    image: raw.image ?? DEFAULT_IMAGE,
    parallelism: raw.parallelism ?? 5,
    timeoutSeconds: raw.timeout ?? 300,
    readyTimeoutSeconds: raw.readyTimeout ?? 300,
    namespacePerTest: raw.namespacePerTest ?? false,
    env: raw.env ?? {},
  }
  for (const [i, c] of settings.charts.entries()) {
    if (!(await isDir(c.chart))) throw new UsageError(`${settingsFile}: charts[${i}].chart ${c.chart} is not a directory`)
    for (const [j, v] of c.values.entries()) {
      if (
        !(await stat(v).then(
          (s) => s.isFile(),
          () => false,
        ))
      )
        throw new UsageError(`${settingsFile}: charts[${i}].values[${j}] ${v} is not a file`)
    }
  }
  const manifests: Manifest[] = []
  if (raw.manifests !== undefined && !(await isDir(settings.manifests)))
    throw new UsageError(`${settingsFile}: manifests ${settings.manifests} is not a directory`)
  if (await isDir(settings.manifests)) {
    for (const name of (await readdir(settings.manifests)).filter(isYaml).sort()) {
      const file = join(settings.manifests, name)
      for (const object of parseObjects(file, await readFile(file, 'utf8'))) manifests.push({file, object})
    }
  }
  if (!(await isDir(settings.tests))) throw new UsageError(`${settingsFile}: tests ${settings.tests} is not a directory`)
  const tests: TestSpec[] = []
  const seen = new Map<string, string>()
  for (const entry of (await readdir(settings.tests, {withFileTypes: true}))
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(settings.tests, entry.name)
    const name = testName(entry.name)
    if (!NAME_RE.test(name)) throw new UsageError(`${file}: cannot make a test name from the file name`)
    const other = seen.get(name)
    if (other) throw new UsageError(`${file}: test name ${name} is also the name of ${other}`)
    seen.set(name, file)
    const content = await readFile(file, 'utf8')
    if (isYaml(entry.name)) {
      const objects = parseObjects(file, content)
      const job = objects[0]
      if (objects.length !== 1 || !job || job.kind !== 'Job' || !/^batch\//.test(job.apiVersion))
        throw new UsageError(`${file}: a test YAML must hold exactly one batch/v1 Job`)
      const port = (job.metadata.annotations as Record<string, string> | undefined)?.[METRICS_ANNOTATION]
      if (port !== undefined && !/^\d{1,5}$/.test(String(port)))
        throw new UsageError(`${file}: metadata.annotations["${METRICS_ANNOTATION}"] must be a port number`)
      tests.push({name, file, kind: 'job', job, metricsPort: port === undefined ? undefined : Number(port)})
    } else tests.push({name, file, kind: 'script', script: content})
  }
  if (tests.length === 0) throw new UsageError(`${settings.tests} holds no tests`)
  return {dir, settingsFile, settings, manifests, tests}
}
