import {akamaiFlags, scalewayFlags} from '@mantle/auth'
import {Flags} from '@mantle/kit'

/** The scaleway topic's shared flags: auth's profile flags plus the zone and region (the original's names and defaults). */
export const scalewayTopicFlags = {
  ...scalewayFlags,
  'scaleway-zone': Flags.string({summary: 'Scaleway zone of servers, snapshots and volumes.', default: 'fr-par-1', helpGroup: 'SCALEWAY'}),
  'scaleway-region': Flags.string({summary: 'Scaleway region of the Object Storage bucket.', default: 'fr-par', helpGroup: 'SCALEWAY'}),
}

/** The akamai topic's shared flags: auth's profile flags plus the region (the original's name and default). */
export const akamaiTopicFlags = {
  ...akamaiFlags,
  'akamai-region': Flags.string({summary: 'Akamai region images are uploaded to.', default: 'us-ord', helpGroup: 'AKAMAI'}),
}

/** Why the packet topic is deprecated, in each of its commands' help. */
export const PACKET_DEPRECATION =
  'Deprecated: Equinix shut Equinix Metal (Packet) down in 2026 and Flatcar removed it from its mantle in November 2025. ' +
  'The packet commands keep working for private deployments of the Equinix Metal API and will be removed in a later release.'
