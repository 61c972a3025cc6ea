import {storageAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {Args, BaseCommand, Flags, openLocation, updateIndexes, type IndexResult} from '@mantle/kit'

import {indexOptions} from '../../options.js'

export interface IndexCommandResult {
  dryRun: boolean
  locations: ({url: string} & IndexResult)[]
}

export default class StorageIndex extends BaseCommand<typeof StorageIndex> {
  static override summary = 'Update the HTML index pages of a storage location (gs://, s3://, az://, file:// or a path).'
  static override description = `Scans the location and writes index.html under every directory prefix. With --directories it also writes, for each directory "dir/", an identical page as the object "dir/" and a redirect object "dir" to it (not on a local directory, where a file and a directory cannot share a name). For a bucket holding only dir/obj:

    index.html     - a page listing dir
    dir/index.html - a page listing obj
    dir/           - the same page (--directories)
    dir            - a redirect to dir/ (--directories)

Pages already up to date are not written again; every write and delete carries a generation precondition, so a concurrent writer is detected, not overwritten.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> -r -D gs://releases/stable/',
    '<%= config.bin %> <%= command.id %> -r --delete --s3-endpoint http://127.0.0.1:7480 s3://mirror/',
    '<%= config.bin %> <%= command.id %> -r -T "Flatcar releases" /srv/mirror/',
  ]
  // The file cannot be index.ts (oclif makes that the topic's own command): `index` is the alias users type.
  static override aliases = ['storage:index']
  static override enableJsonFlag = true
  static override strict = false
  static override args = {url: Args.string({required: true, description: 'Storage location(s) to index.'})}
  static override flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Perform a trial run with no changes.', default: false}),
    force: Flags.boolean({char: 'f', summary: 'Overwrite objects even if they appear up to date.', default: false}),
    delete: Flags.boolean({summary: 'Delete index objects of directories that are empty or whose kind of page is off.', default: false}),
    recursive: Flags.boolean({char: 'r', summary: 'Update nested prefixes.', default: false}),
    directories: Flags.boolean({char: 'D', summary: 'Use objects to mimic a directory tree.', default: false}),
    'html-title': Flags.string({char: 'T', summary: 'Use this title instead of the bucket name in index pages.'}),
    ...storageFlags,
  }

  async run(): Promise<IndexCommandResult> {
    // Every URL given (non-strict).
    const urls = this.context.argv
    const f = this.flags
    const storage = await storageOptions(urls, storageAuthInput(f), this.context)
    const result: IndexCommandResult = {dryRun: f['dry-run'], locations: []}
    for (const url of urls) {
      const {bucket, key} = await openLocation(url, storage)
      const r = await updateIndexes(indexOptions(f, {bucket, key}, this.context))
      result.locations.push({url, ...r})
      this.log(
        `${url}: ${r.written.length} ${f['dry-run'] ? 'to write' : 'written'}, ${r.deleted.length} ${f['dry-run'] ? 'to delete' : 'deleted'}, ${r.unchanged} unchanged`,
      )
    }
    return result
  }
}
