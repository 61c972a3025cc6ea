import {BaseCommand, Flags} from '@mantle/kit'

import {containerFlags, endpointFrom, engineFlags, layoutFrom, layoutFlags, mountsFrom, sourceFrom, sourceFlags} from '../flags.js'
import {createSdk, type CreateResult} from '../services/create.js'
import {manifestPath} from '../services/verify.js'

export default class Create extends BaseCommand<typeof Create> {
  static override summary = 'Create the SDK container of a checkout: download and verify the SDK, import it as an image, create the container.'
  static override description = `The SDK version comes from .repo/manifests/version.txt (or --sdk-version). The tarball <name>-sdk-<arch>-<version>.tar.bz2 is downloaded from <sdk-url>/<sdk-url-path>/<arch>/<version>/ into <root>/.cache/sdks/ and must verify against its detached .sig before anything is imported. The image is tagged <name>-sdk-<arch>:<version>; the container, <name>-sdk-<arch>-<sdk version>_os-<os version>, mounts the checkout at /mnt/host/source and the build directory at /mnt/host/source/src/build, and runs every process as your uid/gid, so files created inside are yours outside. An existing container for the same versions is reused; --replace recreates it.`
  static override examples = [
    '<%= config.bin %> create',
    '<%= config.bin %> create --sdk-version 3033.0.0 --verify-key flatcar.asc',
    '<%= config.bin %> create --sdk-url file:///srv/mirror --sdk-url-path sdk --replace',
    'DOCKER_HOST=unix:///run/podman/podman.sock <%= config.bin %> create --json',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...engineFlags,
    ...layoutFlags,
    ...sourceFlags,
    ...containerFlags,
    verify: Flags.boolean({summary: 'Afterwards, check that the checkouts the manifest names are at their pinned commits and clean (as cork verify); exit 1 if not.'}),
    'manifest-name': Flags.string({summary: 'With --verify: the manifest in .repo/manifests/ (default: .repo/manifest.xml, else default.xml).'}),
  }

  async run(): Promise<CreateResult> {
    const {flags, context} = this
    const layout = await layoutFrom(flags, process.cwd())
    const result = await createSdk({
      layout,
      endpoint: endpointFrom(flags, context),
      source: await sourceFrom(flags, context),
      mounts: mountsFrom(flags, context),
      replace: flags.replace,
      verifyManifest: flags.verify ? manifestPath(layout.root, flags['manifest-name']) : undefined,
      logger: this.logger,
      signal: context.signal,
    })
    this.log(result.container)
    return result
  }
}
