import {awsAuth, awsFlags} from '@mantle/auth'

import {aws} from '@mantle/cloud'
import {Args, BaseCommand, Flags} from '@mantle/kit'

import {awsCopyImageInput, awsSessionInput} from '../../options.js'

export default class AwsCopyImage extends BaseCommand<typeof AwsCopyImage> {
  static override summary = 'Copy an AMI to other regions in parallel, skipping regions that have it.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --region us-west-2 --image ami-0123456789abcdef0 us-east-1 eu-west-1',
    '<%= config.bin %> <%= command.id %> --image ami-0123 ap-south-1 --wait --json',
  ]
  static override enableJsonFlag = true
  static override strict = false
  static override args = {regions: Args.string({required: true, description: 'Target regions.'})}
  static override flags = {
    ...awsFlags,
    image: Flags.string({summary: 'AMI id in --region to copy.', required: true}),
    wait: Flags.boolean({summary: 'Wait until every copy is available.'}),
  }

  async run(): Promise<{source: string; region: string; copies: aws.CopiedImage[]}> {
    const input = awsCopyImageInput(this.flags, this.context.argv)
    const {auth} = awsSessionInput(this.flags, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context})
    const copies = await aws.copyImage({...input, ec2: await session.ec2(), clientFor: (r) => session.ec2(r), context: this.context})
    for (const c of copies) this.log(`${c.region} ${c.imageId}${c.copied ? '' : ' (existing)'}`)
    return {source: this.flags.image, region: session.region, copies}
  }
}
