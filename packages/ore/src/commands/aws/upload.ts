import {basename} from 'node:path'

import {awsAuth, awsFlags, storageFlags} from '@mantle/auth'
import {aws, requireFile, virtualSize} from '@mantle/cloud'
import {BaseCommand, Flags, UsageError} from '@mantle/kit'

import {keyValues} from '../../flags.js'

export default class AwsUpload extends BaseCommand<typeof AwsUpload> {
  static override summary = 'Upload a disk image to S3, import it as a snapshot and register an HVM AMI.'
  static override description =
    'Stages the file at s3://<bucket>/<board>/<version>/<file> (multipart), imports it with ImportSnapshot, tags the snapshot with the image name, deletes the staged object (also on failure) and registers the AMI. A rerun reuses an AMI or snapshot of the same name, or an import in progress.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --region us-west-2 --bucket s3://my-staging --board amd64-usr --version 4000.0.0 --file flatcar_production_ami_image.bin --ami-name Flatcar-alpha-4000.0.0-hvm',
    '<%= config.bin %> <%= command.id %> --source-snapshot snap-0123 --ami-name Flatcar-alpha-4000.0.0-hvm --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...awsFlags,
    file: Flags.string({summary: 'Disk image to upload (raw or vmdk).'}),
    bucket: Flags.string({summary: 'Staging location, s3://bucket[/prefix].'}),
    name: Flags.string({summary: 'Image name; also the default AMI name.'}),
    board: Flags.string({summary: 'Board, part of the S3 key and the architecture.', default: 'amd64-usr'}),
    version: Flags.string({summary: 'OS version, part of the S3 key.'}),
    'source-object': Flags.string({summary: 'Import this s3:// object instead of uploading a file.'}),
    'source-snapshot': Flags.string({summary: 'Register this snapshot; no upload, no import.'}),
    'object-format': Flags.option({options: ['raw', 'vmdk'] as const, summary: 'Format of the disk image.', default: 'raw'})(),
    'disk-size-gib': Flags.integer({summary: 'Root volume size in GiB (default: the snapshot size).', min: 1}),
    'disk-size-inspect': Flags.boolean({summary: 'Set the root volume size from the image (qemu-img info).'}),
    'delete-object': Flags.boolean({summary: 'Delete the staged S3 object afterwards.', default: true, allowNo: true}),
    force: Flags.boolean({summary: 'Replace an AMI of the same name and upload again.'}),
    'ami-name': Flags.string({summary: 'AMI name (default: --name).'}),
    'ami-description': Flags.string({summary: 'AMI description.'}),
    'grant-user': Flags.string({summary: 'Account id allowed to launch the AMI (repeatable).', multiple: true}),
    tags: Flags.string({summary: 'Tag key=value for the snapshot and AMI (repeatable).', multiple: true}),
    's3-endpoint': storageFlags['s3-endpoint'],
  }

  async run(): Promise<aws.UploadImageResult> {
    const f = this.flags
    const name = f['ami-name'] ?? f.name
    if (!name) throw new UsageError('aws upload: --ami-name or --name is required')
    if (!f['source-snapshot'] && !f.file && !f['source-object']) throw new UsageError('aws upload: give --file, --source-object or --source-snapshot')
    const location = this.stagingLocation()
    if (f.file && !f['source-object'] && !f['source-snapshot']) await requireFile(f.file)
    const volumeSizeGiB = f['disk-size-gib'] ?? (f['disk-size-inspect'] && f.file ? Math.ceil((await virtualSize(f.file)) / 2 ** 30) : undefined)
    const session = await aws.connectAws({auth: await awsAuth(f, this.context), context: this.context, s3Endpoint: f['s3-endpoint'] ?? this.context.env.AWS_ENDPOINT_URL_S3})
    const result = await aws.uploadImage({
      ec2: await session.ec2(),
      ...location,
      store: location.bucket ? await session.stagingStore(location.bucket) : undefined,
      file: f['source-object'] ? undefined : f.file,
      sourceSnapshot: f['source-snapshot'],
      format: f['object-format'],
      name,
      description: f['ami-description'],
      architecture: f.board.startsWith('arm64') ? 'arm64' : 'x86_64',
      volumeSizeGiB,
      deleteObject: f['delete-object'],
      force: f.force,
      grantUsers: f['grant-user'],
      tags: keyValues(f.tags, 'tags'),
      context: this.context,
    })
    this.log(`${result.imageId} ${result.name} (${result.region}, snapshot ${result.snapshotId}${result.reusedImage ? ', existing' : ''})`)
    return result
  }

  /** Where the image is staged: --source-object, or --bucket plus <board>/<version>/<file>. */
  private stagingLocation(): {bucket: string; key: string} {
    const f = this.flags
    if (f['source-object']) {
      const {bucket, prefix} = aws.parseS3Url(f['source-object'])
      if (!prefix) throw new UsageError('aws upload: --source-object must name an object, s3://bucket/key')
      return {bucket, key: prefix.slice(0, -1)}
    }
    if (f['source-snapshot']) return {bucket: '', key: ''}
    if (!f.bucket) throw new UsageError('aws upload: --bucket s3://bucket[/prefix] is required to stage the file')
    const {bucket, prefix} = aws.parseS3Url(f.bucket)
    return {bucket, key: `${prefix}${f.board}/${f.version ? `${f.version}/` : ''}${basename(f.file!)}`}
  }
}
