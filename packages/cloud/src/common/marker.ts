/**
 * How resources created by these tools are marked, so that `gc` finds ours
 * and nothing else. The key and value fit every cloud's rules (GCE labels
 * allow only lowercase letters, digits, '-' and '_').
 */
export const MARKER_KEY = 'created-by'
export const MARKER_VALUE = 'mantle'
/** Where a cloud keeps no creation time (Azure resource groups), we record it. */
export const CREATED_AT_KEY = 'created-at'

/** Azure blob metadata names must be C# identifiers: no '-'. */
export const METADATA_MARKER: Readonly<Record<string, string>> = {createdby: MARKER_VALUE}

/** The marker as a tag map. */
export function markerTags(now: Date = new Date()): Record<string, string> {
  return {[MARKER_KEY]: MARKER_VALUE, [CREATED_AT_KEY]: now.toISOString()}
}

/** True when a tag/label map carries our marker. */
export function isMarked(tags: Record<string, string | undefined> | undefined): boolean {
  return tags?.[MARKER_KEY] === MARKER_VALUE
}

export interface GcCandidate {
  /** Our marker is on it. */
  marked: boolean
  created: Date | undefined
}

/**
 * Decides whether `gc` may delete a resource: ours, and created before the
 * cutoff. A resource whose age is unknown is kept: deleting it is not safe.
 */
export function isExpired(candidate: GcCandidate, cutoff: Date): boolean {
  return candidate.marked && candidate.created !== undefined && !Number.isNaN(candidate.created.getTime()) && candidate.created < cutoff
}
