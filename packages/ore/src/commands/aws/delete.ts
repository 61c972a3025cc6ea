import {awsAuth, awsFlags} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {awsDeleteOptions, awsSessionInput} from '../../options.js'

export default class AwsDelete extends BaseCommand<typeof AwsDelete> {
  static override summary = 'Deregister an AMI and delete its snapshots.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --region us-west-2 --image ami-0123456789abcdef0',
    '<%= config.bin %> <%= command.id %> --name Flatcar-alpha-4000.0.0-hvm --keep-snapshots --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...awsFlags,
    image: Flags.string({summary: 'AMI id.', exclusive: ['name']}),
    name: Flags.string({summary: 'AMI name (one of ours).'}),
    'keep-snapshots': Flags.boolean({summary: 'Leave the snapshots behind.'}),
  }

  async run(): Promise<aws.DeletedImage> {
    const {auth} = awsSessionInput(this.flags, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context})
    const result = await aws.deleteImage(awsDeleteOptions(this.flags, await session.ec2(), this.context))
    this.log(`deleted ${result.imageId}${result.snapshotIds.length ? ` and ${result.snapshotIds.join(', ')}` : ''}`)
    return result
  }
}
