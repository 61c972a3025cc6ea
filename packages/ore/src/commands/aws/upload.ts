import {awsAuth, awsFlags, storageFlags} from '@mantle/auth'
import {aws, requireFile, virtualSize} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {awsSessionInput, awsUploadOptions, awsUploadPlan} from '../../options.js'

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
    'boot-mode': Flags.option({
      options: ['legacy-bios', 'uefi', 'uefi-preferred'] as const,
      summary: 'Boot mode of the AMI (Flatcar registers uefi-preferred: UEFI, Secure Boot and NitroTPM where the instance type has them).',
      default: 'uefi-preferred',
    })(),
    'volume-type': Flags.option({
      options: ['gp2', 'gp3'] as const,
      summary: 'EBS volume type of the root device (Flatcar registers gp2).',
      default: 'gp3',
    })(),
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
    const plan = awsUploadPlan(f)
    if (plan.file) await requireFile(plan.file)
    const volumeSizeGiB =
      f['disk-size-gib'] ?? (f['disk-size-inspect'] && f.file ? Math.ceil((await virtualSize(f.file)) / 2 ** 30) : undefined)
    const {auth, s3Endpoint} = awsSessionInput(f, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context, s3Endpoint})
    const store = plan.bucket ? await session.stagingStore(plan.bucket) : undefined
    const result = await aws.uploadImage(awsUploadOptions(f, plan, {ec2: await session.ec2(), store, volumeSizeGiB}, this.context))
    this.log(`${result.imageId} ${result.name} (${result.region}, snapshot ${result.snapshotId}${result.reusedImage ? ', existing' : ''})`)
    return result
  }
}
