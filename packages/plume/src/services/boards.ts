import {BugError} from '@mantle/kit'

import type {Arch, Platform} from '../config/types.js'
import type {ReleaseSpec} from '../spec.js'

/**
 * What each cloud calls a board's architecture, and the tag its names carry.
 * Flatcar names amd64 images without a tag and arm64 ones with "-arm64"
 * (AmiNameArchTag in cmd/plume/containerlinux.go, the GCE name in
 * cmd/plume/release.go), and Azure blobs with the arch either way
 * (AzureBlobName in cmd/plume/containerlinux.go).
 */
export interface BoardArch {
  arch: Arch
  /** "" for amd64, "-arm64" for arm64: the suffix of AMI, GCE and gallery definition names. */
  nameTag: string
  /** RegisterImage's Architecture (AmiArchForBoard, platform/api/aws/images.go). */
  aws: 'x86_64' | 'arm64'
  /** images.insert's architecture. */
  gce: 'X86_64' | 'ARM64'
  /** A gallery image definition's architecture (azureArchForBoard, platform/api/azure/image.go). */
  azure: 'x64' | 'Arm64'
}

export function boardArch(arch: Arch): BoardArch {
  return arch === 'arm64'
    ? {arch, nameTag: '-arm64', aws: 'arm64', gce: 'ARM64', azure: 'Arm64'}
    : {arch, nameTag: '', aws: 'x86_64', gce: 'X86_64', azure: 'x64'}
}

/** The release's board: its architecture as each cloud names it. */
export function releaseArch(release: ReleaseSpec): BoardArch {
  const settings = release.spec.boardSettings[release.board]
  if (!settings) throw new BugError(`board ${release.board} has no settings in channel ${release.channel}`)
  return boardArch(settings.arch)
}

/** The clouds a board publishes to: its own list, else every one (the channel decides which it configures). */
export function boardPlatforms(release: ReleaseSpec): readonly Platform[] | undefined {
  return release.spec.boardSettings[release.board]?.platforms
}
