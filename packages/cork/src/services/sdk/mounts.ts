import {execFile} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {promisify} from 'node:util'

import {UsageError} from '@mantle/kit/errors'

import type {BindMount} from './container.js'
import {BUILD_MOUNT, SOURCE_MOUNT} from './layout.js'

export const CLOUD_CREDENTIALS = ['gcloud', 'aws', 'azure'] as const
export type CloudCredentials = (typeof CLOUD_CREDENTIALS)[number]

export const SDK_HOME = '/home/sdk'
export const SSH_AGENT_DIR = '/run/sdk/ssh'
export const GOOGLE_KEY_PATH = '/run/sdk/google-credentials.json'
export const RESOLV_CONF = '/etc/resolv.conf'

export interface MountOptions {
  root: string
  /** Build output on the host; `<root>/src/build` by default. Created when missing, by the invoking user. */
  buildDir?: string | undefined
  uid: number
  gid: number
  /** The invoking user's home and environment, read once by the command. */
  home: string
  env: NodeJS.ProcessEnv
  bindGpgAgent: boolean
  bindSshAgent: boolean
  cloudCredentials: readonly CloudCredentials[]
  /** A Google service-account key file, exposed as GOOGLE_APPLICATION_CREDENTIALS. */
  jsonKey?: string | undefined
  /** The host's /etc/resolv.conf, read-only, instead of the one the engine writes. */
  useHostDns?: boolean | undefined
}

export interface ContainerEnvironment {
  mounts: BindMount[]
  env: string[]
}

/**
 * What the SDK container sees of the host: the checkout, the build output, and
 * on request the GPG and SSH agents and cloud credentials (read-only).
 */
export async function sdkMounts(options: MountOptions): Promise<ContainerEnvironment> {
  const home = options.uid === 0 ? '/root' : SDK_HOME
  const buildDir = resolve(options.buildDir ?? join(options.root, 'src', 'build'))
  await mkdir(buildDir, {recursive: true})
  const mounts: BindMount[] = [
    {source: options.root, target: SOURCE_MOUNT},
    {source: buildDir, target: BUILD_MOUNT},
  ]
  const env = [`SDK_USER_ID=${options.uid}`, `SDK_GROUP_ID=${options.gid}`, `HOME=${home}`]

  if (options.bindGpgAgent) mounts.push(...(await gpgMounts(options, home)))

  const sshSock = options.env.SSH_AUTH_SOCK
  if (options.bindSshAgent && sshSock && existsSync(sshSock)) {
    // The socket's directory, not the socket: an agent restarted in the same directory stays reachable.
    mounts.push({source: dirname(sshSock), target: SSH_AGENT_DIR})
    env.push(`SSH_AUTH_SOCK=${SSH_AGENT_DIR}/${basename(sshSock)}`)
  }

  for (const kind of options.cloudCredentials) {
    const [source, target] = credentialPaths(kind, options, home)
    if (!existsSync(source))
      throw new UsageError(`no ${kind} credentials at ${source}`, {
        hint: `set them up on the host first, or drop --cloud-credentials ${kind}`,
      })
    mounts.push({source, target, readOnly: true})
  }
  if (options.jsonKey) {
    const key = resolve(options.jsonKey)
    if (!existsSync(key) || !statSync(key).isFile()) throw new UsageError(`--json-key ${options.jsonKey}: no such file`)
    mounts.push({source: key, target: GOOGLE_KEY_PATH, readOnly: true})
    env.push(`GOOGLE_APPLICATION_CREDENTIALS=${GOOGLE_KEY_PATH}`)
  }
  if (options.useHostDns) {
    if (!existsSync(RESOLV_CONF)) throw new UsageError(`--use-host-dns: the host has no ${RESOLV_CONF}`)
    mounts.push({source: RESOLV_CONF, target: RESOLV_CONF, readOnly: true})
  }
  return {mounts, env}
}

function credentialPaths(kind: CloudCredentials, options: MountOptions, home: string): [string, string] {
  switch (kind) {
    case 'gcloud':
      return [options.env.CLOUDSDK_CONFIG || join(options.home, '.config', 'gcloud'), join(home, '.config', 'gcloud')]
    case 'aws':
      return [join(options.home, '.aws'), join(home, '.aws')]
    case 'azure':
      return [options.env.AZURE_CONFIG_DIR || join(options.home, '.azure'), join(home, '.azure')]
  }
}

/**
 * The GPG home at ~/.gnupg inside (the default home, so gpg looks for the
 * agent at its standard place), and the agent's socket directory at
 * /run/user/<uid>/gnupg, where gpg looks first.
 */
async function gpgMounts(options: MountOptions, home: string): Promise<BindMount[]> {
  const gnupgHome = options.env.GNUPGHOME || join(options.home, '.gnupg')
  if (!existsSync(gnupgHome)) return []
  const mounts: BindMount[] = [{source: gnupgHome, target: join(home, '.gnupg')}]
  const socket = await agentSocket(options.env, gnupgHome, options.uid)
  if (socket && existsSync(socket) && dirname(socket) !== gnupgHome) {
    mounts.push({source: dirname(socket), target: `/run/user/${options.uid}/gnupg`})
  }
  return mounts
}

async function agentSocket(env: NodeJS.ProcessEnv, gnupgHome: string, uid: number): Promise<string | undefined> {
  try {
    const {stdout} = await promisify(execFile)('gpgconf', ['--list-dirs', 'agent-socket'], {
      env: {...env, GNUPGHOME: gnupgHome},
      timeout: 5000,
    })
    const path = stdout.trim()
    if (path) return path
  } catch {
    // No gpgconf on this host: the standard places.
  }
  const run = `/run/user/${uid}/gnupg/S.gpg-agent`
  return existsSync(run) ? run : join(gnupgHome, 'S.gpg-agent')
}
