import {createHash} from 'node:crypto'

import type Docker from 'dockerode'

import type {Logger} from '@mantle/kit'
import {UsageError} from '@mantle/kit/errors'

import {EngineApi} from '../engine/api.js'
import {engineError, statusOf} from '../engine/docker.js'
import type {Endpoint} from '../engine/endpoint.js'
import {execInContainer} from '../engine/exec.js'
import {SOURCE_MOUNT} from './layout.js'

/** Labels cork puts on its images and containers: how it finds them again. */
export const LABEL = {
  managed: 'org.mantle.cork',
  source: 'org.mantle.cork.source',
  name: 'org.mantle.cork.name',
  arch: 'org.mantle.cork.arch',
  sdkVersion: 'org.mantle.cork.sdk-version',
  osVersion: 'org.mantle.cork.os-version',
  tarballSha256: 'org.mantle.cork.tarball-sha256',
  config: 'org.mantle.cork.config',
  /** The name given with --chroot; absent on containers named after their versions. */
  chroot: 'org.mantle.cork.chroot',
} as const

export interface BindMount {
  source: string
  target: string
  readOnly?: boolean
}

export interface ContainerSpec {
  name: string
  image: string
  /** The checkout on the host, mounted at /mnt/host/source. */
  root: string
  mounts: BindMount[]
  env: string[]
  labels: Record<string, string>
  /** The host user the container is set up for. */
  uid: number
  gid: number
}

export interface ContainerState {
  name: string
  id: string
  image: string
  running: boolean
  labels: Record<string, string>
}

/**
 * The container's main process only keeps it alive; work runs through exec.
 * It exits at once on `docker stop`.
 */
const KEEP_ALIVE = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done']

export async function inspectImage(
  docker: Docker,
  endpoint: Endpoint,
  ref: string,
): Promise<{id: string; labels: Record<string, string>} | undefined> {
  try {
    const info = await docker.getImage(ref).inspect()
    return {id: info.Id, labels: info.Config?.Labels ?? {}}
  } catch (error) {
    if (statusOf(error) === 404) return undefined
    throw engineError(endpoint, error, `inspect image ${ref}`)
  }
}

