import {storageAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {abortIncompleteUploads, Args, BaseCommand, Flags, openLocation, type AbortUploadsResult} from '@mantle/kit'

import {abortUploadsOptions} from '../../options.js'

export default class StorageAbortUploads extends BaseCommand<typeof StorageAbortUploads> {
  static override summary =
    'Abort incomplete uploads under a storage prefix: S3 multipart uploads, Azure blobs of uncommitted blocks, local temporary files.'
  static override description = `An upload cut short by a kill, a crash or a lost machine leaves its parts behind: on S3 they are billed until the upload is aborted. Every write of the storage layer aborts its own upload when it fails or is interrupted, and the next write of the same key removes what earlier runs left of it; this finds the rest. Uploads begun less than --older-than ago are kept (they may still be running). GCS is not supported: its resumable sessions cannot be listed (each is cancelled by the process that began it, or expires after a week).`
  static override examples = [
    '<%= config.bin %> <%= command.id %> s3://releases/amd64-usr/ --older-than 24h --dry-run --json',
    '<%= config.bin %> <%= command.id %> --s3-endpoint http://127.0.0.1:7480 s3://mirror/',
    '<%= config.bin %> <%= command.id %> az://account/container/releases/ --older-than 2d',
  ]
  static override enableJsonFlag = true
  static override args = {
    url: Args.string({required: true, description: 'Storage prefix (s3://, az://, file:// or a path) to look under.'}),
  }
  static override flags = {
    'older-than': Flags.string({summary: 'Abort only uploads begun at least this long ago (e.g. 30m, 5h, 2d).', default: '24h'}),
    'dry-run': Flags.boolean({char: 'n', summary: 'List the uploads that would be aborted; abort nothing.', default: false}),
    ...storageFlags,
  }

  async run(): Promise<AbortUploadsResult> {
    const {url} = this.args
    const storage = await storageOptions([url], storageAuthInput(this.flags), this.context)
    const location = await openLocation(url, storage)
    const result = await abortIncompleteUploads(abortUploadsOptions(this.flags, location, this.context))
    const verb = result.dryRun ? 'to abort' : 'aborted'
    for (const u of result.aborted) this.log(`${verb} ${u.url} (${u.id || 'uncommitted blocks'}, begun ${u.initiated})`)
    this.log(
      `${url}: ${result.aborted.length} incomplete upload(s) ${verb}, ${result.kept.length} younger than ${this.flags['older-than']} kept`,
    )
    return result
  }
}
