import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {isMantleError} from '@mantle/kit'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {channelOf, loadChannels} from './load.js'

const examples = fileURLToPath(new URL('../../channels/', import.meta.url))

describe('loadChannels', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plume-config-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  async function failure(text: string, name = 'channels.yaml'): Promise<{message: string; exitCode: number}> {
    const file = join(dir, name)
    await writeFile(file, text)
    const error = await loadChannels(file).then(
      () => undefined,
      (e: unknown) => e,
    )
    if (!isMantleError(error)) throw new Error(`expected a MantleError, got ${String(error)}`)
    return {message: error.message, exitCode: error.exitCode}
  }

  it('accepts the Flatcar example with its four channels and two boards', async () => {
    // Given the shipped Flatcar example / When it is loaded
    const config = await loadChannels(join(examples, 'flatcar.yaml'))
    // Then it has alpha, beta, stable and lts, each with amd64-usr and arm64-usr and every cloud
    expect(Object.keys(config.channels)).toEqual(['alpha', 'beta', 'stable', 'lts'])
    for (const spec of Object.values(config.channels)) {
      expect(spec.boards).toEqual(['amd64-usr', 'arm64-usr'])
      expect(spec.gce?.family).toMatch(/^flatcar-/)
      expect(spec.aws?.partitions.map((p) => p.name)).toEqual(['AWS', 'AWS-GovCloud'])
      expect(spec.azure?.environments[0]?.name).toBe('AzurePublicCloud')
    }
  })

  it('accepts the local example whose destination is a directory', async () => {
    const config = await loadChannels(join(examples, 'local.yaml'))
    expect(channelOf(config, 'user').destinations?.[0]?.url).toBe('./release/')
  })

  it('accepts JSON as well as YAML', async () => {
    const file = join(dir, 'c.json')
    await writeFile(file, JSON.stringify({channels: {dev: {source: '/tmp/x', boards: ['amd64-usr']}}}))
    expect((await loadChannels(file)).channels.dev?.boards).toEqual(['amd64-usr'])
  })

  it('names the file, the JSON path and the expected type of a bad field', async () => {
    // Given regions written as a string instead of a list
    const {message, exitCode} = await failure(`channels:
  alpha:
    source: gs://b/alpha
    boards: [amd64-usr]
    aws:
      baseName: Flatcar
      image: a.bin.bz2
      partitions:
        - {name: AWS, bucket: b, bucketRegion: us-east-1, regions: us-east-1}
`)
    // Then the one-line message says where and what
    expect(exitCode).toBe(2)
    expect(message).toContain(join(dir, 'channels.yaml'))
    expect(message).toContain(
      '$.channels.alpha.aws.partitions[0].regions: must be array (expected a non-empty list of region names that get the image)',
    )
    expect(message).not.toContain('\n')
  })

  it('names a missing required field', async () => {
    const {message} = await failure('channels:\n  alpha:\n    source: gs://b/alpha\n')
    expect(message).toMatch(/\$\.channels\.alpha\.boards: missing \(expected a non-empty list of the boards/)
  })

  it('names an unknown field and lists the known ones', async () => {
    const {message} = await failure('channels:\n  alpha:\n    source: gs://b/a\n    boards: [amd64-usr]\n    destination: []\n')
    expect(message).toMatch(
      /\$\.channels\.alpha\.destination: unknown field \(expected one of: source, boards, verify, verifyKey, destinations, gce, aws, azure\)/,
    )
  })

  it('says what a bad value must look like', async () => {
    const {message} = await failure(
      'channels:\n  alpha:\n    source: gs://b/a\n    boards: [amd64-usr]\n    aws: {baseName: F, image: i, partitions: [{name: A, bucket: b, bucketRegion: mars, regions: [us-east-1]}]}\n',
    )
    expect(message).toContain('$.channels.alpha.aws.partitions[0].bucketRegion: must match pattern')
    expect(message).toContain('(expected a region name such as us-east-1')
  })

  it('reports broken YAML with its line', async () => {
    const {message, exitCode} = await failure('channels:\n  alpha: [\n')
    expect(exitCode).toBe(2)
    expect(message).toMatch(/channels\.yaml:\d+:\d+: not valid YAML or JSON/)
  })

  it('reports a missing file', async () => {
    const error = await loadChannels(join(dir, 'nope.yaml')).catch((e: unknown) => e)
    expect(String((error as Error).message)).toBe(`channel config ${join(dir, 'nope.yaml')}: file not found`)
  })

  it('names the channels it has when one is missing', async () => {
    const config = await loadChannels(join(examples, 'flatcar.yaml'))
    expect(() => channelOf(config, 'edge')).toThrow(/channel "edge" is not in .*flatcar\.yaml \(channels: alpha, beta, stable, lts\)/)
  })
})
