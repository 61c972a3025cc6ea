import {stat} from 'node:fs/promises'

import type {AzureImagesApi} from '../services/azure.js'
import type {GceImage, GceImagesApi} from '../services/gce.js'
import {StateFile} from './state-file.js'

export interface FakeGceState {
  images: (GceImage & {project: string; sourceUri: string; public: boolean})[]
  writes: string[]
  /** A clock for creation timestamps, so that order is stable. */
  tick: number
}

/**
 * The GCE image API behind the narrow interface, backed by a state file:
 * images are PENDING when created and READY on the next read.
 */
export function fakeGce(path: string): {api: GceImagesApi; state: StateFile<FakeGceState>} {
  const state = new StateFile<FakeGceState>(path, () => ({images: [], writes: [], tick: 0}))
  const strip = ({name, status, family, creationTimestamp, deprecated}: FakeGceState['images'][number]): GceImage => ({name, status, family, creationTimestamp, deprecated})
  const find = (s: FakeGceState, project: string, name: string) => s.images.find((i) => i.project === project && i.name === name)
  const api: GceImagesApi = {
    listFamily: async (project, family) =>
      state.update((s) => {
        const out = s.images.filter((i) => i.project === project && i.family === family).map(strip)
        for (const i of s.images) if (i.status === 'PENDING') i.status = 'READY'
        return out
      }),
    getImage: async (project, name) =>
      state.update((s) => {
        const i = find(s, project, name)
        const out = i && strip(i)
        if (i?.status === 'PENDING') i.status = 'READY'
        return out
      }),
    createImage: async (project, image) =>
      state.update((s) => {
        if (find(s, project, image.name)) throw Object.assign(new Error(`image ${image.name} already exists`), {code: 409})
        s.tick++
        const creationTimestamp = new Date(Date.UTC(2026, 0, 1) + s.tick * 60_000).toISOString()
        s.images.push({project, name: image.name, family: image.family, status: 'PENDING', creationTimestamp, sourceUri: image.sourceUri, public: false})
      }, `createImage ${project} ${image.name}`),
    deprecate: async (project, name, replacement) =>
      state.update((s) => {
        const i = find(s, project, name)
        if (!i) throw new Error(`no image ${name}`)
        i.deprecated = {state: 'DEPRECATED', replacement: `projects/${project}/global/images/${replacement}`}
      }, `deprecate ${project} ${name}`),
    deleteImage: async (project, name) => state.update((s) => void (s.images = s.images.filter((i) => !(i.project === project && i.name === name))), `deleteImage ${project} ${name}`),
    isPublic: async (project, name) => find(state.read(), project, name)?.public ?? false,
    makePublic: async (project, name) =>
      state.update((s) => {
        const i = find(s, project, name)
        if (!i) throw new Error(`no image ${name}`)
        i.public = true
      }, `makePublic ${project} ${name}`),
  }
  return {api, state}
}

export interface FakeAzureState {
  blobs: {container: string; blob: string; size: number; complete: boolean}[]
  images: {resourceGroup: string; name: string; location: string; blobUrl: string}[]
  galleryVersions: {resourceGroup: string; gallery: string; definition: string; version: string; blobUrl: string}[]
  sharedGalleries: string[]
  writes: string[]
}

/** Azure's storage account and compute calls behind the narrow interface, backed by a state file. */
export function fakeAzure(path: string, account: string): {api: AzureImagesApi; state: StateFile<FakeAzureState>} {
  const state = new StateFile<FakeAzureState>(path, () => ({blobs: [], images: [], galleryVersions: [], sharedGalleries: [], writes: []}))
  const blobOf = (s: FakeAzureState, container: string, blob: string) => s.blobs.find((b) => b.container === container && b.blob === blob)
  const api: AzureImagesApi = {
    blobState: async (container, blob) => {
      const b = blobOf(state.read(), container, blob)
      return !b ? 'absent' : b.complete ? 'complete' : 'partial'
    },
    uploadVhd: async (container, blob, file) => {
      const size = (await stat(file)).size
      // Like a page blob: created at full size first, complete only at the end.
      state.update((s) => {
        s.blobs = s.blobs.filter((b) => !(b.container === container && b.blob === blob))
        s.blobs.push({container, blob, size, complete: false})
      }, `createPageBlob ${container}/${blob}`)
      state.update((s) => void (blobOf(s, container, blob)!.complete = true), `uploadPages ${container}/${blob}`)
    },
    blobUrl: async (container, blob) => `https://${account}.blob.core.windows.net/${container}/${blob}`,
    imageExists: async (rg, name) => state.read().images.some((i) => i.resourceGroup === rg && i.name === name),
    createImage: async (rg, name, location, blobUrl) =>
      state.update((s) => {
        if (s.images.some((i) => i.resourceGroup === rg && i.name === name)) return
        s.images.push({resourceGroup: rg, name, location, blobUrl})
      }, `createImage ${rg} ${name}`),
    galleryImageVersionExists: async (rg, gallery, definition, version) =>
      state.read().galleryVersions.some((v) => v.resourceGroup === rg && v.gallery === gallery && v.definition === definition && v.version === version),
    createGalleryImageVersion: async (rg, gallery, definition, version, source) =>
      state.update((s) => {
        if (s.galleryVersions.some((v) => v.resourceGroup === rg && v.gallery === gallery && v.definition === definition && v.version === version)) return
        s.galleryVersions.push({resourceGroup: rg, gallery, definition, version, blobUrl: source.blobUrl})
      }, `createGalleryImageVersion ${gallery}/${definition}/${version}`),
    isCommunityShared: async (rg, gallery) => state.read().sharedGalleries.includes(`${rg}/${gallery}`),
    shareWithCommunity: async (rg, gallery) =>
      state.update((s) => {
        if (!s.sharedGalleries.includes(`${rg}/${gallery}`)) s.sharedGalleries.push(`${rg}/${gallery}`)
      }, `share ${rg}/${gallery}`),
  }
  return {api, state}
}
