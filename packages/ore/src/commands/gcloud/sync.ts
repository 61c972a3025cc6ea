import StorageSync from '../storage/sync.js'

/** The original's name for `ore storage sync`; it takes any storage URLs, not only gs://. */
export default class GcloudSync extends StorageSync {
  static override summary = 'Copy objects between buckets (same as `ore storage sync`; any storage URLs).'
}
