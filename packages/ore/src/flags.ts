import {azureFlags, brightboxFlags, gceFlags, ociFlags, stackitFlags} from '@mantle/auth'
import {Flags} from '@mantle/kit'

/** `--duration` of every gc command: how old a resource must be before it is collected. */
export const gcFlags = {
  duration: Flags.string({summary: 'Collect resources older than this (e.g. 30m, 5h, 2d).', default: '5h'}),
  'dry-run': Flags.boolean({char: 'n', summary: 'Print what would be deleted; delete nothing.'}),
}

/** The azure topic's shared flags: auth's credential flags plus the subscription, location and resource group. */
export const azureTopicFlags = {
  ...azureFlags,
  'azure-subscription': Flags.string({
    summary: 'Azure subscription id (default: AZURE_SUBSCRIPTION_ID or the credentials file).',
    helpGroup: 'AZURE',
  }),
  'azure-location': Flags.string({summary: 'Azure location.', default: 'westus', helpGroup: 'AZURE'}),
  'resource-group': Flags.string({summary: 'Resource group of the images.', default: 'kola', helpGroup: 'AZURE'}),
}

/** The gcloud topic's shared flags (the original's names and defaults) plus Google credentials. */
export const gcloudTopicFlags = {
  ...gceFlags,
  project: Flags.string({summary: 'Google Cloud project (default: the project of the key).', helpGroup: 'GOOGLE'}),
  zone: Flags.string({summary: 'Zone for instances.', default: 'us-central1-a', helpGroup: 'GOOGLE'}),
  image: Flags.string({summary: 'Image for instances (a name in the project, or projects/<p>/global/images/<name>).', helpGroup: 'GOOGLE'}),
  machinetype: Flags.string({summary: 'Machine type for instances.', default: 'n1-standard-1', helpGroup: 'GOOGLE'}),
  disktype: Flags.string({summary: 'Disk type for instances.', default: 'pd-ssd', helpGroup: 'GOOGLE'}),
  basename: Flags.string({summary: 'Prefix of instance names.', default: 'kola', helpGroup: 'GOOGLE'}),
  network: Flags.string({summary: 'Network for instances.', default: 'default', helpGroup: 'GOOGLE'}),
}

/** The oci topic's shared flags: the profile flags, the compartment and an endpoint override (the original's --oraclecloud-compartment-id). */
export const ociTopicFlags = {
  ...ociFlags,
  'oci-compartment': Flags.string({summary: 'Compartment OCID (default: "compartment" of the OCI profile).', helpGroup: 'OCI'}),
  'oci-endpoint': Flags.string({
    summary: "One base URL for Core Services, Identity and Object Storage instead of the region's (private endpoints, tests).",
    helpGroup: 'OCI',
    hidden: true,
  }),
}

/** The stackit topic's shared flags: the profile flags and hidden endpoint overrides (a private deployment, tests). */
export const stackitTopicFlags = {
  ...stackitFlags,
  'stackit-endpoint': Flags.string({
    summary: 'IaaS API root instead of https://iaas.api.stackit.cloud.',
    helpGroup: 'STACKIT',
    hidden: true,
  }),
  'stackit-token-url': Flags.string({summary: "Token endpoint instead of the key's or STACKIT's.", helpGroup: 'STACKIT', hidden: true}),
}

/** The brightbox topic's shared flags: the profile flags and a hidden API root override (other regions come from the profile's api_url; tests). */
export const brightboxTopicFlags = {
  ...brightboxFlags,
  'brightbox-endpoint': Flags.string({
    summary: "API root instead of the profile's api_url or https://api.gb1.brightbox.com.",
    helpGroup: 'BRIGHTBOX',
    hidden: true,
  }),
}
