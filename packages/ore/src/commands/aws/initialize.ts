import {awsAuth, awsFlags} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {awsInitializeBucket, awsSessionInput} from '../../options.js'

export default class AwsInitialize extends BaseCommand<typeof AwsInitialize> {
  static override summary = 'Prepare an account for uploads: the staging bucket and the vmimport role.'
  static override examples = ['<%= config.bin %> <%= command.id %> --region us-west-2 --bucket my-staging-bucket']
  static override enableJsonFlag = true
  static override flags = {...awsFlags, bucket: Flags.string({summary: 'Staging bucket name (or s3://bucket).', required: true})}

  async run(): Promise<aws.InitializeResult> {
    const bucket = awsInitializeBucket(this.flags.bucket)
    const {auth} = awsSessionInput(this.flags, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context})
    const result = await aws.initializeAccount({
      s3: await session.s3Buckets(),
      iam: await session.iam(),
      bucket,
      region: session.region,
      context: this.context,
    })
    this.log(
      `bucket ${result.bucket} (${result.bucketCreated ? 'created' : 'exists'}), role ${result.role} (${result.roleCreated ? 'created' : 'exists'})`,
    )
    return result
  }
}
