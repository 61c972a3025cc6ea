import {storageAuthInput, storageFlags, storageOptions} from '@mantle/auth'
import {Args, BaseCommand, Flags, UsageError} from '@mantle/kit'

import {pruneOptions} from '../options.js'
import type {PruneResult} from '../services/prune.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static override summary = 'Delete objects under a prefix that are older than --days, except under the --whitelist prefixes.'
  static override description = `Works on every writable backend (gs://, s3://, az://, file://). Whitelist prefixes are relative to <prefix>. Each delete is conditional on the object being unchanged since it was listed.`
  static override examples = [
    '<%= config.bin %> prune gs://flatcar-jenkins/ "" --dry-run',
    '<%= config.bin %> prune s3://builds/ nightly/ --days 14 --whitelist developer/ --whitelist keep/',
    '<%= config.bin %> prune file:///srv/builds/ amd64-usr/ --json',
  ]
  static override enableJsonFlag = true
  static override args = {
    url: Args.string({description: 'Bucket URL (gs://bucket/, s3://bucket/, az://account/container/, file:///dir/)', required: true}),
    prefix: Args.string({description: 'Prefix inside the bucket to prune ("" for all of it)', required: true}),
  }
  static override flags = {
    days: Flags.integer({summary: 'Delete objects last modified more than this many days ago.', default: 30, min: 0}),
    whitelist: Flags.string({
      summary: 'Never delete objects under this prefix, relative to <prefix> (repeatable).',
      multiple: true,
      default: ['developer/'],
    }),
    'dry-run': Flags.boolean({char: 'n', summary: 'Only list what would be deleted.'}),
    ...storageFlags,
  }

  async run(): Promise<PruneResult> {
    const {flags, args, context} = this
    const storage = await storageOptions(args.url, storageAuthInput(flags), context)
    const [{prune}, {openLocation, fixPrefix}] = await Promise.all([import('../services/prune.js'), import('@mantle/kit')])
    const {bucket, key} = await openLocation(args.url, {...storage, cwd: context.cwd, logger: context.logger, signal: context.signal})
    if (key !== '' && !key.endsWith('/'))
      throw new UsageError(`${args.url} names an object, not a bucket or prefix`, {hint: 'end the URL with "/"'})
    const result = await prune(pruneOptions(flags, bucket, fixPrefix(key + args.prefix), context))
    for (const o of result.deleted) this.log(`${flags['dry-run'] ? 'would delete' : 'deleted'} ${o.url} (${o.updated})`)
    this.logger.notice(
      `${result.deleted.length} ${flags['dry-run'] ? 'to delete' : 'deleted'} (last modified before ${result.cutoff}), ${result.kept} kept`,
    )
    return result
  }
}
