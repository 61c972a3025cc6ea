import {awsAuth, awsFlags} from '@mantle/auth'
import {aws} from '@mantle/cloud'
import {BaseCommand, Flags} from '@mantle/kit'

import {awsListRegionsOptions, awsSessionInput} from '../../options.js'

export default class AwsListRegions extends BaseCommand<typeof AwsListRegions> {
  static override summary = 'List the EC2 regions enabled for the account.'
  static override examples = ['<%= config.bin %> <%= command.id %> --region us-east-1', '<%= config.bin %> <%= command.id %> --all --json']
  static override enableJsonFlag = true
  static override flags = {...awsFlags, all: Flags.boolean({summary: 'Include regions the account has not opted in to.'})}

  async run(): Promise<{regions: aws.RegionInfo[]}> {
    const {auth} = awsSessionInput(this.flags, this.context.env)
    const session = await aws.connectAws({auth: await awsAuth(auth, this.context), context: this.context})
    const regions = await aws.listRegions(await session.ec2(), awsListRegionsOptions(this.flags))
    for (const r of regions) this.log(r.optInStatus && r.optInStatus !== 'opt-in-not-required' ? `${r.name} (${r.optInStatus})` : r.name)
    return {regions}
  }
}
