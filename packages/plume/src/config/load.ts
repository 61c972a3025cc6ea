import {readFile} from 'node:fs/promises'

import {UsageError} from '@mantle/kit'
import type {ErrorObject, ValidateFunction} from 'ajv'

import type {Arch, BoardEntry, BoardSettings, ChannelsConfig, ChannelSpec} from './types.js'

/** The JSON Schema shipped with the tool, beside the example configurations. */
export const SCHEMA_URL = new URL('../../channels/schema.json', import.meta.url)

interface SchemaNode {
  description?: string
  $ref?: string
  properties?: Record<string, SchemaNode>
  additionalProperties?: SchemaNode | boolean
  items?: SchemaNode
  anyOf?: SchemaNode[]
  definitions?: Record<string, SchemaNode>
}

/**
 * Reads a channel configuration (YAML or JSON: YAML is a superset) and
 * validates it against the shipped schema. Every error names the file, the
 * JSON path of the bad field and what was expected there.
 */
export async function loadChannels(file: string): Promise<ChannelsConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UsageError(`channel config ${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(error)})`}`, {
      hint: 'pass --config FILE; examples are in the plume package under channels/',
    })
  }
  return parseChannels(file, text)
}

export async function parseChannels(file: string, text: string): Promise<ChannelsConfig> {
  const {LineCounter, parseDocument} = await import('yaml')
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {prettyErrors: false, uniqueKeys: true, lineCounter})
  const yamlError = doc.errors[0]
  if (yamlError) {
    const at = lineCounter.linePos(yamlError.pos[0])
    const what = yamlError.message.split('\n')[0] ?? yamlError.code
    throw new UsageError(`channel config ${file}:${at.line}:${at.col}: not valid YAML or JSON: ${what}`)
  }
  const value: unknown = doc.toJS()
  const {validate, schema} = await compiledSchema()
  if (!validate(value)) {
    throw new UsageError(`channel config ${file}: ${describeError(pickError(validate.errors ?? []), schema)}`, {
      hint: `the schema is ${SCHEMA_URL.pathname}`,
    })
  }
  const channels: Record<string, ChannelSpec> = {}
  for (const [name, raw] of Object.entries(
    (value as {channels: Record<string, Omit<ChannelSpec, 'boards'> & {boards: BoardEntry[]}>}).channels,
  )) {
    channels[name] = {...raw, ...boardsOf(file, name, raw.boards)}
  }
  return {file, channels}
}

/** A board's architecture from its name, as Flatcar's boards are named (amd64-usr, arm64-usr). */
export function archOfBoard(board: string): Arch | undefined {
  if (/^(amd64|x86[-_]64)/.test(board)) return 'amd64'
  if (/^(arm64|aarch64)/.test(board)) return 'arm64'
  return undefined
}

function boardsOf(file: string, channel: string, entries: BoardEntry[]): Pick<ChannelSpec, 'boards' | 'boardSettings'> {
  const boards: string[] = []
  const boardSettings: Record<string, BoardSettings> = {}
  for (const [i, entry] of entries.entries()) {
    const {name, arch, platforms} = typeof entry === 'string' ? {name: entry, arch: undefined, platforms: undefined} : entry
    const where = `channel config ${file}: $.channels.${channel}.boards[${i}]`
    if (Object.hasOwn(boardSettings, name)) throw new UsageError(`${where}: board ${name} is listed twice`)
    const known = arch ?? archOfBoard(name)
    if (!known)
      throw new UsageError(`${where}: the architecture of board ${name} is not in its name`, {
        hint: `give it as {name: ${name}, arch: amd64} (or arm64)`,
      })
    boards.push(name)
    boardSettings[name] = {arch: known, ...(platforms ? {platforms} : {})}
  }
  return {boards, boardSettings}
}

/** Finds a channel or says which ones the file has. */
export function channelOf(config: ChannelsConfig, name: string): ChannelSpec {
  const spec = Object.hasOwn(config.channels, name) ? config.channels[name] : undefined
  if (!spec) {
    throw new UsageError(`channel "${name}" is not in ${config.file} (channels: ${Object.keys(config.channels).join(', ')})`, {
      hint: 'choose one with -C/--channel or add it to the file',
    })
  }
  return spec
}

async function compiledSchema(): Promise<{validate: ValidateFunction; schema: SchemaNode}> {
  const schema = JSON.parse(await readFile(SCHEMA_URL, 'utf8')) as SchemaNode
  const {Ajv} = await import('ajv')
  const ajv = new Ajv({allErrors: true, strict: true})
  return {validate: ajv.compile(schema), schema}
}

/**
 * ajv reports one error per failed keyword, including the branches that led
 * to it; the deepest one is where the user has to look.
 */
function pickError(errors: ErrorObject[]): ErrorObject {
  const depth = (e: ErrorObject): number => pathOf(e).length
  return (
    [...errors].sort((a, b) => depth(b) - depth(a))[0] ??
    ({instancePath: '', keyword: 'unknown', params: {}, schemaPath: '#'} as ErrorObject)
  )
}

/** The instance path as JSON path segments, including the offending property of additionalProperties/required/propertyNames. */
function pathOf(error: ErrorObject): string[] {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  const p = error.params as {additionalProperty?: string; missingProperty?: string; propertyName?: string}
  if (error.keyword === 'additionalProperties' && p.additionalProperty !== undefined) segments.push(p.additionalProperty)
  if (error.keyword === 'required' && p.missingProperty !== undefined) segments.push(p.missingProperty)
  return segments
}

function jsonPath(segments: string[]): string {
  return (
    '$' + segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')
  )
}

function describeError(error: ErrorObject, schema: SchemaNode): string {
  const segments = pathOf(error)
  const where = jsonPath(segments)
  const p = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties': {
      const parent = nodeAt(schema, segments.slice(0, -1))
      const known = Object.keys(parent?.properties ?? {})
      return `${where}: unknown field${known.length ? ` (expected one of: ${known.join(', ')})` : ''}`
    }
    case 'required':
      return `${where}: missing (expected ${nodeAt(schema, segments)?.description ?? 'a value'})`
    case 'propertyNames':
      return `${where}: bad name ${JSON.stringify(p.propertyName)} (expected ${nodeAt(schema, segments)?.description ?? 'a valid name'})`
    default: {
      const expected = nodeAt(schema, segments)?.description
      return `${where}: ${error.message ?? error.keyword}${expected ? ` (expected ${expected})` : ''}`
    }
  }
}

/** The schema node that describes the value at `segments`, following $refs; the nearest description wins. */
function nodeAt(root: SchemaNode, segments: string[]): SchemaNode | undefined {
  const resolve = (node: SchemaNode | undefined): SchemaNode | undefined => {
    if (!node?.$ref) return node
    const target = root.definitions?.[node.$ref.replace('#/definitions/', '')]
    // A description beside the $ref is the more specific one.
    return target ? {...target, ...(node.description ? {description: node.description} : {})} : node
  }
  /** Of the branches of an anyOf (a board: a name or an object), the one that has the segment. */
  const branch = (node: SchemaNode, s: string): SchemaNode => {
    if (!node.anyOf) return node
    const found = node.anyOf.map(resolve).find((b) => b && (b.properties?.[s] || (/^\d+$/.test(s) && b.items)))
    return found ?? node
  }
  let node = resolve(root)
  for (const s of segments) {
    if (!node) return undefined
    node = branch(node, s)
    if (/^\d+$/.test(s) && node.items) node = resolve(node.items)
    else if (node.properties?.[s]) node = resolve(node.properties[s])
    else if (typeof node.additionalProperties === 'object') node = resolve(node.additionalProperties)
    else return undefined
  }
  return node
}
