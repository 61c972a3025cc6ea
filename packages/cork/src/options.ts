import {join} from 'node:path'

import {storageAuthInput, storageFlags, storageOptions, type StorageFlagValues} from '@mantle/auth'
import {Flags, UsageError, type CommandContext} from '@mantle/kit'

import type {CreateOptions} from './services/create.js'
import type {DeleteOptions} from './services/delete.js'
import type {DownloadImageOptions, Platform} from './services/download-image.js'
import type {EnterOptions} from './services/enter.js'
import {resolveEndpoint, type Endpoint} from './services/engine/endpoint.js'
import {DEFAULT_SDK_URL, DEFAULT_SDK_URL_PATH, type SdkSource} from './services/sdk/download.js'
import type {SdkFetcher} from './services/sdk/fetcher.js'
import {kitFetcher} from './services/sdk/kit-fetcher.js'
import {checkChrootName, findRoot, resolveLayout, sdkBaseUrl, type SdkLayout} from './services/sdk/layout.js'
import {CLOUD_CREDENTIALS, type CloudCredentials, type MountOptions} from './services/sdk/mounts.js'
import {DEFAULT_MANIFEST_BRANCH, DEFAULT_MANIFEST_NAME, type RepoOptions} from './services/sdk/repo.js'
import type {UpdateOptions} from './services/update.js'
import {manifestPath, type VerifyOptions} from './services/verify.js'

/**
 * cork's options module: the flag sets its commands share, and the one place
 * where parsed flags (and what the base command read once: env, home, cwd)
 * turn into service options. Services never see flags.
 */

export const engineFlags = {
  'docker-host': Flags.string({
    summary:
      "Engine API address: unix:///path/docker.sock or tcp://host:port (default: DOCKER_HOST, else unix:///var/run/docker.sock). Podman's Docker-compatible service works too.",
    helpGroup: 'ENGINE',
  }),
}

export const layoutFlags = {
  root: Flags.string({
    summary: 'The checkout (default: the nearest directory at or above the current one with .repo/manifests/version.txt).',
  }),
  'sdk-version': Flags.string({summary: 'SDK version (default: *_SDK_VERSION of version.txt).'}),
  'os-version': Flags.string({summary: 'OS version the container is named for (default: *_VERSION of version.txt).'}),
  board: Flags.string({summary: "Board, e.g. amd64-usr (default: src/scripts/.default_board, else the host's architecture)."}),
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

/** The original's chroot flags: which SDK, and its DNS. */
export const chrootFlags = {
  chroot: Flags.string({
    summary:
      "Name of the SDK container, instead of <name>-sdk-<arch>-<sdk version>_os-<os version> (the original's chroot directory name). Give create, enter, update and delete the same name.",
    helpGroup: 'CONTAINER',
  }),
}

export const hostDnsFlag = {
  'use-host-dns': Flags.boolean({
    summary:
      "Use the host's /etc/resolv.conf: create and update bind-mount it read-only at /etc/resolv.conf (instead of the engine's); enter copies it into the container before running the command.",
    helpGroup: 'CONTAINER',
  }),
}

/** The manifest the original synced its chroot's checkout to. */
export const manifestFlags = {
  'manifest-url': Flags.string({
    summary:
      'After creating the container, run inside it, as you, in /mnt/host/source: repo init -u URL -b <manifest-branch> -m <manifest-name>, then repo sync.',
    helpGroup: 'MANIFEST',
  }),
  'manifest-branch': Flags.string({
    summary: `Branch or tag (refs/tags/...) of the manifest repository, for repo init -b (default: ${DEFAULT_MANIFEST_BRANCH}).`,
    helpGroup: 'MANIFEST',
  }),
  'manifest-name': Flags.string({
    summary: `Manifest file: for repo init -m (default: ${DEFAULT_MANIFEST_NAME}), and the one --verify checks in .repo/manifests/ (default: .repo/manifest.xml, else default.xml).`,
    helpGroup: 'MANIFEST',
  }),
  'verify-signature': Flags.boolean({
    summary:
      'After repo init and before repo sync, verify the GPG signature of the manifest tag (--manifest-branch, refs/tags/ dropped) with git verify-tag in .repo/manifests, inside the container with your GPG home; exit 1 if it does not verify.',
    helpGroup: 'MANIFEST',
  }),
}

export const containerFlags = {
  replace: Flags.boolean({summary: 'Recreate the container even if it exists.'}),
  'build-dir': Flags.string({
    summary: 'Build output on the host, mounted at /mnt/host/source/src/build (default: <root>/src/build).',
    helpGroup: 'MOUNTS',
  }),
  'bind-gpg-agent': Flags.boolean({summary: 'Mount ~/.gnupg and the GPG agent socket.', default: true, allowNo: true, helpGroup: 'MOUNTS'}),
  'bind-ssh-agent': Flags.boolean({
    summary: 'Mount the SSH agent socket of SSH_AUTH_SOCK at /run/sdk/ssh.',
    default: true,
    allowNo: true,
    helpGroup: 'MOUNTS',
  }),
  'cloud-credentials': Flags.string({
    summary: "Mount these credentials read-only in the SDK user's home (repeatable).",
    options: [...CLOUD_CREDENTIALS],
    multiple: true,
    helpGroup: 'MOUNTS',
  }),
  'google-credentials': Flags.string({
    summary: 'A Google service-account key file to mount read-only, as GOOGLE_APPLICATION_CREDENTIALS.',
    helpGroup: 'MOUNTS',
  }),
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
    'use-host-dns'?: boolean | undefined
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
    useHostDns: flags['use-host-dns'],
  }
}

