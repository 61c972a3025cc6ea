import {
  akamaiFlags,
  awsFlags,
  azureFlags,
  brightboxFlags,
  type CredentialSummary,
  doFlags,
  esxFlags,
  gceFlags,
  hetznerFlags,
  ociFlags,
  openstackFlags,
  packetFlags,
  scalewayFlags,
  stackitFlags,
} from '@mantle/auth'
import {Args, BaseCommand} from '@mantle/kit'

import {PROVIDERS, resolveCredentialSummary} from '../services/credentials.js'
import {credentialInput} from '../options.js'

export default class Credentials extends BaseCommand<typeof Credentials> {
  static override summary = 'Show which credentials a provider would use: their source and identity, never a secret.'
  static override description =
    'Resolves credentials exactly as the other commands do (flags, files, environment, default chains) and reports where they came from. Fails with exit 2 naming the file and profile when they are missing or malformed.'
  static override examples = [
    '<%= config.bin %> credentials aws --profile release',
    '<%= config.bin %> credentials gce --json-key ~/.config/gcp.json --json',
    '<%= config.bin %> credentials do --do-profile staging',
  ]
  static override enableJsonFlag = true
  static override args = {provider: Args.string({required: true, options: [...PROVIDERS], description: 'Cloud provider.'})}
  static override flags = {
    ...awsFlags,
    ...gceFlags,
    ...azureFlags,
    ...doFlags,
    ...esxFlags,
    ...openstackFlags,
    ...packetFlags,
    ...hetznerFlags,
    ...scalewayFlags,
    ...akamaiFlags,
    ...ociFlags,
    ...stackitFlags,
    ...brightboxFlags,
  }

  async run(): Promise<CredentialSummary> {
    const summary = await resolveCredentialSummary(
      credentialInput(this.args.provider as (typeof PROVIDERS)[number], this.flags),
      this.context,
    )
    this.log(`provider: ${summary.provider}`)
    this.log(`source:   ${summary.source}`)
    if (summary.profile) this.log(`profile:  ${summary.profile}`)
    if (summary.identity) this.log(`identity: ${summary.identity}`)
    if (summary.region) this.log(`region:   ${summary.region}`)
    return summary
  }
}
