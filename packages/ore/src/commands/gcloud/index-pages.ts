import StorageIndex from '../storage/index-pages.js'

/** The original's name for `ore storage index`; it takes any storage URL, not only gs://. */
export default class GcloudIndex extends StorageIndex {
  static override summary = 'Update HTML indexes (same as `ore storage index`; any storage URL).'
  static override aliases = ['gcloud:index']
}