/** `docker import` of a root file system tarball (compressed or not), labelled, tagged `ref`. */
export async function importImage(
  docker: Docker,
  endpoint: Endpoint,
  options: {tarball: string; ref: string; labels: Record<string, string>; signal?: AbortSignal | undefined},
): Promise<string> {
  const changes = Object.entries(options.labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`)
  try {
    // Podman ignores `tag=` on import: the whole reference goes in `repo`.
    const stream = await docker.importImage(options.tarball, {repo: options.ref, changes, abortSignal: options.signal})
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (error: Error | null, output: Array<{error?: string; errorDetail?: {message?: string}}>) => {
        const failed = output?.find((o) => o.error || o.errorDetail)
        if (error) reject(error)
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error))
        else resolve()
      })
    })
  } catch (error) {
    throw engineError(endpoint, error, `import ${options.tarball} as ${options.ref}`)
  }
  const image = await inspectImage(docker, endpoint, options.ref)
  if (!image) throw engineError(endpoint, new Error('the image is not there after the import'), `import ${options.ref}`)
  return image.id
}

export async function inspectContainer(docker: Docker, endpoint: Endpoint, name: string): Promise<ContainerState | undefined> {
  try {
    const info = await docker.getContainer(name).inspect()
    return {
      name: info.Name.replace(/^\//, ''),
      id: info.Id,
      image: info.Image,
      running: info.State.Running,
      labels: info.Config.Labels ?? {},
    }
  } catch (error) {
    if (statusOf(error) === 404) return undefined
    throw engineError(endpoint, error, `inspect container ${name}`)
  }
}

/** Containers cork made for a checkout, any version. */
export async function listSdkContainers(docker: Docker, endpoint: Endpoint, root: string): Promise<ContainerState[]> {
  try {
    const list = await docker.listContainers({all: true, filters: {label: [`${LABEL.managed}=1`]}})
    return list
      .filter((c) => c.Labels?.[LABEL.source] === root)
      .map((c) => ({
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        id: c.Id,
        image: c.ImageID,
        running: c.State === 'running',
        labels: c.Labels ?? {},
      }))
  } catch (error) {
    throw engineError(endpoint, error, 'list containers')
  }
}

/** A digest of what the container was created with (mounts, environment), to notice drift. */
export function configDigest(spec: Pick<ContainerSpec, 'mounts' | 'env' | 'uid' | 'gid'>): string {
  return createHash('sha256')
    .update(JSON.stringify([spec.mounts, spec.env, spec.uid, spec.gid]))
    .digest('hex')
    .slice(0, 16)
}

export type EnsureOutcome = 'created' | 'reused' | 'replaced'

/**
 * The container of `spec`: an existing one of the same name for the same
 * checkout is reused (and started); `replace` recreates it. A container of
 * that name that belongs to another checkout is never touched.
 */
export async function ensureContainer(
  docker: Docker,
  endpoint: Endpoint,
  spec: ContainerSpec,
  options: {replace: boolean; logger: Logger; signal?: AbortSignal | undefined},
): Promise<{state: ContainerState; outcome: EnsureOutcome}> {
  const digest = configDigest(spec)
  const existing = await inspectContainer(docker, endpoint, spec.name)
  let outcome: EnsureOutcome = 'created'
  if (existing) {
    const owner = existing.labels[LABEL.source]
    if (owner !== spec.root && !options.replace) {
      throw new UsageError(`container ${spec.name} exists for ${owner ?? 'something other than cork'}, not for ${spec.root}`, {
        hint: 'remove it (cork delete in that checkout, or docker rm), or pass --replace',
      })
    }
    if (!options.replace) {
      if (existing.labels[LABEL.config] !== digest) {
        options.logger.warn(`container ${spec.name} was created with other mounts or another user; pass --replace to recreate it`)
      }
      if (!existing.running) await startContainer(docker, endpoint, spec.name)
      return {state: {...existing, running: true}, outcome: 'reused'}
    }
    options.logger.info(`removing container ${spec.name} to recreate it`)
    await removeContainer(docker, endpoint, spec.name)
    outcome = 'replaced'
  }
  try {
    await docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: KEEP_ALIVE,
      Env: spec.env,
      WorkingDir: SOURCE_MOUNT,
      Labels: {...spec.labels, [LABEL.managed]: '1', [LABEL.source]: spec.root, [LABEL.config]: digest},
      HostConfig: {
        // The SDK fetches sources and talks to build hosts as the original chroot did: the host's network.
        NetworkMode: 'host',
        Mounts: spec.mounts.map((m) => ({Type: 'bind' as const, Source: m.source, Target: m.target, ReadOnly: Boolean(m.readOnly)})),
      },
      abortSignal: options.signal,
    })
  } catch (error) {
    if (statusOf(error) === 409)
      throw new UsageError(`container ${spec.name} already exists`, {hint: 'pass --replace to recreate it', cause: error})
    throw engineError(endpoint, error, `create container ${spec.name}`)
  }
  await startContainer(docker, endpoint, spec.name)
  await setUpUser(endpoint, spec)
  const state = await inspectContainer(docker, endpoint, spec.name)
  if (!state) throw engineError(endpoint, new Error('gone right after its creation'), `create container ${spec.name}`)
  return {state, outcome}
}

async function startContainer(docker: Docker, endpoint: Endpoint, name: string): Promise<void> {
  try {
    await docker.getContainer(name).start()
  } catch (error) {
    if (statusOf(error) === 304) return
    throw engineError(endpoint, error, `start container ${name}`)
  }
}

/**
 * Gives the host's uid/gid a name and a home inside (`sdk`, /home/sdk), so
 * that tools that look the user up (whoami, ssh, git) work as in the chroot.
 * Files created inside belong to that uid/gid outside, because `enter` runs
 * every process as that uid/gid.
 */
async function setUpUser(endpoint: Endpoint, spec: ContainerSpec): Promise<void> {
  if (spec.uid === 0) return
  const script = [
    'uid=$1; gid=$2',
    'if [ -w /etc/group ] && ! grep -q "^[^:]*:[^:]*:$gid:" /etc/group; then',
    '  n=sdk; grep -q "^sdk:" /etc/group && n=sdk$gid; echo "$n:x:$gid:" >>/etc/group; fi',
    'if [ -w /etc/passwd ] && ! grep -q "^[^:]*:[^:]*:$uid:" /etc/passwd; then',
    '  n=sdk; grep -q "^sdk:" /etc/passwd && n=sdk$uid; echo "$n:x:$uid:$gid:SDK user:/home/sdk:/bin/sh" >>/etc/passwd; fi',
    // Mount points of the home's and the agent sockets' directories were made by the engine, as root.
    'mkdir -p /home/sdk',
    'for d in /home/sdk /home/sdk/.config "/run/user/$uid"; do [ -d "$d" ] && chown "$uid:$gid" "$d"; done',
    'true',
  ].join('\n')
  const api = new EngineApi(endpoint)
  const discard = {write: () => true, once: () => undefined}
  try {
    const code = await execInContainer(api, {
      container: spec.name,
      cmd: ['/bin/sh', '-c', script, 'setup', String(spec.uid), String(spec.gid)],
      user: '0:0',
      tty: false,
      stdout: discard,
      stderr: discard,
    })
    if (code !== 0) throw new Error(`the user set-up script exited with ${code}`)
  } catch (error) {
    throw engineError(endpoint, error, `set up user ${spec.uid}:${spec.gid} in ${spec.name}`)
  } finally {
    api.close()
  }
}

export async function removeContainer(docker: Docker, endpoint: Endpoint, name: string): Promise<boolean> {
  try {
    await docker.getContainer(name).remove({force: true, v: true})
    return true
  } catch (error) {
    if (statusOf(error) === 404) return false
    throw engineError(endpoint, error, `remove container ${name}`)
  }
}

/** Removes an image unless a container still uses it. */
export async function removeImageIfUnused(docker: Docker, endpoint: Endpoint, ref: string): Promise<boolean> {
  const image = await inspectImage(docker, endpoint, ref)
  if (!image) return false
  let users: Docker.ContainerInfo[]
  try {
    users = (await docker.listContainers({all: true})).filter((c) => c.ImageID === image.id)
  } catch (error) {
    throw engineError(endpoint, error, 'list containers')
  }
  if (users.length > 0) return false
  try {
    // By reference: an image that carries other tags too only loses this one.
    await docker.getImage(ref).remove()
    return true
  } catch (error) {
    if (statusOf(error) === 404) return false
    throw engineError(endpoint, error, `remove image ${ref}`)
  }
}
