import {awsAuth, awsFlags} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {BaseCommand} from '@mantle/kit'

import {gcFlags} from '../../flags.js'
import {awsSessionInput, gcOptions} from '../../options.js'

export default class AwsGc extends BaseCommand<typeof AwsGc> {
  static override summary =
    "Terminate test instances and delete key pairs and kola's security groups and EKS clusters (kola kube) that carry our tag and are older than --duration."
  static override examples = [
    '<%= config.bin %> <%= command.id %> --region us-west-2',
    '<%= config.bin %> <%= command.id %> --duration 2h --dry-run --json',
  ]
  static override enableJsonFlag = true
  static override flags = {...awsFlags, ...gcFlags}

  async run(): Promise<aws.AwsGcResult> {
    const {auth} = awsSessionInput(this.flags, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context})
    const result = await aws.gcAws({
      ec2: await session.ec2(),
      clusters: aws.eksClusters({eks: await session.eks()}),
      ...gcOptions(this.flags),
      context: this.context,
    })
    for (const id of [
      ...result.terminatedInstances,
      ...result.deletedKeyPairs,
      ...result.deletedSecurityGroups,
      ...(result.deletedClusters ?? []),
    ])
      this.log(id)
    return result
  }
}