export function chrootFrom(flags: {chroot?: string | undefined}): string | undefined {
  return checkChrootName(flags.chroot)
}

/** The repo steps the flags ask for, if any: --manifest-url (init, verify, sync), or update's --force-sync alone (sync). */
export function repoFrom(flags: {
  'manifest-url'?: string | undefined
  'manifest-branch'?: string | undefined
  'manifest-name'?: string | undefined
  'verify-signature'?: boolean | undefined
  'force-sync'?: boolean | undefined
}): RepoOptions | undefined {
  for (const name of ['manifest-url', 'manifest-branch', 'manifest-name'] as const) {
    if (flags[name]?.trim() === '') throw new UsageError(`--${name} is empty`)
  }
  const url = flags['manifest-url']
  // Checked here rather than with oclif's dependsOn, for the message and its hint.
  for (const name of ['manifest-branch', 'verify-signature'] as const) {
    if (flags[name] && !url) throw new UsageError(`--${name} needs --manifest-url`, {hint: 'it applies to the manifest repo init fetches'})
  }
  const forceSync = Boolean(flags['force-sync'])
  if (!url && !forceSync) return undefined
  const manifest = url
    ? {url, branch: flags['manifest-branch'] ?? DEFAULT_MANIFEST_BRANCH, name: flags['manifest-name'] ?? DEFAULT_MANIFEST_NAME}
    : undefined
  return {manifest, verifySignature: Boolean(flags['verify-signature']), forceSync}
}

type StorageCtx = Pick<CommandContext, 'env' | 'home' | 'logger' | 'redactor' | 'cwd'>

/** The kit's signed download for the SDK tarball, with the command's credentials and progress. */
export async function fetcherFrom(
  url: string,
  flags: StorageFlagValues,
  ctx: StorageCtx & Pick<CommandContext, 'progress'>,
): Promise<SdkFetcher> {
  // Credentials only for the scheme of this URL (none for file:// and https://).
  const storage = await storageOptions(url, storageAuthInput(flags), ctx)
  return kitFetcher({storage, env: ctx.env, home: ctx.home, logger: ctx.logger, progress: ctx.progress})
}

export async function sourceFrom(
  flags: {'sdk-url': string; 'sdk-url-path': string; 'verify-key'?: string[] | undefined} & StorageFlagValues,
  ctx: StorageCtx & Pick<CommandContext, 'progress'>,
): Promise<SdkSource> {
  const url = sdkBaseUrl(flags['sdk-url'])
  return {url, path: flags['sdk-url-path'], keys: flags['verify-key'] ?? [], fetcher: await fetcherFrom(url, flags, ctx)}
}

const verifyFlag = {
  verify: Flags.boolean({
    summary:
      'Afterwards, check that the checkouts the manifest names are at their pinned commits and clean (as cork verify); exit 1 if not.',
  }),
}

/** The flags of create, which update takes too (the original's creation flags). */
export const creationFlags = {
  ...engineFlags,
  ...layoutFlags,
  ...sourceFlags,
  ...containerFlags,
  ...chrootFlags,
  ...hostDnsFlag,
  ...manifestFlags,
  ...verifyFlag,
}

type CreationFlagValues = Parameters<typeof sourceFrom>[0] &
  Parameters<typeof mountsFrom>[0] &
  Parameters<typeof repoFrom>[0] & {'docker-host'?: string | undefined; replace: boolean; chroot?: string | undefined; verify: boolean}

/** What create (and update) do, from their flags, for the checkout of `layout`. */
export async function creationFrom(flags: CreationFlagValues, layout: SdkLayout, ctx: CommandContext): Promise<CreateOptions> {
  return {
    layout,
    endpoint: endpointFrom(flags, ctx),
    source: await sourceFrom(flags, ctx),
    mounts: mountsFrom(flags, ctx),
    replace: flags.replace,
    chroot: chrootFrom(flags),
    repo: repoFrom(flags),
    verifyManifest: flags.verify ? manifestPath(layout.root, flags['manifest-name']) : undefined,
    logger: ctx.logger,
    signal: ctx.signal,
  }
}

