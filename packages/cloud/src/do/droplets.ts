import {InfraError, UsageError} from '@mantle/kit'

import type {ServiceContext} from '../common/context.js'
import {MARKER_KEY, MARKER_VALUE} from '../common/marker.js'
import {pollUntil} from '../common/wait.js'
import type {DoApi, DoDropletCreate, DoImage, DoKey} from './index.js'

// DigitalOcean SSH keys carry neither tags nor a creation time (the API's
// ssh_key is {id, fingerprint, public_key, name}), so the name carries both:
// `<run id> (created-by mantle, <ISO time>)`, which `ore do gc` reads.
const KEY_NAME = new RegExp(`^(.+) \\(${MARKER_KEY} ${MARKER_VALUE}, (\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?Z)\\)$`)

export function markedKeyName(name: string, now: Date): string {
  return `${name} (${MARKER_KEY} ${MARKER_VALUE}, ${now.toISOString()})`
}

/** The creation time of a key named by markedKeyName; undefined for a key that is not ours. */
export function markedKeyCreated(key: Pick<DoKey, 'name'>): Date | undefined {
  const m = KEY_NAME.exec(key.name)
  return m ? new Date(m[2] as string) : undefined
}

/** Adds an SSH key named as ours (see markedKeyName). */
export async function createMarkedKey(api: DoApi, name: string, publicKey: string, ctx: ServiceContext): Promise<DoKey> {
  return api.createKey(markedKeyName(name, ctx.now?.() ?? new Date()), publicKey)
}

/**
 * The image droplets boot: a numeric id, or the name of a private image
 * available in the region (flatcar/mantle's resolveImage; the coreos-* slugs
 * it also took are gone from DigitalOcean). Missing: exit 3, before anything is made.
 */
export async function requireDoImage(api: DoApi, ref: string, region: string): Promise<DoImage> {
  if (!ref) throw new UsageError('do: no image to boot', {hint: 'pass --do-image (an image id or the name of a private image)'})
  if (/^\d+$/.test(ref)) {
    const image = await api.findImage(Number(ref))
    if (!image) throw new InfraError(`do: image ${ref} does not exist`)
    if (image.regions && !image.regions.includes(region)) throw new InfraError(`do: image ${ref} is not available in ${region}`)
    return image
  }
  const image = (await api.listImages()).find((i) => i.name === ref && (!i.regions || i.regions.includes(region)))
  if (!image) throw new InfraError(`do: no private image named "${ref}" in ${region}`)
  return image
}

/**
 * Creates a droplet (tagged as ours, the Ignition config as its user data),
 * then `wait()` waits for its create action to complete and until it is
 * active with a public address.
 */
export async function launchDroplet(
  api: DoApi,
  request: DoDropletCreate,
  ctx: ServiceContext,
): Promise<{id: number; wait: (signal?: AbortSignal) => Promise<{publicIp: string; privateIp: string}>}> {
  const {droplet, actionId} = await api.createDroplet(request)
  const intervalMs = ctx.pollIntervalMs ?? 2000
  const wait = async (signal = ctx.signal) => {
    if (actionId !== undefined)
      await pollUntil(
        async () => {
          const action = await api.getAction(actionId)
          if (action.status === 'errored')
            throw new InfraError(`do: creating droplet ${droplet.name} (${droplet.id}) failed (action ${actionId})`)
          return action.status === 'completed' ? true : undefined
        },
        {what: `droplet ${droplet.name} to be created`, intervalMs, signal},
      )
    return pollUntil(
      async () => {
        const d = await api.getDroplet(droplet.id)
        if (!d) throw new InfraError(`do: droplet ${droplet.name} (${droplet.id}) vanished while starting`)
        const v4 = d.networks?.v4 ?? []
        const publicIp = v4.find((n) => n.type === 'public')?.ip_address
        if (d.status !== 'active' || !publicIp) return undefined
        return {publicIp, privateIp: v4.find((n) => n.type === 'private')?.ip_address ?? publicIp}
      },
      {what: `droplet ${droplet.name} to be active`, intervalMs, signal},
    )
  }
  return {id: droplet.id, wait}
}

/** Deletes a droplet and waits until GET answers 404. Gone already is fine. */
export async function deleteDropletAndWait(api: DoApi, id: number, ctx: ServiceContext): Promise<void> {
  if (!(await api.getDroplet(id))) return
  await api.deleteDroplet(id)
  await pollUntil(async () => ((await api.getDroplet(id)) ? undefined : true), {
    what: `droplet ${id} to be deleted`,
    intervalMs: ctx.pollIntervalMs ?? 2000,
  })
}
