import type {PlatformDefinition} from '../registry.js'
import {QemuFlight, type QemuOptions} from './flight.js'

export type {QemuOptions} from './flight.js'

/** Local QEMU virtual machines: the default platform. */
export const qemuPlatform: PlatformDefinition<QemuOptions> = {
  name: 'qemu',
  summary: 'local QEMU virtual machines (user networking, no root needed)',
  createFlight: async (options, common) => QemuFlight.create(options, common),
}