/** --root, else the nearest checkout at or above the working directory, else the working directory. */
export function rootFrom(flags: {root?: string | undefined}, cwd: string): string {
  return flags.root ?? findRoot(cwd) ?? cwd
}

export function deleteFrom(
  flags: {root?: string | undefined; 'docker-host'?: string | undefined; 'keep-images': boolean; chroot?: string | undefined},
  ctx: Ctx & Pick<CommandContext, 'cwd' | 'logger' | 'signal'>,
): DeleteOptions {
  return {
    root: rootFrom(flags, ctx.cwd),
    endpoint: endpointFrom(flags, ctx),
    keepImages: flags['keep-images'],
    chroot: chrootFrom(flags),
    logger: ctx.logger,
    signal: ctx.signal,
  }
}

export function verifyFrom(
  flags: {root?: string | undefined; manifest?: string | undefined; 'manifest-name'?: string | undefined},
  ctx: Pick<CommandContext, 'cwd' | 'signal'>,
): VerifyOptions {
  const root = rootFrom(flags, ctx.cwd)
  return {root, manifest: flags.manifest ?? manifestPath(root, flags['manifest-name']), signal: ctx.signal}
}

/** download-image: --root is the images' base URL there, as in the original; the checkout comes from the working directory. */
export function imageLayoutFrom(flags: Parameters<typeof layoutFrom>[0], cwd: string): Promise<SdkLayout> {
  return layoutFrom({...flags, root: undefined}, cwd)
}

export function downloadImagesFrom(
  flags: {
    platform: string[]
    'cache-dir'?: string | undefined
    'image-prefix'?: string | undefined
    'verify-key'?: string[] | undefined
    verify: boolean
  },
  layout: SdkLayout,
  root: string,
  fetcher: SdkFetcher,
  ctx: Pick<CommandContext, 'signal'>,
): DownloadImageOptions {
  return {
    layout,
    platforms: flags.platform as Platform[],
    root,
    cacheDir: flags['cache-dir'] ?? join(layout.root, '.cache', 'images'),
    prefix: flags['image-prefix'] ?? `${layout.versions.name}_production`,
    keys: flags['verify-key'] ?? [],
    verify: flags.verify,
    fetcher,
    signal: ctx.signal,
  }
}

type UpdateFlagValues = CreationFlagValues & {
  'force-sync': boolean
  'new-version'?: string | undefined
  create: boolean
  'downgrade-in-place': boolean
  'downgrade-replace': boolean
  'os-version'?: string | undefined
}

/** update's checkout: --new-version is the original's name of --os-version (checked here for the messages and hints). */
export function updateLayoutFrom(flags: UpdateFlagValues, cwd: string): Promise<SdkLayout> {
  if (flags['downgrade-in-place'] && flags['downgrade-replace'])
    throw new UsageError('--downgrade-in-place and --downgrade-replace conflict', {hint: 'choose one'})
  if (flags['new-version'] && flags['os-version'])
    throw new UsageError('--new-version and --os-version conflict', {hint: 'they are the same flag; give one'})
  return layoutFrom({...flags, 'os-version': flags['new-version'] ?? flags['os-version']}, cwd)
}

export async function updateFrom(flags: UpdateFlagValues, layout: SdkLayout, ctx: CommandContext): Promise<UpdateOptions> {
  return {
    ...(await creationFrom(flags, layout, ctx)),
    create: flags.create,
    downgradeInPlace: flags['downgrade-in-place'],
    downgradeReplace: flags['downgrade-replace'],
  }
}

/**
 * What enter's flags decide, for a command (after "--") or, with none, an
 * interactive shell: the TTY (the shell gets one whenever stdin is a
 * terminal), stdin forwarding (-i, always for the shell), the user (--user,
 * else the invoking one), TERM for a TTY, the container (--chroot).
 */
export function enterFrom(
  flags: {tty: boolean; interactive: boolean; user?: string | undefined; chroot?: string | undefined},
  command: readonly string[],
  local: {stdinIsTty: boolean; uid: number; gid: number},
  ctx: Pick<CommandContext, 'cwd' | 'env' | 'signal'>,
): Pick<EnterOptions, 'command' | 'tty' | 'user' | 'cwd' | 'env' | 'chroot' | 'signal'> & {forwardStdin: boolean} {
  const shell = command.length === 0
  const tty = shell ? local.stdinIsTty : flags.tty
  return {
    command,
    tty,
    forwardStdin: shell || flags.interactive,
    user: flags.user ?? `${local.uid}:${local.gid}`,
    cwd: ctx.cwd,
    env: tty && ctx.env.TERM ? [`TERM=${ctx.env.TERM}`] : [],
    chroot: chrootFrom(flags),
    signal: ctx.signal,
  }
}
