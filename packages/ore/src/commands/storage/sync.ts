import {storageAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {Args, BaseCommand, DEFAULT_CHECKERS, DEFAULT_TRANSFERS, Flags, openLocation, syncTree, type SyncResult} from '@mantle/kit'

import {syncOptions} from '../../options.js'

export default class StorageSync extends BaseCommand<typeof StorageSync> {
  static override summary = 'Copy objects between storage locations of any kind (gs://, s3://, az://, https://, file:// or a path).'
  static override description = `Copies the objects of SRC whose size or MD5 differ at DST (server side within one bucket), with --delete removes DST objects that SRC lacks, then updates DST's index pages (-D, -I). Index pages of SRC are never copied. A re-run over an unchanged tree writes nothing.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> -r gs://builds/stable/ gs://releases/stable/',
    '<%= config.bin %> <%= command.id %> -r --delete -I gs://releases/ s3://mirror/releases/',
    '<%= config.bin %> <%= command.id %> -r -n ./out/ az://account/container/releases/',
  ]
  static override enableJsonFlag = true
  static override args = {
    src: Args.string({required: true, description: 'Where to copy from.'}),
    dst: Args.string({required: true, description: 'Where to copy to.'}),
  }
  static override flags = {
    'dry-run': Flags.boolean({char: 'n', summary: 'Perform a trial run, do not make changes.', default: false}),
    force: Flags.boolean({char: 'f', summary: 'Write everything, even when already up to date.', default: false}),
    delete: Flags.boolean({summary: 'Delete extra objects and indexes.', default: false}),
    recursive: Flags.boolean({char: 'r', summary: 'Sync nested prefixes.', default: false}),
    'index-dirs': Flags.boolean({char: 'D', summary: 'Generate HTML pages to mimic a directory tree.', default: false}),
    'index-html': Flags.boolean({char: 'I', summary: 'Generate index.html pages for each directory.', default: false}),
    'html-title': Flags.string({char: 'T', summary: 'Use this title instead of the bucket name in index pages.'}),
    transfers: Flags.integer({summary: 'Objects copied at once (as rclone --transfers).', min: 1, max: 256, default: DEFAULT_TRANSFERS}),
    checkers: Flags.integer({summary: 'Objects compared at once (as rclone --checkers).', min: 1, max: 256, default: DEFAULT_CHECKERS}),
    ...storageFlags,
  }

  async run(): Promise<SyncResult & {dryRun: boolean}> {
    const f = this.flags
    const {src, dst} = this.args
    const storage = await storageOptions([src, dst], storageAuthInput(f), this.context)
    const [from, to] = await Promise.all([openLocation(src, storage), openLocation(dst, storage)])
    const result = await syncTree(syncOptions(f, from, to, this.context))
    const verb = f['dry-run'] ? 'to ' : ''
    this.log(
      `${dst}: ${result.copied.length} ${verb}copy, ${result.deleted.length} ${verb}delete, ${result.unchanged} unchanged; index pages: ${result.index.written.length} ${verb}write, ${result.index.deleted.length} ${verb}delete`,
    )
    return {...result, dryRun: f['dry-run']}
  }
}
