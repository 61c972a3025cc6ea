import {Flags} from '@mantle/kit'

import {PLATFORMS} from './config/types.js'

/** The spec flags every command takes: which channel, board and version. */
export const specFlags = {
  config: Flags.string({
    char: 'c',
    summary: 'Channel configuration file, YAML or JSON (default: ./plume.yaml, else the shipped channels/local.yaml).',
    env: 'PLUME_CONFIG',
    helpGroup: 'SPEC',
  }),
  channel: Flags.string({char: 'C', summary: 'Channel to publish.', default: 'user', helpGroup: 'SPEC'}),
  board: Flags.string({
    char: 'B',
    summary: 'Board (default: src/scripts/.default_board of --sdk-root, else <arch>-usr).',
    helpGroup: 'SPEC',
  }),
  version: Flags.string({
    char: 'V',
    summary: 'Version (default: VERSION_ID of .repo/manifests/version.txt in --sdk-root, else the newest version in the source).',
    helpGroup: 'SPEC',
  }),
  'sdk-root': Flags.string({summary: 'SDK checkout the board and version defaults are read from.', default: '.', helpGroup: 'SPEC'}),
}

/** Flatcar's narrowing flags of the stages and plan. */
export const scopeFlags = {
  partition: Flags.string({
    char: 'P',
    summary:
      "Work on this AWS partition only (a name in the channel's aws.partitions). The AMI lists, which name every partition's AMIs, are written by a run without it.",
    helpGroup: 'SPEC',
  }),
  private: Flags.boolean({
    char: 'Z',
    summary:
      'Make nothing public: release leaves out sharing the AWS, GCE and Azure images, and plan does not count it; storage destinations are still synced.',
    helpGroup: 'SPEC',
  }),
}

/** Credentials of the clouds and stores a release touches; resolved once, and only when a step needs them. */
export const credentialFlags = {
  'aws-credentials': Flags.string({summary: 'AWS shared credentials file (each partition names its profile).', helpGroup: 'CREDENTIALS'}),
  'azure-credentials': Flags.string({summary: 'azureCreds.json file.', helpGroup: 'CREDENTIALS'}),
  'azure-profile': Flags.string({summary: 'Profile in the azureCreds.json file.', helpGroup: 'CREDENTIALS'}),
  'gce-json-key': Flags.string({
    summary: 'Google service-account JSON key, or "none" for unauthenticated access.',
    helpGroup: 'CREDENTIALS',
  }),
}

/** The flags of plan: what pre-release and release look at. */
export const planFlags = {
  ...specFlags,
  ...scopeFlags,
  ...credentialFlags,
  platform: Flags.option({
    options: PLATFORMS,
    multiple: true,
    delimiter: ',',
    summary: 'Clouds to work on (default: every one the channel configures).',
  })(),
  'verify-key': Flags.string({
    summary: "OpenPGP public key the release is signed with (default: the channel's verifyKey, else the embedded and imported keys).",
  }),
  'cache-dir': Flags.string({summary: 'Where verified images are kept between runs.', default: '.cache/images'}),
}

/** The flags of pre-release and release. */
export const stageFlags = {
  ...planFlags,
  'dry-run': Flags.boolean({char: 'n', summary: 'Print every action still needed; write nothing.'}),
  force: Flags.boolean({summary: 'Write storage objects and the Azure blob even when they look up to date.'}),
}
