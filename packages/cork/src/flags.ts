import {storageFlags, storageOptions} from '@mantle/auth'
import {Flags, type CommandContext} from '@mantle/kit'

import {resolveEndpoint, type Endpoint} from './services/engine/endpoint.js'
import {DEFAULT_SDK_URL, DEFAULT_SDK_URL_PATH, type SdkSource} from './services/sdk/download.js'
import type {SdkFetcher} from './services/sdk/fetcher.js'
import {kitFetcher} from './services/sdk/kit-fetcher.js'
import {resolveLayout, sdkBaseUrl, type SdkLayout} from './services/sdk/layout.js'
import {CLOUD_CREDENTIALS, type CloudCredentials, type MountOptions} from './services/sdk/mounts.js'

/** The flag sets cork's commands share, and the one place they turn into service options. */

export const engineFlags = {
  'docker-host': Flags.string({
    summary: 'Engine API address: unix:///path/docker.sock or tcp://host:port (default: DOCKER_HOST, else unix:///var/run/docker.sock). Podman\'s Docker-compatible service works too.',
    helpGroup: 'ENGINE',
  }),
}

export const layoutFlags = {
  root: Flags.string({summary: 'The checkout (default: the nearest directory at or above the current one with .repo/manifests/version.txt).'}),
  'sdk-version': Flags.string({summary: 'SDK version (default: *_SDK_VERSION of version.txt).'}),
  'os-version': Flags.string({summary: 'OS version the container is named for (default: *_VERSION of version.txt).'}),
  board: Flags.string({summary: 'Board, e.g. amd64-usr (default: src/scripts/.default_board, else the host\'s architecture).'}),
}

export const sourceFlags = {
  'sdk-url': Flags.string({
    summary: 'Where SDK tarballs are: any storage URL, or a host name for https.',
    default: DEFAULT_SDK_URL,
    helpGroup: 'SDK DOWNLOAD',
  }),
  'sdk-url-path': Flags.string({summary: 'Path below --sdk-url.', default: DEFAULT_SDK_URL_PATH, helpGroup: 'SDK DOWNLOAD'}),
  'verify-key': Flags.string({
    summary: 'OpenPGP public key file the SDK signature must verify against (repeatable; default: the embedded keys and your keyring).',
    multiple: true,
    helpGroup: 'SDK DOWNLOAD',
  }),
  ...storageFlags,
}

export const containerFlags = {
  replace: Flags.boolean({summary: 'Recreate the container even if it exists.'}),
  'build-dir': Flags.string({summary: 'Build output on the host, mounted at /mnt/host/source/src/build (default: <root>/src/build).', helpGroup: 'MOUNTS'}),
  'bind-gpg-agent': Flags.boolean({summary: 'Mount ~/.gnupg and the GPG agent socket.', default: true, allowNo: true, helpGroup: 'MOUNTS'}),
  'bind-ssh-agent': Flags.boolean({summary: 'Mount the SSH agent socket of SSH_AUTH_SOCK at /run/sdk/ssh.', default: true, allowNo: true, helpGroup: 'MOUNTS'}),
  'cloud-credentials': Flags.string({
    summary: 'Mount these credentials read-only in the SDK user\'s home (repeatable).',
    options: [...CLOUD_CREDENTIALS],
    multiple: true,
    helpGroup: 'MOUNTS',
  }),
  'google-credentials': Flags.string({summary: 'A Google service-account key file to mount read-only, as GOOGLE_APPLICATION_CREDENTIALS.', helpGroup: 'MOUNTS'}),
}

type Ctx = Pick<CommandContext, 'env' | 'home'>

export function endpointFrom(flags: {'docker-host'?: string | undefined}, ctx: Ctx): Endpoint {
  return resolveEndpoint({dockerHost: flags['docker-host'], env: ctx.env, home: ctx.home})
}

export function layoutFrom(
  flags: {root?: string | undefined; 'sdk-version'?: string | undefined; 'os-version'?: string | undefined; board?: string | undefined},
  cwd: string,
): Promise<SdkLayout> {
  return resolveLayout({root: flags.root, cwd, sdkVersion: flags['sdk-version'], osVersion: flags['os-version'], board: flags.board})
}

export function mountsFrom(
  flags: {
    'build-dir'?: string | undefined
    'bind-gpg-agent': boolean
    'bind-ssh-agent': boolean
    'cloud-credentials'?: string[] | undefined
    'google-credentials'?: string | undefined
  },
  ctx: Ctx,
): Omit<MountOptions, 'root'> {
  return {
    buildDir: flags['build-dir'],
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    home: ctx.home,
    env: ctx.env,
    bindGpgAgent: flags['bind-gpg-agent'],
    bindSshAgent: flags['bind-ssh-agent'],
    cloudCredentials: (flags['cloud-credentials'] ?? []) as CloudCredentials[],
    jsonKey: flags['google-credentials'],
  }
}

type StorageCtx = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor'>

/** The kit's signed download for the SDK tarball, with the command's credentials and progress. */
export async function fetcherFrom(url: string, flags: Record<string, unknown>, ctx: StorageCtx & Pick<CommandContext, 'progress'>): Promise<SdkFetcher> {
  // Credentials only for the scheme of this URL (none for file:// and https://).
  const storage = await storageOptions(url, flags, {env: ctx.env, home: ctx.home, logger: ctx.logger, redactor: ctx.redactor, cwd: process.cwd()})
  return kitFetcher({storage, env: ctx.env, home: ctx.home, logger: ctx.logger, progress: ctx.progress})
}

export async function sourceFrom(
  flags: {'sdk-url': string; 'sdk-url-path': string; 'verify-key'?: string[] | undefined} & Record<string, unknown>,
  ctx: StorageCtx & Pick<CommandContext, 'progress'>,
): Promise<SdkSource> {
  const url = sdkBaseUrl(flags['sdk-url'])
  return {url, path: flags['sdk-url-path'], keys: flags['verify-key'] ?? [], fetcher: await fetcherFrom(url, flags, ctx)}
}
