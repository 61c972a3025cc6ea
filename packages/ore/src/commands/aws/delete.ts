import {awsAuth, awsFlags} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {BaseCommand, Flags, UsageError} from '@mantle/kit'

export default class AwsDelete extends BaseCommand<typeof AwsDelete> {
  static override summary = 'Deregister an AMI and delete its snapshots.'
  static override examples = ['<%= config.bin %> <%= command.id %> --region us-west-2 --image ami-0123456789abcdef0', '<%= config.bin %> <%= command.id %> --name Flatcar-alpha-4000.0.0-hvm --keep-snapshots --json']
  static override enableJsonFlag = true
  static override flags = {
    ...awsFlags,
    image: Flags.string({summary: 'AMI id.', exclusive: ['name']}),
    name: Flags.string({summary: 'AMI name (one of ours).'}),
    'keep-snapshots': Flags.boolean({summary: 'Leave the snapshots behind.'}),
  }

  async run(): Promise<aws.DeletedImage> {
    if (!this.flags.image && !this.flags.name) throw new UsageError('aws delete: give --image or --name')
    const session = await aws.connectAws({auth: await awsAuth(this.flags, this.context), context: this.context})
    const result = await aws.deleteImage({ec2: await session.ec2(), imageId: this.flags.image, name: this.flags.name, keepSnapshots: this.flags['keep-snapshots'], context: this.context})
    this.log(`deleted ${result.imageId}${result.snapshotIds.length ? ` and ${result.snapshotIds.join(', ')}` : ''}`)
    return result
  }
}
